"""Adresse du client (parcours.core.clientip) : l'en-tête du mandataire n'est cru que venant d'un mandataire
de confiance, et l'adresse retenue est la plus à droite qui n'en soit pas un."""

import pytest
from django.test import RequestFactory

from parcours.core.clientip import client_ip


@pytest.fixture
def proxied(settings):
    settings.PARCOURS_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.PARCOURS_TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    return settings


def _request(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_configured_header_the_connection_address_is_used(settings):
    settings.PARCOURS_CLIENT_IP_HEADER = ""
    settings.PARCOURS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"
    assert client_ip(_request("10.0.0.5", "198.51.100.1")) == "10.0.0.5"


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_used(proxied):
    assert client_ip(_request("10.0.0.5", "203.0.113.7")) == "203.0.113.7"
    # Le client ajoute une fausse adresse à gauche : ignorée.
    assert client_ip(_request("10.0.0.5", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    # Mandataires de confiance enchaînés : ils sont sautés.
    assert client_ip(_request("10.0.0.5", "1.2.3.4, 203.0.113.7, 192.0.2.1, 10.1.2.3")) == "203.0.113.7"
    # Valeurs illisibles ignorées ; IPv6 reconnue.
    assert client_ip(_request("10.0.0.5", "pas-une-adresse, 2001:db8::1")) == "2001:db8::1"


def test_a_header_sent_by_an_untrusted_peer_is_ignored(proxied):
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_trusted_proxy_without_header_or_only_trusted_hops_gives_the_proxy(proxied):
    assert client_ip(_request("10.0.0.5")) == "10.0.0.5"
    assert client_ip(_request("10.0.0.5", "10.0.0.6, 192.0.2.1")) == "10.0.0.5"


def test_no_request_or_no_address(settings):
    settings.PARCOURS_CLIENT_IP_HEADER = ""
    assert client_ip(None) is None
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    assert client_ip(request) is None
