"""Plages de démonstration : chaque organisation du territoire publie des créneaux que la personne réserve."""

import datetime

import pytest

from parcours.accounts.models import OrganisationKind
from parcours.booking import demo, services
from parcours.booking.models import Closure, OpeningPattern
from tests.factories import BeneficiaryFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_openings_give_slots_to_a_person_of_the_departement(departement, frozen):
    now = frozen(2026, 3, 2)
    organisations = {
        "departement": departement,
        "ft_redon": OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon"),
        "ft_stmalo": OrganisationFactory(
            kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Saint-Malo"
        ),
    }
    agents = {"referent.redon@demo.parcours.fr": UserFactory(email="referent.redon@demo.parcours.fr")}
    assert demo.populate_demo(organisations, agents, today=now.date()) == {"plages": 7}
    assert OpeningPattern.objects.filter(agent__email="referent.redon@demo.parcours.fr").count() == 2
    assert Closure.objects.get().starts_on == datetime.date(2026, 3, 16)
    person = BeneficiaryFactory(departement=departement, postal_code="35600", city="Redon")
    offer = services.offer(person, now=now)
    assert {g["organisation"].name for g in offer.groups if g["days"]} == {
        "Département d'Ille-et-Vilaine",
        "France Travail Redon",
        "France Travail Saint-Malo",
    }
    assert offer.phone == "02 99 02 35 35"
