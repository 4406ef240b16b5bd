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


def test_counters_are_shared_by_every_web_process(client):
    """Avant : compteurs dans le cache local du processus ; un second processus (ici : cache vidé, nouvelle
    instance de la limitation) repartait de zéro. Désormais comptés en base, ensemble."""
    from django.test import RequestFactory

    from parcours.api.main import AnonymousRate
    from parcours.core.models import ThrottleCounter

    for _ in range(3):
        assert client.get(OPEN_DATA, REMOTE_ADDR="203.0.113.21").status_code == 200
    cache.clear()
    assert client.get(OPEN_DATA, REMOTE_ADDR="203.0.113.21").status_code == 429
    request = RequestFactory().get(OPEN_DATA, REMOTE_ADDR="203.0.113.21")
    request.auth = None
    other_process = AnonymousRate()
    assert other_process.allow_request(request) is False
    assert other_process.wait() >= 1
    assert ThrottleCounter.objects.filter(scope="api:anon").exists()


def test_the_client_address_is_read_behind_the_trusted_proxy(client, settings):
    settings.PARCOURS_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.PARCOURS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(3):
        assert client.get(OPEN_DATA, HTTP_X_FORWARDED_FOR="203.0.113.31", **proxy).status_code == 200
    assert client.get(OPEN_DATA, HTTP_X_FORWARDED_FOR="203.0.113.31", **proxy).status_code == 429
    # Un autre client derrière le même mandataire a son propre budget.
    assert client.get(OPEN_DATA, HTTP_X_FORWARDED_FOR="203.0.113.32", **proxy).status_code == 200
