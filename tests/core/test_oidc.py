"""Connexion ProConnect (OpenID Connect) : redirection, rapprochement des agents déclarés, refus des autres."""

from urllib.parse import parse_qs, urlparse

import pytest

from parcours.accounts.oidc import AgentOIDCBackend
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://proconnect.example.gouv.fr/api/v2"


@pytest.fixture
def proconnect(settings):
    settings.OIDC_RP_CLIENT_ID = "parcours-35"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{ISSUER}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{ISSUER}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{ISSUER}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{ISSUER}/jwks"


def test_without_configuration_only_local_accounts_are_offered(client):
    page = client.get("/connexion/").content.decode()
    assert "ProConnect" not in page
    assert client.get("/connexion/proconnect/").status_code == 404


def test_login_page_offers_proconnect_and_redirects_with_state_and_nonce(client, proconnect):
    page = client.get("/connexion/").content.decode()
    assert "S'identifier avec" in page and "ProConnect" in page
    response = client.get("/connexion/proconnect/")
    assert response.status_code == 302
    url = urlparse(response.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == ["parcours-35"]
    assert query["response_type"] == ["code"]
    assert "email" in query["scope"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"][0].endswith("/connexion/proconnect/retour/")


def _callback(client, monkeypatch, claims):
    """Simule le retour de ProConnect : jeton vérifié, informations de l'agent renvoyées."""
    client.get("/connexion/proconnect/")
    state = next(iter(client.session["oidc_states"]))
    nonce = client.session["oidc_states"][state]["nonce"]
    monkeypatch.setattr(
        AgentOIDCBackend, "get_token", lambda self, payload: {"id_token": "x", "access_token": "y"}
    )
    monkeypatch.setattr(AgentOIDCBackend, "verify_token", lambda self, token, **kw: {"nonce": nonce})
    monkeypatch.setattr(AgentOIDCBackend, "get_userinfo", lambda self, access, id_token, payload: claims)
    return client.get("/connexion/proconnect/retour/", {"code": "abc", "state": state}, follow=True)


def test_declared_agent_is_logged_in_by_email_case_insensitively(client, monkeypatch, proconnect):
    membership = MembershipFactory(user__email="camille.durand@ille-et-vilaine.fr")
    response = _callback(
        client,
        monkeypatch,
        {"email": "Camille.Durand@ille-et-vilaine.fr", "given_name": "Camille", "usual_name": "Durand"},
    )
    assert response.status_code == 200
    assert int(client.session["_auth_user_id"]) == membership.user.pk
    membership.user.refresh_from_db()
    assert (membership.user.first_name, membership.user.last_name) == ("Camille", "Durand")


def test_unknown_agent_gets_no_account_and_a_french_message(client, monkeypatch, proconnect):
    from parcours.accounts.models import User

    before = User.objects.count()
    response = _callback(client, monkeypatch, {"email": "inconnu@autre-administration.gouv.fr"})
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == before
    assert (
        "aucun compte Parcours n&#x27;est ouvert pour l&#x27;adresse inconnu@autre-administration.gouv.fr"
        in (response.content.decode())
    )
