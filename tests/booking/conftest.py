import datetime

import pytest
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.booking.models import Mode, OpeningPattern, Purpose
from parcours.orientation import services as orientation
from parcours.orientation import sms
from parcours.orientation.models import Channel
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

D = datetime.date


def at(year, month, day, hour=10, minute=0):
    """Instant à l'heure de Paris."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


@pytest.fixture
def frozen(monkeypatch):
    """Fige l'heure : ``frozen(2026, 3, 2)`` (10 h, heure de Paris) ; renvoie l'instant."""

    def freeze(year, month, day, hour=10, minute=0):
        moment = at(year, month, day, hour, minute)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return freeze


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PARCOURS_SITE_URL = "https://parcours.ille-et-vilaine.fr"
    settings.PARCOURS_ORIENTATION_CONTACT_PHONE = ""
    settings.PARCOURS_ORIENTATION_CONTACTS = {}
    settings.PARCOURS_MESSAGE_HOURS = (0, 24)
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def departement(db):
    return DepartementFactory()


@pytest.fixture
def manager(departement):
    return MembershipFactory(
        organisation=departement, role=Role.ORIENTATION_MANAGER, user__email="orientation@departement35.fr"
    ).user


@pytest.fixture
def referent(departement):
    return MembershipFactory(
        organisation=departement,
        role=Role.REFERENT,
        user__email="nolwenn.tanguy@departement35.fr",
        user__first_name="Nolwenn",
        user__last_name="Tanguy",
    ).user


@pytest.fixture
def france_travail(departement):
    return OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )


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
    )


def make_opening(organisation, **fields):
    values = {
        "purpose": Purpose.ORIENTATION,
        "mode": Mode.PLACE,
        "place": "Centre départemental d'action sociale, 9 rue Joseph Lemoine",
        "postal_code": "35600",
        "city": "Redon",
        "phone": "02 99 71 10 10",
        "weekday": 1,  # mardi
        "start_time": datetime.time(9, 0),
        "end_time": datetime.time(12, 0),
        "slot_minutes": 45,
        "capacity": 1,
        "valid_from": D(2026, 1, 1),
    }
    values.update(fields)
    return OpeningPattern.objects.create(organisation=organisation, **values)


@pytest.fixture
def opening(departement, referent):
    """Entretiens d'orientation au CDAS de Redon, le mardi de 9 h à 12 h, avec Nolwenn Tanguy."""
    return make_opening(departement, agent=referent)


@pytest.fixture
def invitation(person, manager, frozen):
    """Invitation par SMS envoyée le lundi 2 mars 2026 (expire le 12 mars)."""
    frozen(2026, 3, 2)
    return orientation.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
