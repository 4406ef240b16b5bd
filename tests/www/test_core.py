import pytest
from django.urls import reverse

from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_agent_logs_in_with_email_and_sees_home(client):
    membership = MembershipFactory(
        user__email="chargee.orientation@departement35.fr", user__first_name="Claire"
    )
    response = client.post(
        reverse("login"),
        {"username": "chargee.orientation@departement35.fr", "password": "motdepasse-solide-2026"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.context["user"] == membership.user
    assert "Bonjour Claire" in response.content.decode()


def test_wrong_password_shows_french_error(client):
    MembershipFactory(user__email="agent@departement35.fr")
    response = client.post(reverse("login"), {"username": "agent@departement35.fr", "password": "faux"})
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect" in response.content.decode()
