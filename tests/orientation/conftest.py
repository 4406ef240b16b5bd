import datetime

import pytest
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.orientation import sms
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryFactory,
)

D = datetime.date


@pytest.fixture
def frozen(monkeypatch):
    """Fige l'heure : ``frozen(2026, 3, 16)`` (10 h, heure de Paris) ; renvoie la date."""

    def freeze(year, month, day, hour=10, minute=0):
        moment = timezone.make_aware(datetime.datetime(year, month, day, hour, minute))
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment.date()

    return freeze


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def departement(db):
    return DepartementFactory()


@pytest.fixture
def territory(departement):
    return TerritoryFactory(departement=departement, code="REDON", name="Pays de Redon")


@pytest.fixture
def france_travail(departement):
    return OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )


@pytest.fixture
def mission_locale(departement):
    return OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale du Pays de Redon", departement=departement
    )


@pytest.fixture
def manager(departement):
    """Chargée d'orientation du Département."""
    return MembershipFactory(
        organisation=departement,
        role=Role.ORIENTATION_MANAGER,
        user__email="charge.orientation@departement35.fr",
    ).user


@pytest.fixture
def person(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        civility="MME",
        email="nadia.lebreton@example.org",
        phone="06 12 34 56 78",
        address="3 rue des Forges",
        postal_code="35600",
        city="Redon",
        birth_date=D(1988, 4, 2),
        new_entrant_t0=D(2026, 3, 1),
    )


def make_referent(organisation, email=None):
    kwargs = {"user__email": email} if email else {}
    return MembershipFactory(organisation=organisation, role=Role.REFERENT, **kwargs).user
