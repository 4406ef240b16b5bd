"""La composition du foyer sur la fiche de la personne et dans l'API des partenaires (droits RSA du foyer)."""

import datetime
from html import unescape

import pytest
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.beneficiaries.household import household_of, household_size, is_capped, is_single_parent
from parcours.interop import services as interop
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    HouseholdCompositionFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.mark.parametrize(
    "adults,partner,children,others,dependants,size,single,capped",
    [
        (1, False, 0, 0, None, 1, False, False),  # personne seule
        (1, False, 2, 0, 2, 3, True, True),  # mère seule et deux enfants
        (2, True, 0, 0, None, 2, False, True),  # couple sans enfant
        (2, True, 1, 0, 1, 3, False, True),  # couple avec un enfant
        (1, False, 0, 0, 1, 2, False, True),  # NBENFAUTCHA sans enfant décrit
        (1, False, 0, 1, None, 2, False, True),  # une autre personne (AUT)
    ],
)
def test_household_rules(adults, partner, children, others, dependants, size, single, capped):
    assert household_size(adults, children, others, dependants) == size
    assert is_single_parent(adults, partner, children) is single
    assert is_capped(adults, partner, children, others, dependants) is capped


@pytest.fixture
def departement():
    return DepartementFactory()


@pytest.fixture
def mother(departement):
    person = BeneficiaryFactory(departement=departement, first_name="Soizic", last_name="Le Floch")
    HouseholdCompositionFactory(
        household=person.household, valid_from=D(2026, 1, 31), children=1, dependants=1
    )
    HouseholdCompositionFactory(household=person.household, valid_from=D(2026, 3, 31))
    return person


def test_household_view_at_a_date(mother):
    assert household_of(mother, D(2026, 2, 15)).composition.children == 1
    view = household_of(mother, D(2026, 4, 1))
    assert view.known and view.capped and view.composition.children == 2
    assert not household_of(mother, D(2026, 1, 1)).known


def test_person_file_shows_the_household_composition(client, departement, mother):
    client.force_login(MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user)
    response = client.get(reverse("beneficiary_detail", args=[mother.pk]))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    block = html.split('id="titre-composition"')[1].split("Suivis")[0]
    assert "<dt>Enfants</dt><dd>2</dd>" in block
    assert "<dt>Parent isolé</dt><dd>oui</dd>" in block
    assert "<dt>Selon le flux du</dt><dd>31/03/2026</dd>" in block
    assert "Suspension plafonnée à 50 %" in block
    assert "Changements de composition (2)" in block
    assert (
        "depuis le 31/01/2026</span> — parent isolé, 1 enfant, 1 personne à charge ; 2 personnes au foyer"
        in block
    )


def test_person_file_without_composition_says_so(client, departement):
    person = BeneficiaryFactory(departement=departement)
    client.force_login(MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user)
    html = unescape(client.get(reverse("beneficiary_detail", args=[person.pk])).content.decode())
    block = html.split('id="titre-composition"')[1].split("Suivis")[0]
    assert "Composition non transmise par le flux." in block
    assert "plafonnée" not in block


def test_partner_api_gives_the_household_composition(client, departement, mother):
    _, token = interop.issue_token(departement, "Logiciel social du Département", ["droits:lecture"])
    response = client.get(
        f"/api/v1/interop/droits/{mother.household.right.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["composition"] == {
        "depuis": "2026-03-31",
        "adultes": 1,
        "conjoint": False,
        "enfants": 2,
        "autres_personnes": 0,
        "personnes_a_charge": 2,
        "personnes": 3,
        "parent_isole": True,
        "suspension_plafonnee": True,
    }
    alone = BeneficiaryFactory(departement=departement)
    response = client.get(
        f"/api/v1/interop/droits/{alone.household.right.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.json()["composition"] is None
