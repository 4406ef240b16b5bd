"""Limitation de débit de l'API : au-delà du débit autorisé, 429 en français avec Retry-After."""

import pytest
from django.core.cache import cache

from parcours.accounts.models import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

OPEN_DATA = "/api/v1/catalogue/services"


@pytest.fixture(autouse=True)
def low_rates(settings):
    cache.clear()
    settings.PARCOURS_API_RATES = {"anon": "3/min", "auth": "5/min"}
    yield
    cache.clear()


def test_anonymous_callers_are_limited_per_address(client):
    for _ in range(3):
        assert client.get(OPEN_DATA, REMOTE_ADDR="203.0.113.7").status_code == 200
    refused = client.get(OPEN_DATA, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    assert refused.json()["code"] == "trop_de_requetes"
    assert "Trop de requêtes" in refused.json()["message"]
    assert int(refused["Retry-After"]) >= 1
    # Une autre adresse n'est pas concernée.
    assert client.get(OPEN_DATA, REMOTE_ADDR="203.0.113.8").status_code == 200


def test_authenticated_agents_have_their_own_higher_budget(client):
    client.force_login(MembershipFactory(role=Role.ORIENTATION_MANAGER).user)
    search = "/api/v1/catalogue/recherche"  # opération authentifiée : budget de la session, pas de l'adresse
    statuses = [client.get(search, REMOTE_ADDR="203.0.113.9").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
