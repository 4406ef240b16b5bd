"""Notifications d'orientation en PDF : liste des décisions à notifier, sélection imprimée en un seul PDF (un
courrier par page), PDF d'une décision ; chaque téléchargement inscrit au journal d'accès."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.audit.models import AccessAction, AccessLog
from parcours.core.pdf import page_count
from parcours.orientation import services
from parcours.orientation.models import Pathway
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory
from tests.orientation.conftest import make_referent

D = datetime.date

pytestmark = pytest.mark.django_db


def pdf_text(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return response.content.decode("latin-1")


def decide(person, organisation, author, *, notified_on=None):
    decision = services.decide_orientation(
        person, pathway=Pathway.EMPLOI, organisation=organisation, author=author, decided_on=D(2026, 3, 10)
    )
    if notified_on:
        services.notify_orientation(decision, author=author, notified_on=notified_on)
    return decision


def new_people(departement, count):
    return [
        BeneficiaryFactory(
            departement=departement,
            last_name=f"Le Goff{index:03d}",
            address=f"{index} place du Parlement",
            postal_code="35000",
            city="Rennes",
        )
        for index in range(count)
    ]


def test_decision_pdf_is_the_notification_letter_and_is_audit_logged(client, person, manager, france_travail):
    decision = decide(person, france_travail, manager)
    client.force_login(manager)
    panel = client.get(reverse("orientation:panel", args=[person.pk])).content.decode()
    assert reverse("orientation:decision_pdf", args=[decision.pk]) in panel

    response = client.get(reverse("orientation:decision_pdf", args=[decision.pk]))

    text = pdf_text(response)
    assert page_count(response.content) == 1
    for expected in (
        "Madame Nadia LEBRETON",
        "3 rue des Forges",
        "35600 Redon",
        f"D\\351cision d'orientation n\\260 {decision.pk} du 10/03/2026",
        "France Travail Redon",
        "Vous pouvez contester cette d\\351cision",  # voies de recours du courrier
    ):
        assert expected in text, expected
    entry = AccessLog.objects.get(action=AccessAction.EXPORT)
    assert (entry.beneficiary_id, entry.user) == (person.pk, manager)
    assert entry.reason.startswith("Notifications d'orientation (PDF)")


def test_notification_list_shows_decisions_to_notify_then_notified_ones(
    client, departement, manager, france_travail
):
    waiting, notified = new_people(departement, 2)
    decide(waiting, france_travail, manager)
    decide(notified, france_travail, manager, notified_on=D(2026, 3, 12))
    client.force_login(manager)
    url = reverse("orientation:notification_list")

    to_notify = client.get(url).content.decode()
    done = client.get(url, {"etat": "notifiees", "depuis": "2026-03-01"}).content.decode()

    assert waiting.last_name.upper() in to_notify and notified.last_name.upper() not in to_notify
    assert 'data-select-all="ids"' in to_notify and "Tout sélectionner" in to_notify
    assert notified.last_name.upper() in done and waiting.last_name.upper() not in done
    assert "12/03/2026" in done


def test_notification_list_is_for_the_orientation_team(client, france_travail):
    client.force_login(make_referent(france_travail))

    assert client.get(reverse("orientation:notification_list")).status_code == 403
    assert client.post(reverse("orientation:notifications_pdf"), {"ids": [1]}).status_code == 403


def test_selected_notifications_print_one_letter_per_page(client, departement, manager, france_travail):
    decisions = [decide(p, france_travail, manager) for p in new_people(departement, 5)]
    client.force_login(manager)
    selection = [d.pk for d in reversed(decisions[:4])]

    response = client.post(reverse("orientation:notifications_pdf"), {"ids": selection})

    text = pdf_text(response)
    assert page_count(response.content) == 4
    # une lettre par personne, par ordre alphabétique
    assert text.index("LE GOFF000") < text.index("LE GOFF001") < text.index("LE GOFF003")
    assert "LE GOFF004" not in text
    assert 'filename="notifications-orientation-' in response["Content-Disposition"]
    logged = AccessLog.objects.filter(action=AccessAction.EXPORT)
    assert sorted(logged.values_list("beneficiary_id", flat=True)) == sorted(
        d.beneficiary_id for d in decisions[:4]
    )
    assert all("4 personnes" in entry.reason for entry in logged)


def test_bulk_notification_query_count_does_not_depend_on_the_selection(
    client, departement, manager, france_travail
):
    decisions = [decide(p, france_travail, manager) for p in new_people(departement, 8)]
    client.force_login(manager)
    url = reverse("orientation:notifications_pdf")
    client.post(url, {"ids": [decisions[0].pk]})

    with CaptureQueriesContext(connection) as two:
        client.post(url, {"ids": [d.pk for d in decisions[:2]]})
    with CaptureQueriesContext(connection) as eight:
        response = client.post(url, {"ids": [d.pk for d in decisions]})

    assert page_count(response.content) == 8
    assert len(eight) == len(two)


def test_a_decision_of_another_departement_refuses_the_whole_pdf(
    client, departement, manager, france_travail
):
    mine = decide(new_people(departement, 1)[0], france_travail, manager)
    morbihan = DepartementFactory(departement_code="56", name="Département du Morbihan")
    team_56 = MembershipFactory(organisation=morbihan, role="orientation_manager").user
    elsewhere = decide(BeneficiaryFactory(departement=morbihan), morbihan, team_56)
    client.force_login(manager)

    assert (
        client.post(reverse("orientation:notifications_pdf"), {"ids": [mine.pk, elsewhere.pk]}).status_code
        == 404
    )
    assert client.get(reverse("orientation:decision_pdf", args=[elsewhere.pk])).status_code == 404
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_more_than_500_notifications_are_refused_in_french(client, manager):
    client.force_login(manager)

    response = client.post(
        reverse("orientation:notifications_pdf"), {"ids": [str(pk) for pk in range(1, 502)]}, follow=True
    )

    page = response.content.decode()
    assert "Un PDF contient au plus 500 courriers : vous en avez sélectionné 501." in page
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_batch_notification_letters_download_uses_the_same_letter(client, person, manager, france_travail):
    decision = decide(person, france_travail, manager, notified_on=D(2026, 3, 12))
    client.force_login(manager)

    response = client.get(reverse("orientation:decision_letters"), {"ids": decision.pk, "format": "pdf"})

    text = pdf_text(response)
    assert page_count(response.content) == 1
    assert f"D\\351cision d'orientation n\\260 {decision.pk}" in text
