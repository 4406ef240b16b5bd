"""En-tête de la fiche d'une personne : l'étape du parcours et la prochaine échéance, lues dans les tables
d'état (droit, orientation, contrat), avec les délais du Département."""

import datetime
from html import unescape

import pytest
from django.urls import reverse

from parcours.accompaniment.models import Contract, ContractKind, ContractStatus
from parcours.accounts.models import Role
from parcours.beneficiaries.models import RightState
from parcours.orientation.models import DecisionStatus, OrientationDecision, Pathway
from tests.factories import BeneficiaryFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: TODAY)


def _header(client, person):
    agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    response = client.get(reverse("beneficiary_detail", args=[person.pk]))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    return html[html.index("parcours-situation") : html.index('aria-label="Accompagnement"')]


def test_new_entrant_shows_the_orientation_deadlines(client):
    person = BeneficiaryFactory(new_entrant_t0=datetime.date(2026, 12, 1), rsa_state=RightState.OPEN_PAYABLE)
    header = _header(client, person)
    assert "Étape : Nouvel entrant à orienter" in header
    # T0 = jour 1 : objectif au 15e jour (15/12) ; délai légal de 6 semaines à T0 + 42 (12/01, même jour de
    # la semaine que T0 : Code de procédure civile, art. 641).
    assert "Prochaine échéance</strong> : Orientation dans l'objectif de 15 jours — 15/12/2026" in header
    assert "Délai légal d'orientation — 12/01/2027" in header


def test_a_late_new_entrant_shows_the_deadline_as_passed(client):
    person = BeneficiaryFactory(new_entrant_t0=datetime.date(2026, 10, 1), rsa_state=RightState.OPEN_PAYABLE)
    header = _header(client, person)
    assert "Délai légal d'orientation — 12/11/2026" in header
    assert "dépassée" in header
    assert "objectif de 15 jours" not in header  # objectif passé : seul le délai légal reste affiché


def test_oriented_person_shows_the_contract_to_sign(client):
    agency = OrganisationFactory(name="France Travail Redon")
    person = BeneficiaryFactory(new_entrant_t0=datetime.date(2026, 11, 2), rsa_state=RightState.OPEN_PAYABLE)
    OrientationDecision.objects.create(
        beneficiary=person,
        pathway=Pathway.EMPLOI,
        organisation=agency,
        status=DecisionStatus.NOTIFIED,
        decided_on=datetime.date(2026, 11, 10),
        notified_on=datetime.date(2026, 11, 12),
    )
    header = _header(client, person)
    assert "Étape : Orienté vers France Travail Redon (parcours emploi)" in header
    # Contrat signé au plus tard un mois après la notification (D5411-14-1).
    assert "Signature du contrat d'engagement — 12/12/2026" in header
    assert "délai légal d'orientation" not in header.lower()


def test_signed_contract_shows_its_review(client):
    person = BeneficiaryFactory(rsa_state=RightState.OPEN_PAYABLE)
    Contract.objects.create(
        beneficiary=person,
        kind=ContractKind.choices[0][0],
        status=ContractStatus.SIGNED,
        weekly_hours=17,
        signed_on=datetime.date(2026, 9, 1),
        review_on=datetime.date(2027, 3, 1),
    )
    header = _header(client, person)
    assert "Étape : Contrat d'engagement signé" in header
    assert "17 h par semaine" in header
    assert "Révision du contrat — 01/03/2027" in header


def test_closed_right_has_no_deadline(client):
    person = BeneficiaryFactory(new_entrant_t0=datetime.date(2026, 10, 1), rsa_state=RightState.CLOSED)
    header = _header(client, person)
    assert "Étape : Droit RSA clos" in header
    assert "Aucune échéance à venir." in header
