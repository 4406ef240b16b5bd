"""Séances de l'équipe pluridisciplinaire : calendrier, composition et quorum, ordre du jour, avis, convocations
et procès-verbal, par les pages (et les services pour les règles de retrait)."""

import datetime
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import reviews, sanctions, sessions
from parcours.accompaniment.models import Review, SanctionStatus, TeamSession, TeamSessionGuest
from parcours.accounts.models import Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

S = SanctionStatus
TODAY = timezone.localdate()


def days(n):
    return TODAY + datetime.timedelta(days=n)


def page(response):
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def informed_case(person, actor, *, observations=False):
    """Procédure où la personne a été informée il y a 50 jours (délai d'observations échu)."""
    case = sanctions.open_case(
        person,
        ground="absences",
        facts="Absente aux rendez-vous des 3, 10 et 17 février.",
        actor=actor,
        on=days(-60),
    )
    case = sanctions.transition_case(case, S.NOTICE_SENT, actor=actor, on=days(-50), reason="Courrier envoyé")
    if observations:
        case = sanctions.transition_case(
            case,
            S.OBSERVATIONS,
            actor=actor,
            on=days(-40),
            reason="Entretien",
            observations="Garde d'enfant impossible.",
            assisted_by="Sa sœur",
        )
    return case


@pytest.fixture
def session(departement, orientation_manager):
    session = TeamSession.objects.create(
        departement=departement,
        level=1,
        held_on=days(10),
        starts_at=datetime.time(9, 30),
        place="Espace des solidarités, Redon",
    )
    session.members.set([orientation_manager])
    return session


@pytest.fixture
def held_today(departement):
    """Séance du jour : trois agents convoqués, un seul présent (quorum par défaut : 3)."""
    agents = [MembershipFactory(organisation=departement, role=Role.REFERENT).user for _ in range(3)]
    session = TeamSession.objects.create(departement=departement, held_on=TODAY, place="Redon")
    session.members.set(agents)
    session.present.set(agents[:1])
    return session


# --- permissions ----------------------------------------------------------------------------------------


def test_a_partner_referent_cannot_manage_sessions(client, session, follower):
    client.force_login(follower)
    for url in (
        reverse("accompaniment:session_list"),
        reverse("accompaniment:session_new"),
        reverse("accompaniment:session_detail", args=[session.pk]),
        reverse("accompaniment:session_minutes", args=[session.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("accompaniment:session_presence", args=[session.pk])).status_code == 403


def test_an_agent_of_another_departement_sees_nothing(client, session, person, orientation_manager):
    case = informed_case(person, orientation_manager)
    sessions.add_case(session, case, actor=orientation_manager)
    outsider = MembershipFactory(
        organisation=DepartementFactory(departement_code="44", name="Loire-Atlantique"),
        role=Role.ORIENTATION_MANAGER,
    ).user
    client.force_login(outsider)
    html = page(client.get(reverse("accompaniment:session_list")))
    assert "Aucune séance à venir" in html and "Espace des solidarités" not in html
    for url in (
        reverse("accompaniment:session_detail", args=[session.pk]),
        reverse("accompaniment:session_edit", args=[session.pk]),
        reverse("accompaniment:session_minutes", args=[session.pk]),
        reverse("accompaniment:session_convocations", args=[session.pk]),
        reverse("accompaniment:case_convocation", args=[case.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("accompaniment:session_agenda", args=[session.pk]),
        {"procedure": case.pk, "action": "retirer"},
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == S.REFERRED


def test_a_territory_agent_sees_her_territory_and_departemental_sessions(client, departement):
    redon, vitre = TerritoryFactory(departement=departement), TerritoryFactory(departement=departement)
    agent = MembershipFactory(organisation=departement, role=Role.REFERENT, territory=redon).user
    mine = TeamSession.objects.create(
        departement=departement, territory=redon, held_on=days(3), place="Redon"
    )
    other = TeamSession.objects.create(
        departement=departement, territory=vitre, held_on=days(4), place="Vitré"
    )
    shared = TeamSession.objects.create(departement=departement, held_on=days(5), place="Rennes")
    client.force_login(agent)
    html = page(client.get(reverse("accompaniment:session_list")))
    assert "Redon" in html and "Rennes" in html and "Vitré" not in html
    assert client.get(reverse("accompaniment:session_detail", args=[other.pk])).status_code == 404
    for visible in (mine, shared):
        assert client.get(reverse("accompaniment:session_detail", args=[visible.pk])).status_code == 200


# --- calendrier -----------------------------------------------------------------------------------------


def test_calendar_lists_upcoming_and_past_sessions_with_composition_and_cases(
    client, departement, session, person, orientation_manager
):
    sessions.add_case(session, informed_case(person, orientation_manager), actor=orientation_manager)
    TeamSessionGuest.objects.create(session=session, name="Claire Morvan", quality="france_travail")
    TeamSession.objects.create(departement=departement, held_on=days(-30), place="Salle du conseil, Rennes")
    client.force_login(orientation_manager)
    url = reverse("accompaniment:session_list")
    html = page(client.get(url))
    assert "1 séance à venir" in html
    assert session.held_on.strftime("%d/%m/%Y") + " à 09:30" in html
    assert "Espace des solidarités, Redon" in html and "Salle du conseil" not in html
    assert "2 membres" in html and "Claire Morvan (représentant de france travail)" in html
    assert "1 procédure" in html
    html = page(client.get(url, {"periode": "passees"}))
    assert "1 séance passée" in html and "Salle du conseil, Rennes" in html and "0 procédure" in html


def test_calendar_query_count_does_not_grow_with_sessions(
    client, departement, orientation_manager, django_assert_num_queries
):
    def add(n):
        for index in range(n):
            s = TeamSession.objects.create(
                departement=departement, held_on=days(index + 1), place=f"Salle {index}"
            )
            s.members.set([orientation_manager])
            TeamSessionGuest.objects.create(
                session=s, name=f"Invité {index}", quality="beneficiaire", present=True
            )

    client.force_login(orientation_manager)
    url = reverse("accompaniment:session_list")
    add(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        page(client.get(url))
    add(8)
    with django_assert_num_queries(len(few)):
        html = page(client.get(url))
    assert "10 séances à venir" in html


def test_create_and_edit_a_session(client, departement, orientation_manager):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    territory = TerritoryFactory(departement=departement)
    client.force_login(orientation_manager)
    response = client.post(
        reverse("accompaniment:session_new"),
        {
            "departement": departement.pk,
            "territory": territory.pk,
            "level": "1",
            "held_on": days(20).isoformat(),
            "starts_at": "14:00",
            "place": "Mairie de Redon",
            "members": [orientation_manager.pk, referent.pk],
        },
    )
    assert response.status_code == 302
    session = TeamSession.objects.get()
    assert (session.territory, session.place, session.starts_at) == (
        territory,
        "Mairie de Redon",
        datetime.time(14),
    )
    assert set(session.members.all()) == {orientation_manager, referent}
    response = client.post(
        reverse("accompaniment:session_edit", args=[session.pk]),
        {
            "departement": departement.pk,
            "level": "2",
            "held_on": days(21).isoformat(),
            "members": [referent.pk],
        },
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.territory is None and session.level == 2 and session.held_on == days(21)
    assert list(session.members.all()) == [referent]


def test_outside_members_are_added_and_removed(client, session, orientation_manager):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:session_guest", args=[session.pk])
    client.post(
        url, {"name": "Sylvie Hamon", "quality": "beneficiaire", "organisation": "Collectif des allocataires"}
    )
    guest = session.guests.get()
    html = page(client.get(reverse("accompaniment:session_detail", args=[session.pk])))
    assert (
        "Sylvie Hamon" in html
        and "Représentant des bénéficiaires du RSA — Collectif des allocataires" in html
    )
    client.post(url, {"retirer": guest.pk})
    assert not session.guests.exists()


# --- ordre du jour --------------------------------------------------------------------------------------


def test_agenda_add_and_remove_from_the_session_page(client, session, person, orientation_manager):
    case = informed_case(person, orientation_manager)
    client.force_login(orientation_manager)
    detail = reverse("accompaniment:session_detail", args=[session.pk])
    html = page(client.get(detail))
    assert "Inscrire à l'ordre du jour" in html and "Nadia LEBRETON" in html
    agenda = reverse("accompaniment:session_agenda", args=[session.pk])
    assert client.post(agenda, {"procedure": case.pk, "action": "ajouter"}).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.session) == (S.REFERRED, session)
    event = Event.objects.filter(beneficiary=person, kind="sanction_step").order_by("-pk").first()
    assert event.payload["to_status"] == S.REFERRED and event.payload["session_id"] == session.pk
    html = page(client.get(detail))
    assert f"Dossier n° {case.pk} — Nadia LEBRETON" in html and "Avis à rendre" in html

    client.post(agenda, {"procedure": case.pk, "action": "retirer"})
    case.refresh_from_db()
    assert (case.status, case.session, case.status_since) == (S.NOTICE_SENT, None, days(-50))
    event = Event.objects.filter(beneficiary=person, kind="sanction_step").order_by("-pk").first()
    assert (event.payload["from_status"], event.payload["to_status"]) == (S.REFERRED, S.NOTICE_SENT)
    assert (
        event.payload["session_id"] == session.pk and "Retrait de l'ordre du jour" in event.payload["reason"]
    )
    assert case.steps.last().to_status == S.NOTICE_SENT


def test_agenda_add_and_remove_from_the_case_page(client, session, person, orientation_manager):
    case = informed_case(person, orientation_manager, observations=True)
    client.force_login(orientation_manager)
    detail = reverse("accompaniment:case_detail", args=[case.pk])
    html = page(client.get(detail))
    assert "Inscrire à la séance du" in html and session.held_on.strftime("%d/%m/%Y") in html
    assert "Calendrier des séances" in html
    client.post(reverse("accompaniment:case_agenda", args=[case.pk]), {"seance": session.pk})
    case.refresh_from_db()
    assert (case.status, case.session) == (S.REFERRED, session)
    html = page(client.get(detail))
    assert reverse("accompaniment:session_detail", args=[session.pk]) in html
    assert reverse("accompaniment:case_convocation", args=[case.pk]) in html
    # Le formulaire des étapes ne propose pas le retour en arrière : il passe par la séance.
    assert [c[0] for c in page_form_choices(client, detail)] == [S.DROPPED]
    client.post(reverse("accompaniment:case_agenda", args=[case.pk]), {"action": "retirer"})
    case.refresh_from_db()
    assert (case.status, case.session, case.status_since) == (S.OBSERVATIONS, None, days(-40))


def page_form_choices(client, url):
    response = client.get(url)
    return [c for c in response.context["form"].fields["to_status"].choices if c[0] != S.OPINION]


def test_only_cases_where_the_person_was_informed_can_be_added(client, session, person, orientation_manager):
    case = sanctions.open_case(
        person, ground="absences", facts="Absences.", actor=orientation_manager, on=days(-5)
    )
    client.force_login(orientation_manager)
    html = page(client.get(reverse("accompaniment:session_detail", args=[session.pk])))
    assert "Aucune procédure à inscrire" in html
    response = client.post(
        reverse("accompaniment:session_agenda", args=[session.pk]),
        {"procedure": case.pk, "action": "ajouter"},
        follow=True,
    )
    assert any("Seule une procédure dont la personne a été informée" in m for m in messages_of(response))
    case.refresh_from_db()
    assert case.status == S.OPENED and case.session is None


def test_a_local_session_only_takes_people_of_its_territory(
    session, person, orientation_manager, departement
):
    session.territory = TerritoryFactory(departement=departement)
    session.save()
    case = informed_case(person, orientation_manager)
    assert not sessions.eligible_cases(session, Beneficiary.objects.all()).exists()
    with pytest.raises(ValidationError, match="son territoire"):
        sessions.add_case(session, case, actor=orientation_manager)


def test_reviews_are_added_to_and_removed_from_the_agenda(client, session, person, orientation_manager):
    review = reviews.plan_review(
        person, author=orientation_manager, kind="pluridisciplinaire", due_on=days(30)
    )
    client.force_login(orientation_manager)
    agenda = reverse("accompaniment:session_agenda", args=[session.pk])
    client.post(agenda, {"revue": review.pk, "action": "ajouter"})
    review.refresh_from_db()
    assert (review.session, review.due_on) == (session, session.held_on)
    html = page(client.get(reverse("accompaniment:session_detail", args=[session.pk])))
    assert "Situations examinées" in html
    client.post(agenda, {"revue": review.pk, "action": "retirer"})
    assert Review.objects.get(pk=review.pk).session is None


# --- quorum et avis -------------------------------------------------------------------------------------


def test_no_opinion_without_quorum(client, held_today, person, orientation_manager):
    case = sessions.add_case(
        held_today, informed_case(person, orientation_manager), actor=orientation_manager
    )
    client.force_login(orientation_manager)
    html = page(client.get(reverse("accompaniment:session_detail", args=[held_today.pk])))
    assert "Quorum non atteint" in html and "1 membre présent sur 3 requis" in html
    response = client.post(
        reverse("accompaniment:session_opinion", args=[held_today.pk, case.pk]),
        {
            "on": TODAY.isoformat(),
            "favourable": "favorable",
            "proposed_decision": "suspension",
            "team_opinion": "Suspension de 30 % pendant un mois.",
        },
        follow=True,
    )
    assert any(
        "le quorum n'est pas atteint (1 membre présent sur 3 requis) ; l'avis ne peut pas être enregistré"
        in m
        for m in messages_of(response)
    )
    case.refresh_from_db()
    assert case.status == S.REFERRED and not case.team_opinion


def test_quorum_is_a_setting_per_departement(held_today, departement):
    assert not sessions.quorum(held_today).reached
    departement.delay_overrides = {"team_session_quorum": 1}
    departement.save()
    held_today.departement.refresh_from_db()
    assert sessions.quorum(held_today).reached


def test_opinion_recorded_with_presence_of_outside_members(client, held_today, person, orientation_manager):
    case = sessions.add_case(
        held_today, informed_case(person, orientation_manager), actor=orientation_manager
    )
    guests = [
        TeamSessionGuest.objects.create(session=held_today, name="Claire Morvan", quality="france_travail"),
        TeamSessionGuest.objects.create(session=held_today, name="Sylvie Hamon", quality="beneficiaire"),
    ]
    client.force_login(orientation_manager)
    agent = held_today.members.first()
    client.post(
        reverse("accompaniment:session_presence", args=[held_today.pk]),
        {"membres": [agent.pk], "exterieurs": [g.pk for g in guests]},
    )
    assert sessions.quorum(held_today).present == 3
    response = client.post(
        reverse("accompaniment:session_opinion", args=[held_today.pk, case.pk]),
        {
            "on": TODAY.isoformat(),
            "favourable": "defavorable",
            "proposed_decision": "none",
            "team_opinion": "La personne a repris contact avec sa référente.",
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.opinion_favourable, case.proposed_decision) == (S.OPINION, False, "none")
    event = Event.objects.filter(beneficiary=person, kind="sanction_step").order_by("-pk").first()
    assert event.actor == orientation_manager
    assert (event.payload["to_status"], event.payload["favourable"], event.payload["proposed_decision"]) == (
        S.OPINION,
        False,
        "none",
    )
    assert "Avis défavorable" in event.payload["reason"]
    html = page(client.get(reverse("accompaniment:session_detail", args=[held_today.pk])))
    assert "Quorum atteint" in html and "Avis défavorable — sanction proposée : pas de sanction" in html


def test_presence_is_recorded_on_the_day_of_the_session_only(client, session, orientation_manager):
    client.force_login(orientation_manager)
    response = client.post(
        reverse("accompaniment:session_presence", args=[session.pk]),
        {"membres": [orientation_manager.pk]},
        follow=True,
    )
    assert any("se relève le jour de la séance" in m for m in messages_of(response))
    assert not session.present.exists()


# --- documents ------------------------------------------------------------------------------------------


def test_convocation_letter_content_and_audit(client, session, person, orientation_manager):
    case = sessions.add_case(session, informed_case(person, orientation_manager), actor=orientation_manager)
    client.force_login(orientation_manager)
    html = page(client.get(reverse("accompaniment:case_convocation", args=[case.pk])))
    assert "Convocation à l'équipe pluridisciplinaire" in html
    assert f"le {session.held_on:%d/%m/%Y} à 9 h 30, Espace des solidarités, Redon" in html
    assert "Absente aux rendez-vous des 3, 10 et 17 février." in html
    assert (
        "présenter vos observations" in html
        and "vous faire accompagner de la personne de votre choix" in html
    )
    assert "Nadia LEBRETON" in html and "3 rue des Forges" in html
    entry = AccessLog.objects.filter(action=AccessAction.EXPORT, beneficiary_id=person.pk).get()
    assert entry.user == orientation_manager and "Convocations" in entry.reason
    html = page(client.get(reverse("accompaniment:session_convocations", args=[session.pk])))
    assert html.count('class="letter"') == 1


def test_convocations_of_a_session_without_cases_say_so_under_a_title(client, session, orientation_manager):
    client.force_login(orientation_manager)
    html = page(client.get(reverse("accompaniment:session_convocations", args=[session.pk])))
    assert "Aucune convocation à imprimer" in html
    assert html.count("<h1") == 1  # un titre de page même sans lettre (accessibilité)


def test_minutes_pdf_lists_members_quorum_and_cases(
    client, held_today, person, orientation_manager, departement
):
    case = sessions.add_case(
        held_today, informed_case(person, orientation_manager), actor=orientation_manager
    )
    departement.delay_overrides = {"team_session_quorum": 1}
    departement.save()
    sessions.record_opinion(
        case,
        actor=orientation_manager,
        on=TODAY,
        favourable=True,
        proposed_decision="suspension",
        team_opinion="Suspension de 30 pourcents pendant un mois.",
    )
    client.force_login(orientation_manager)
    response = client.get(reverse("accompaniment:session_minutes", args=[held_today.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert f"n\\260 {case.pk}".encode() in pdf or f"n° {case.pk}".encode("latin-1") in pdf
    # Texte du PDF (non compressé) : membres et présence, quorum, dossier, personne, avis et motivation.
    assert b"(pr\\351sent)" in pdf and b"Quorum atteint : 1 membre pr\\351sent sur 1 requis." in pdf
    assert b"(Nadia LEBRETON)" in pdf and b"(Avis favorable" in pdf and b"(Suspension de 30 pourcents" in pdf
    assert AccessLog.objects.filter(action=AccessAction.EXPORT, beneficiary_id=person.pk).exists()


def test_a_beneficiary_of_another_departement_cannot_be_put_on_the_agenda(
    client, session, orientation_manager
):
    other = BeneficiaryFactory(departement=DepartementFactory(departement_code="56"))
    case = sanctions.open_case(other, ground="absences", facts="x", actor=orientation_manager, on=days(-5))
    client.force_login(orientation_manager)
    response = client.post(
        reverse("accompaniment:session_agenda", args=[session.pk]),
        {"procedure": case.pk, "action": "ajouter"},
    )
    assert response.status_code == 404
