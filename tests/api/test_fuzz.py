"""Fuzzing de l'API à partir de son document OpenAPI (schemathesis) : aucune erreur serveur admise.

Chaque opération est appelée avec des données générées, anonymement puis avec la session d'un chargé
d'orientation. Le nombre de cas par opération se règle par ``PARCOURS_FUZZ_EXAMPLES`` (25 par défaut).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from parcours.accounts.models import Role
from tests.factories import MembershipFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
EXAMPLES = int(os.environ.get("PARCOURS_FUZZ_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Comme le client de test de Django : l'application WSGI ne ferme pas la connexion de la transaction
    de test à la fin de chaque requête."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def agent_cookie(client):
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_anonymous(case):
    case.call_and_validate(checks=[not_a_server_error])


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_as_an_agent(case, agent_cookie):
    case.call_and_validate(headers={"Cookie": agent_cookie}, checks=[not_a_server_error])
