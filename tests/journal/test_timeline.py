"""La frise du parcours (fiche de la personne) lit les déclarations : libellés français, noms des agents et
des organisations citées (une requête par sorte, pas une par événement)."""

import datetime
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.journal.models import Event, EventKind
from parcours.journal.services import record
from parcours.www.views.beneficiaries import summarise_event
from tests.factories import BeneficiaryFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def _page(client, person):
    agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    response = client.get(reverse("beneficiary_detail", args=[person.pk]))
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_timeline_shows_french_labels_and_names(client):
    person = BeneficiaryFactory()
    referent = UserFactory(first_name="Maëlle", last_name="Guillou")
    agency = OrganisationFactory(name="France Travail Redon")
    record(
        person,
        EventKind.ORIENTED,
        on=D(2026, 3, 2),
        decision_id=3,
        pathway="social",
        decided_on=D(2026, 2, 27),
    )
    record(
        person, EventKind.FOLLOW_UP_OPENED, on=D(2026, 3, 2), organisation_id=agency.pk, cause="orientation"
    )
    record(person, EventKind.REFERENT_ASSIGNED, on=D(2026, 3, 9), assignment_id=8, referent_id=referent.pk)
    record(
        person,
        EventKind.EMPLOYMENT_CHECKED,
        on=D(2026, 9, 9),
        exit_id=2,
        still_employed=True,
        six_month=False,
    )
    html = _page(client, person)
    for expected in [
        "Référent : Maëlle Guillou",
        "Organisation : France Travail Redon · Ouvert par : Orientation notifiée",
        "Parcours : Social",
        "Décidée le : 27/02/2026",
        "En emploi : oui · Vérification à 6 mois : non",
    ]:
        assert expected in html, expected
    assert "referent_id" not in html and "organisation_id" not in html


def test_old_events_with_french_keys_are_shown_with_declared_labels():
    event = Event(
        kind=EventKind.EXITED,
        occurred_on=D(2026, 5, 20),
        payload={"sortie": 4, "motif": "emploi", "contrat": "cdi", "inconnue": "x"},
    )
    summary = summarise_event(event)
    assert summary.startswith("Sortie : n° 4 · Motif : Emploi salarié · Contrat de travail : CDI")
    assert summary.endswith("inconnue : x")


def test_names_are_read_once_per_kind_of_object(client):
    def queries(person):
        agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
        client.force_login(agent)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("beneficiary_detail", args=[person.pk])).status_code == 200
        return len(captured)

    def enrich(person, n):
        for i in range(n):
            organisation = OrganisationFactory()
            record(
                person,
                EventKind.FOLLOW_UP_OPENED,
                on=D(2026, 1, 1 + i),
                organisation_id=organisation.pk,
                referent_id=UserFactory().pk,
                cause="referent",
            )

    small, big = BeneficiaryFactory(), BeneficiaryFactory()
    enrich(small, 1)
    enrich(big, 8)
    assert queries(small) == queries(big)
