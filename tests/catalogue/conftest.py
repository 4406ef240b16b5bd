"""Données du catalogue pour les tests : communes du référentiel data·inclusion, structures, services, agents."""

import datetime
import itertools

import pytest

from parcours.accounts.models import OrganisationKind, Role
from parcours.catalogue.communes import load_communes
from parcours.catalogue.models import Origin, Service, Structure
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

DI = "data-inclusion"
_ids = itertools.count(1)

# Centres des communes de test-communes.json (latitude, longitude)
LILLE = (50.6311, 3.0468)
ROUBAIX = (50.6887, 3.1843)
HAZEBROUCK = (50.7254, 2.5357)


@pytest.fixture(autouse=True)
def _mail_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def di_files(reference_data):
    return reference_data / DI


@pytest.fixture
def communes(db, di_files):
    """Les communes du référentiel de test data·inclusion (Lille, Roubaix, Paris, Strasbourg…)."""
    load_communes(di_files / "api" / "test-communes.json")


def make_structure(**extra):
    n = next(_ids)
    values = {
        "source": "dora",
        "di_id": f"dora--structure-{n}",
        "origin": Origin.IMPORT,
        "nom": f"Structure d'insertion n°{n}",
        "date_maj": datetime.date(2026, 9, 1),
        "courriel": f"accueil{n}@structure.example.org",
    }
    values.update(extra)
    return Structure.objects.create(**values)


def make_service(structure=None, *, at=None, **extra):
    """Un service importé, en présentiel à ``at`` (latitude, longitude) s'il est donné."""
    n = next(_ids)
    structure = structure or make_structure()
    values = {
        "structure": structure,
        "source": structure.source,
        "di_id": f"{structure.source}--service-{n}",
        "origin": structure.origin,
        "nom": f"Service n°{n}",
        "description": "Accompagnement des personnes vers l'emploi et la formation.",
        "date_maj": datetime.date(2026, 9, 1),
        "thematiques": ["trouver-un-emploi--repondre-a-des-offres-demploi"],
        "modes_accueil": ["en-presentiel"] if at else ["a-distance"],
        "quality_score": 0.5,
    }
    if at:
        values["latitude"], values["longitude"] = at
    values.update(extra)
    return Service.objects.create(**values)


@pytest.fixture
def departement(db):
    return DepartementFactory(departement_code="59", name="Département du Nord")


@pytest.fixture
def referent(departement):
    return MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__email="referente@lenord.fr"
    ).user


@pytest.fixture
def manager_ro(departement):
    """Responsable en lecture seule : consulte le catalogue, ne prescrit pas."""
    return MembershipFactory(
        organisation=departement, role=Role.MANAGER, user__email="lecture@lenord.fr"
    ).user


@pytest.fixture
def dep_admin(departement):
    return MembershipFactory(organisation=departement, role=Role.ADMIN, user__email="admin@lenord.fr").user


@pytest.fixture
def partner_org(departement):
    return OrganisationFactory(
        kind=OrganisationKind.STRUCTURE, name="Atelier vélo solidaire", departement=departement
    )


@pytest.fixture
def partner_agent(partner_org):
    return MembershipFactory(
        organisation=partner_org, role=Role.REFERENT, user__email="accueil@atelier-velo.fr"
    ).user


@pytest.fixture
def person(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        email="nadia.lebreton@example.org",
        phone="0612345678",
    )


@pytest.fixture
def partner_structure(db, partner_org):
    return make_structure(
        nom="Atelier vélo solidaire",
        organisation=partner_org,
        courriel="contact@atelier-velo.fr",
        code_insee="59350",
        commune="Lille",
    )


@pytest.fixture
def bike_service(partner_structure):
    return make_service(
        partner_structure,
        at=LILLE,
        nom="Atelier de réparation de vélos",
        thematiques=["mobilite--entretenir-reparer-son-vehicule"],
        code_insee="59350",
        volume_horaire_hebdomadaire=6,
        nombre_semaines=8,
    )
