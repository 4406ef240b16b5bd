"""Fuzzing des opérations de l'API partenaires avec un jeton valide (toutes portées) : aucune erreur serveur."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from parcours.interop import services
from parcours.orientation import services as orientation
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

from .conftest import ALL_SCOPES, past

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/v1/interop/"
)
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("PARCOURS_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _keep_test_connection():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    departement = DepartementFactory()
    manager = MembershipFactory(organisation=departement).user
    for person in BeneficiaryFactory.create_batch(3, departement=departement):
        orientation.schedule_appointment(person, starts_at=past(), place="Espace social", author=manager)
    return services.issue_token(departement, "Logiciel social du Département", ALL_SCOPES)[1]


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_with_a_partner_token(case, token):
    case.call_and_validate(headers={"X-Api-Key": token}, checks=[not_a_server_error])
