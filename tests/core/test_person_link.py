"""Connexion des personnes accompagnées par lien envoyé par courriel : usage unique, durée limitée,
même réponse que l'adresse soit connue ou non."""

import re

import pytest
from django.core import mail

from parcours.accompaniment.person_space import create_account
from tests.factories import BeneficiaryFactory, MembershipFactory

pytestmark = pytest.mark.django_db

SENT = "Si un espace personnel existe pour cette adresse"


@pytest.fixture
def awa():
    person = BeneficiaryFactory(first_name="Awa", last_name="Diallo")
    return create_account(person, email="awa.diallo@example.org").user


def _link(message):
    return re.search(r"http://testserver(/connexion/personne/\S+/)", message.body).group(1)


def test_the_person_receives_a_link_that_opens_her_space_once(client, awa):
    response = client.post("/connexion/personne/", {"email": "Awa.Diallo@example.org"})
    assert SENT in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["awa.diallo@example.org"]
    link = _link(mail.outbox[0])
    opened = client.get(link)
    assert opened.status_code == 302 and opened.url == "/accompagnement/mon-espace/"
    assert int(client.session["_auth_user_id"]) == awa.pk
    client.logout()
    reused = client.get(link)
    assert reused.status_code == 400
    assert "n&#x27;est plus valable" in reused.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_link_is_refused(client, awa, settings, monkeypatch):
    client.post("/connexion/personne/", {"email": awa.email})
    link = _link(mail.outbox[0])
    import time

    later = time.time() + settings.PARCOURS_PERSON_LINK_MINUTES * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(link).status_code == 400


def test_unknown_addresses_and_agents_get_the_same_answer_and_no_mail(client):
    agent = MembershipFactory().user
    for email in ("inconnu@example.org", agent.email):
        response = client.post("/connexion/personne/", {"email": email})
        assert response.status_code == 200 and SENT in response.content.decode()
    assert mail.outbox == []


def test_a_forged_token_is_refused(client, awa):
    assert client.get(f"/connexion/personne/{awa.pk}:0:forge/").status_code == 400


def test_requests_are_rate_limited(client, awa, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 2
    for _ in range(2):
        client.post("/connexion/personne/", {"email": awa.email})
    assert client.post("/connexion/personne/", {"email": awa.email}).status_code == 429
    assert len(mail.outbox) == 2
