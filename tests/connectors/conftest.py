"""Données des tests des connecteurs : Département d'Ille-et-Vilaine, agence France Travail de Redon,
trois allocataires que désignent les fixtures enregistrées (``fixtures/``), réglages des clients HTTP."""

import datetime
import json
from pathlib import Path

import pytest
import responses

from parcours.accounts.models import OrganisationKind
from tests.factories import BeneficiaryFactory, DepartementFactory, OrganisationFactory

FIXTURES = Path(__file__).parent / "fixtures"
DI_URL = "https://di.example.test"
FT_TOKEN_URL = "https://auth.ft.example.test/connexion/oauth2/access_token?realm=%2Fpartenaire"
FT_URL = "https://api.ft.example.test/partenaire/rsa-departements/v1"


def fixture_json(path):
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _connector_settings(settings):
    settings.PARCOURS_CONNECTORS = {
        # Pas d'attente entre les tentatives dans les tests (responses ne dort pas, mais par prudence).
        "http": {"timeout": (2, 5), "retries": 2, "backoff": 0},
        "datainclusion": {"base_url": DI_URL, "token": "jeton-di-de-test", "page_size": 2},
        "francetravail": {
            "base_url": FT_URL,
            "token_url": FT_TOKEN_URL,
            "client_id": "PAR_parcours_cd35",
            "client_secret": "secret-de-test",
            "page_size": 2,
        },
    }


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def departement(db):
    return DepartementFactory(departement_code="35", name="Département d'Ille-et-Vilaine")


@pytest.fixture
def france_travail(departement):
    return OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL,
        name="France Travail Redon",
        siret="13000548102457",
        departement=departement,
    )


@pytest.fixture
def mission_locale(departement):
    return OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale du Pays de Redon", departement=departement
    )


@pytest.fixture
def nadia(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        birth_date=datetime.date(1988, 4, 2),
        nir="288043523610139",
        france_travail_id="FT0012345",
        new_entrant_t0=datetime.date(2026, 3, 1),
        postal_code="35600",
        city="Redon",
    )


@pytest.fixture
def karim(departement):
    return BeneficiaryFactory(
        departement=departement,
        civility="M",
        first_name="Karim",
        last_name="Benali",
        birth_date=datetime.date(1979, 11, 23),
        nir="179113523610259",
        departement_internal_id="CD35-000742",
        new_entrant_t0=datetime.date(2026, 3, 2),
    )


@pytest.fixture
def sophie(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Sophie",
        last_name="Le Goff",
        birth_date=datetime.date(1992, 7, 14),
        nir="292073523610383",
        new_entrant_t0=datetime.date(2026, 3, 9),
    )


@pytest.fixture
def people(nadia, karim, sophie):
    return nadia, karim, sophie
