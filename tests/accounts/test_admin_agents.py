"""Administration : un agent se crée par son adresse électronique, qui est son identifiant de connexion."""

from html import unescape

import pytest
from django.test import Client

from parcours.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    User.objects.create_superuser("admin@exemple.fr", "mot-de-passe-solide-2026")
    client = Client()
    client.force_login(User.objects.get(email="admin@exemple.fr"))
    return client


def test_add_agent_asks_for_the_email_and_the_agent_logs_in_with_it(admin_client):
    page = admin_client.get("/admin/accounts/user/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="email"' in html and 'name="username"' not in html
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Maelle.Guillou@Exemple.FR",
            "first_name": "Maëlle",
            "last_name": "Guillou",
            "usable_password": "true",
            "password1": "un-mot-de-passe-long-2026",
            "password2": "un-mot-de-passe-long-2026",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, unescape(response.content.decode())
    agent = User.objects.get(email="maelle.guillou@exemple.fr")
    assert agent.username == "maelle.guillou@exemple.fr"
    assert Client().login(username="maelle.guillou@exemple.fr", password="un-mot-de-passe-long-2026")


def test_an_email_already_used_is_refused_in_french(admin_client):
    User.objects.create_user("yann.morvan@exemple.fr")
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "YANN.MORVAN@exemple.fr",
            "first_name": "Yann",
            "last_name": "Morvan",
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "Un agent a déjà cette adresse électronique." in unescape(response.content.decode())
    assert User.objects.filter(email__iexact="yann.morvan@exemple.fr").count() == 1


def test_changing_the_email_changes_the_login(admin_client):
    agent = User.objects.create_user("ancienne@exemple.fr", password="un-mot-de-passe-long-2026")
    page = admin_client.get(f"/admin/accounts/user/{agent.pk}/change/")
    assert page.status_code == 200
    response = admin_client.post(
        f"/admin/accounts/user/{agent.pk}/change/",
        {
            "email": "nouvelle@exemple.fr",
            "first_name": "Anne",
            "last_name": "Le Roux",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    agent.refresh_from_db()
    assert agent.username == agent.email == "nouvelle@exemple.fr"
    assert Client().login(username="nouvelle@exemple.fr", password="un-mot-de-passe-long-2026")
