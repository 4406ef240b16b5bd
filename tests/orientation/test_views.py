"""Pages de l'orientation par HTTP : files, volet d'une personne, portefeuille, lot, courriers, permissions."""

import datetime
import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.journal.models import Event
from parcours.orientation import services
from parcours.orientation.models import (
    Appointment,
    Attendance,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    PortfolioCap,
    ReorientationRequest,
)
from tests.factories import BeneficiaryFactory, MembershipFactory
from tests.orientation.conftest import make_referent

D = datetime.date
UTC = datetime.UTC

pytestmark = pytest.mark.django_db


def page(response):
    return unescape(response.content.decode())


MARCH_1ST = D(2026, 3, 1)


def new_entrants(departement, n, t0=MARCH_1ST, **extra):
    return [
        BeneficiaryFactory(departement=departement, new_entrant_t0=t0, email=f"p{i}@example.org", **extra)
        for i in range(n)
    ]


# --- files ------------------------------------------------------------------------------------------------


def test_queue_shows_days_left_and_late_badges(client, manager, departement, frozen):
    frozen(2026, 3, 16)
    (late,) = new_entrants(departement, 1, t0=D(2026, 3, 1))
    (fresh,) = new_entrants(departement, 1, t0=D(2026, 3, 14))
    (legal,) = new_entrants(departement, 1, t0=D(2026, 1, 10))
    client.force_login(manager)
    html = page(client.get(reverse("orientation:queues")))
    # Délai légal : T0 + 42 (Code de procédure civile, art. 641), soit le 12/04 pour T0 = 01/03.
    assert "Objectif dépassé de 1 jour · légal : 27 jours" in html
    assert "12 jours restants" in html
    assert "Délai légal dépassé de" in html
    assert html.index(legal.full_name) < html.index(late.full_name) < html.index(fresh.full_name)
    # htmx : seul le tableau de la file demandée
    partial = page(client.get(reverse("orientation:queues") + "?file=a_orienter", HTTP_HX_REQUEST="true"))
    assert "<html" not in partial and "Personnes à orienter" in partial


def test_queues_are_for_the_orientation_team_only(client, departement, mission_locale):
    referent = make_referent(departement)
    client.force_login(referent)
    assert client.get(reverse("orientation:queues")).status_code == 403
    assert client.get(reverse("orientation:batch")).status_code == 403


def test_territory_limited_manager_sees_own_territory(client, departement, territory, frozen):
    frozen(2026, 3, 5)
    (mine,) = new_entrants(departement, 1, territory=territory)
    (other,) = new_entrants(departement, 1)
    agent = MembershipFactory(
        organisation=departement, role=Role.ORIENTATION_MANAGER, territory=territory
    ).user
    client.force_login(agent)
    html = page(client.get(reverse("orientation:queues")))
    assert mine.full_name in html and other.full_name not in html
    assert client.get(reverse("orientation:panel", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("queue", ["a_inviter", "invitations", "expirees", "rendez_vous", "a_orienter"])
def test_queue_pages_have_a_fixed_number_of_queries(
    client, manager, departement, frozen, queue, django_assert_num_queries
):
    frozen(2026, 3, 20)
    france_travail = departement  # rendez-vous avec le Département seul

    def populate(n):
        people = new_entrants(departement, n, t0=D(2026, 3, 2))
        for person in people:
            if queue in ("invitations", "expirees"):
                services.invite(person, channel="email", author=manager, today=D(2026, 3, 3))
            if queue == "rendez_vous":
                services.schedule_appointment(
                    person,
                    starts_at=datetime.datetime(2026, 3, 18, 9, tzinfo=UTC),
                    place="Redon",
                    author=manager,
                    professionals=[manager],
                    organisations=[france_travail],
                )
        if queue == "expirees":
            services.expire_invitations(D(2026, 3, 20))

    client.force_login(manager)
    url = reverse("orientation:queues") + f"?file={queue}"
    populate(3)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert page(response).count('href="/orientation/beneficiaires/') == 3
    populate(27)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert page(response).count('href="/orientation/beneficiaires/') == 30


def test_bulk_invitation_from_queue(client, manager, departement, frozen):
    frozen(2026, 3, 3)
    people = new_entrants(departement, 2)
    no_mail = BeneficiaryFactory(
        departement=departement, new_entrant_t0=D(2026, 3, 1), email="", last_name="Sansmail"
    )
    client.force_login(manager)
    response = client.post(
        reverse("orientation:invite_bulk"),
        {"channel": "email", "people": [p.pk for p in [*people, no_mail]]},
        follow=True,
    )
    html = page(response)
    assert "2 invitations envoyées, 0 en échec, 1 personne non invitée." in html
    assert "aucune adresse électronique connue" in html
    assert len(mail.outbox) == 2


def test_bulk_postal_invitation_opens_letters(client, manager, departement, frozen):
    frozen(2026, 3, 3)
    people = new_entrants(departement, 2, address="1 place de la Mairie", postal_code="35600", city="Redon")
    client.force_login(manager)
    response = client.post(
        reverse("orientation:invite_bulk"), {"channel": "postal", "people": [p.pk for p in people]}
    )
    assert response.status_code == 302 and reverse("orientation:letters") in response.url
    html = page(client.get(response.url))
    assert html.count('class="letter"') == 2 and "avant le 13/03/2026" in html

    # Les mêmes courriers en PDF, un par page, pour l'envoi postal en nombre.
    pdf = client.get(response.url + "&format=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="courriers-invitation-')
    assert pdf.content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b", pdf.content)) == 2
    assert b"1 place de la Mairie" in pdf.content and b"13/03/2026" in pdf.content


# --- volet d'une personne : le parcours de bout en bout ---------------------------------------------------


def test_end_to_end_orientation_in_the_browser(client, manager, person, departement, france_travail, frozen):
    frozen(2026, 3, 3)
    client.force_login(manager)
    url = reverse("orientation:panel", args=[person.pk])
    html = page(client.get(url))
    assert "Proposition : parcours" in html and "Non orientée" in html

    assert client.post(url, {"action": "invite", "channel": "sms"}).status_code == 302
    assert Invitation.objects.get(beneficiary=person).status == InvitationStatus.SENT

    response = client.post(
        url,
        {
            "action": "appointment",
            "kind": "orientation",
            "starts_at": "2026-03-09T09:30",
            "duration_minutes": "60",
            "place": "Maison du Département de Redon",
            "organisations": [departement.pk, france_travail.pk],
            "professionals": [manager.pk],
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(beneficiary=person)
    assert Invitation.objects.get(beneficiary=person).status == InvitationStatus.ANSWERED

    frozen(2026, 3, 9, 12)
    client.force_login(manager)  # la session de 8 h a expiré entre-temps
    assert (
        client.post(
            url, {"action": "attendance", "appointment": appointment.pk, "attendance": "seen"}
        ).status_code
        == 302
    )
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.SEEN

    response = client.post(
        url,
        {
            "action": "decide",
            "pathway": "emploi",
            "organisation": france_travail.pk,
            "decided_on": "2026-03-09",
            "notified_on": "2026-03-10",
            "reason": "Projet défini",
        },
    )
    assert response.status_code == 302
    decision = OrientationDecision.objects.get(beneficiary=person)
    assert (decision.notified_on, decision.france_travail_code) == (D(2026, 3, 10), "PED")

    counsellor = make_referent(france_travail, "conseillere@francetravail.fr")
    response = client.post(
        url,
        {
            "action": "referent",
            "referent": f"{france_travail.pk}-{counsellor.pk}",
            "started_on": "2026-03-10",
        },
        follow=True,
    )
    assert f"Référent désigné : {counsellor}." in page(response)
    assert services.current_referent(person).referent == counsellor
    kinds = set(Event.objects.filter(beneficiary=person).values_list("kind", flat=True))
    assert {"invited", "appointment_held", "oriented", "referent_assigned"} <= kinds


def test_bad_input_gives_french_field_errors(client, manager, person, france_travail):
    client.force_login(manager)
    url = reverse("orientation:panel", args=[person.pk])
    response = client.post(
        url,
        {
            "action": "decide",
            "pathway": "emploi",
            "organisation": france_travail.pk,
            "decided_on": "2026-03-10",
            "notified_on": "2026-03-01",
        },
    )
    assert response.status_code == 400
    assert "Date de notification : antérieure à la décision." in page(response)
    person.email = ""
    person.save()
    response = client.post(url, {"action": "invite", "channel": "email"})
    assert "aucune adresse électronique connue" in page(response)


def test_cap_warning_and_refusal_through_http(client, manager, person, departement, mission_locale):
    referent = make_referent(mission_locale)
    PortfolioCap.objects.create(organisation=mission_locale, cap=1, policy="warn")
    services.assign_referent(
        BeneficiaryFactory(departement=departement),
        referent=referent,
        organisation=mission_locale,
        author=manager,
    )
    client.force_login(manager)
    url = reverse("orientation:panel", args=[person.pk])
    data = {
        "action": "referent",
        "referent": f"{mission_locale.pk}-{referent.pk}",
        "started_on": "2026-03-10",
    }
    html = page(client.get(url))
    assert f"{referent} — Mission locale du Pays de Redon (1/1)" in html
    assert "compte déjà 1 personne pour une taille cible de 1" in page(client.post(url, data, follow=True))

    other = BeneficiaryFactory(departement=departement)
    PortfolioCap.objects.filter(organisation=mission_locale).update(policy="refuse")
    response = client.post(reverse("orientation:panel", args=[other.pk]), data)
    assert response.status_code == 400 and "Désignation refusée" in page(response)


# --- référent : portefeuille et permissions ---------------------------------------------------------------


def test_referent_sees_only_own_portfolio(client, manager, departement, france_travail):
    mine = BeneficiaryFactory(departement=departement, last_name="Dansmonportefeuille")
    theirs = BeneficiaryFactory(departement=departement, last_name="Chezuncollegue")
    referent = make_referent(france_travail, "moi@francetravail.fr")
    colleague = make_referent(france_travail, "collegue@francetravail.fr")
    services.assign_referent(mine, referent=referent, organisation=france_travail, author=manager)
    services.assign_referent(theirs, referent=colleague, organisation=france_travail, author=manager)

    client.force_login(referent)
    html = page(client.get(reverse("orientation:portfolio")))
    assert "DANSMONPORTEFEUILLE" in html and "CHEZUNCOLLEGUE" not in html
    assert client.get(reverse("orientation:panel", args=[mine.pk])).status_code == 200
    assert client.get(reverse("orientation:panel", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("orientation:portfolio_of", args=[colleague.pk])).status_code == 404
    # le chargé d'orientation consulte le portefeuille d'un référent
    client.force_login(manager)
    assert "CHEZUNCOLLEGUE" in page(client.get(reverse("orientation:portfolio_of", args=[colleague.pk])))


def test_departement_referent_is_limited_to_portfolio(client, manager, departement):
    """Un référent du Département (même organisation que l'équipe) ne voit pas les autres personnes."""
    person = BeneficiaryFactory(departement=departement)
    referent = make_referent(departement)
    client.force_login(referent)
    assert client.get(reverse("orientation:panel", args=[person.pk])).status_code == 404


def test_referent_requests_reorientation_and_manager_decides(
    client, manager, person, departement, france_travail, frozen
):
    frozen(2026, 6, 1)
    services.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    referent = make_referent(france_travail)
    services.assign_referent(
        person, referent=referent, organisation=france_travail, author=manager, started_on=D(2026, 3, 10)
    )
    url = reverse("orientation:panel", args=[person.pk])

    client.force_login(referent)
    assert (
        client.post(
            url,
            {
                "action": "decide",
                "pathway": "social",
                "organisation": departement.pk,
                "decided_on": "2026-06-01",
            },
        ).status_code
        == 403
    )
    response = client.post(
        url,
        {
            "action": "reorientation",
            "pathway": "social",
            "organisation": departement.pk,
            "reason": "Santé et logement bloquants",
        },
    )
    assert response.status_code == 302
    request = ReorientationRequest.objects.get()
    assert (
        client.post(
            url, {"action": "reorientation_decision", "request_id": request.pk, "accept": "1"}
        ).status_code
        == 403
    )

    client.force_login(manager)
    assert "Demandes de réorientation en attente" in page(client.get(reverse("orientation:queues")))
    response = client.post(
        url,
        {
            "action": "reorientation_decision",
            "request_id": request.pk,
            "accept": "1",
            "organisation": departement.pk,
            "notified_on": "2026-06-02",
        },
    )
    assert response.status_code == 302
    current = services.current_orientation(person)
    assert (current.pathway, current.is_reorientation, current.notified_on) == ("social", True, D(2026, 6, 2))


def test_referent_records_attendance_of_own_appointment(client, manager, person, france_travail, frozen):
    frozen(2026, 3, 9, 8)
    referent = make_referent(france_travail)
    services.assign_referent(person, referent=referent, organisation=france_travail, author=manager)
    appointment = services.schedule_appointment(
        person,
        kind="accompaniment",
        starts_at=datetime.datetime(2026, 3, 9, 6, tzinfo=UTC),
        place="Agence",
        author=manager,
        professionals=[referent],
    )
    client.force_login(referent)
    url = reverse("orientation:panel", args=[person.pk])
    client.post(url, {"action": "attendance", "appointment": appointment.pk, "attendance": "no_show"})
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.NO_SHOW
    agenda = page(client.get(reverse("orientation:agenda") + "?semaine=2026-03-09"))
    assert person.full_name in agenda and "Absent non excusé" in agenda


def test_portfolio_query_count_is_fixed(
    client, manager, departement, france_travail, django_assert_num_queries
):
    referent = make_referent(france_travail)

    def populate(n):
        for person in new_entrants(departement, n):
            services.decide_orientation(
                person,
                pathway="emploi",
                organisation=france_travail,
                author=manager,
                notified_on=D(2026, 3, 10),
                decided_on=D(2026, 3, 10),
            )
            services.assign_referent(person, referent=referent, organisation=france_travail, author=manager)

    client.force_login(referent)
    populate(3)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("orientation:portfolio"))
    populate(27)
    with django_assert_num_queries(len(small.captured_queries)):
        html = page(client.get(reverse("orientation:portfolio")))
    assert html.count("Emploi (PED)") == 30


# --- écran par lot ----------------------------------------------------------------------------------------


def test_batch_screen_proposes_validates_and_prints(
    client, manager, departement, france_travail, mission_locale, frozen, django_assert_num_queries
):
    frozen(2026, 3, 10)
    people = new_entrants(departement, 3)
    young = BeneficiaryFactory(
        departement=departement, new_entrant_t0=D(2026, 3, 1), birth_date=D(2004, 1, 1)
    )
    client.force_login(manager)
    with CaptureQueriesContext(connection) as small:
        html = page(client.get(reverse("orientation:batch")))
    assert html.count('value="Proche de l\'emploi (par défaut)"') == 3 and "Moins de 26 ans" in html
    assert html.count("Proposé : emploi — aucun critère particulier") == 3
    new_entrants(departement, 26)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("orientation:batch"))

    data = {"people": [people[0].pk, young.pk], "notify": "1"}
    for p, org in ((people[0], france_travail), (young, mission_locale)):
        data[f"pathway-{p.pk}"] = "emploi"
        data[f"organisation-{p.pk}"] = org.pk
        data[f"rule-{p.pk}"] = "Moins de 26 ans" if p == young else "Proche de l'emploi (par défaut)"
    response = client.post(reverse("orientation:batch"), data)
    assert response.status_code == 302 and reverse("orientation:decision_letters") in response.url
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "2 orientations enregistrées et notifiées."
    ]
    decisions = OrientationDecision.objects.order_by("pk")
    assert [(d.beneficiary, d.organisation, d.notified_on) for d in decisions] == [
        (people[0], france_travail, D(2026, 3, 10)),
        (young, mission_locale, D(2026, 3, 10)),
    ]
    letters = page(client.get(response.url))
    assert letters.count('class="letter"') == 2 and "Mission locale du Pays de Redon" in letters
    assert "parcours emploi" in letters

    other = people[1]
    data = {
        "people": [other.pk],
        f"pathway-{other.pk}": "emploi",
        f"organisation-{other.pk}": france_travail.pk,
    }
    response = client.post(reverse("orientation:batch"), data)
    # (le message du premier lot n'a pas été affiché : la page des notifications est un document à imprimer)
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == "1 orientation enregistrée."
