"""Pages d'erreur : en français, au format du DSFR, avec un chemin de sortie (et jamais la page anglaise
de Django)."""

import html

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.urls import path

from parcours.urls import urlpatterns as parcours_urls
from tests.factories import UserFactory


def _refused(request):
    raise PermissionDenied("Ce Département n'est pas dans votre périmètre.")


def _broken(request):
    raise RuntimeError("panne simulée")


urlpatterns = [
    path("essai/refus/", _refused),
    path("essai/panne/", _broken),
    *parcours_urls,
]


def _assert_dsfr_page(response, heading):
    page = html.unescape(response.content.decode())
    assert 'lang="fr"' in page
    assert "fr-header" in page  # en-tête de l'État
    assert f"<h1>{heading}</h1>" in page
    assert "Page d'accueil" in page
    assert "Not Found" not in page and "Forbidden" not in page and "Server Error" not in page


@pytest.mark.django_db
def test_unknown_page_is_a_french_404():
    response = Client().get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    _assert_dsfr_page(response, "Page introuvable")


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_refusal_explains_the_reason_in_french():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.get("/essai/refus/")
    assert response.status_code == 403
    _assert_dsfr_page(response, "Accès refusé")
    assert "Ce Département n'est pas dans votre périmètre." in html.unescape(response.content.decode())


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_server_error_is_a_french_page():
    client = Client(raise_request_exception=False)
    response = client.get("/essai/panne/")
    assert response.status_code == 500
    _assert_dsfr_page(response, "Erreur inattendue")
    assert "panne simulée" not in response.content.decode()  # rien de l'erreur interne n'est montré


@pytest.mark.django_db
def test_expired_form_is_a_french_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/connexion/", {"username": "a@example.fr", "password": "x"})
    assert response.status_code == 403
    _assert_dsfr_page(response, "Formulaire expiré")
