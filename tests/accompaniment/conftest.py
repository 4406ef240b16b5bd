import datetime

import pytest

from parcours.accompaniment.models import Objective, Situation
from parcours.accounts.models import OrganisationKind, Role
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    FollowUpFactory,
    MembershipFactory,
    OrganisationFactory,
)


@pytest.fixture
def departement(db):
    return DepartementFactory()


@pytest.fixture
def person(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        address="3 rue des Forges",
        postal_code="35600",
        city="Redon",
        france_travail_id="1234567A",
        new_entrant_t0=datetime.date(2026, 3, 2),
    )


@pytest.fixture
def orientation_manager(departement):
    return MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user


@pytest.fixture
def follower(person):
    """Référente d'une Mission locale qui suit la personne."""
    mission_locale = OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale du Pays de Redon"
    )
    FollowUpFactory(beneficiary=person, organisation=mission_locale)
    return MembershipFactory(organisation=mission_locale, role=Role.REFERENT).user


@pytest.fixture
def manager(departement):
    return MembershipFactory(organisation=departement, role=Role.MANAGER).user


def situation(theme, label_start):
    return Situation.objects.get(theme__code=theme, label__startswith=label_start)


def objective(theme, label_start):
    return Objective.objects.get(theme__code=theme, label__startswith=label_start)
