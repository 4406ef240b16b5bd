"""Taille des requêtes (parcours.core.limits) : refus sur l'en-tête Content-Length, avant toute lecture du
corps ; fichiers acceptés sur les seules pages de dépôt, pour un agent connecté."""

import pytest
from django.conf import settings as django_settings
from django.urls import NoReverseMatch, reverse

from parcours.accounts.models import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

HUGE = 600 * 1024 * 1024


class UnreadableBody:
    """Corps qui échoue s'il est lu : prouve que le refus vient avant l'écriture sur disque."""

    def read(self, *args, **kwargs):
        raise AssertionError("le corps de la requête a été lu")

    readline = read


def _post(client, path, size, content_type="multipart/form-data; boundary=XYZ", **extra):
    return client.generic(
        "POST",
        path,
        b"",
        content_type=content_type,
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": UnreadableBody()},
        **extra,
    )


def test_a_huge_anonymous_post_to_the_login_page_is_refused_unread(client):
    """Avant : 600 Mo envoyés anonymement sur /connexion/ étaient écrits dans /tmp avant tout contrôle."""
    response = _post(client, "/connexion/", HUGE)
    assert response.status_code == 413
    text = response.content.decode().replace("\xa0", " ")
    assert "La requête est trop volumineuse (600,0 Mio) : 1,0 Mio au plus sur cette page" in text
    assert response["Connection"] == "close"


def test_the_api_answers_413_in_json(client):
    response = _post(client, "/api/v1/catalogue/services", 2 * 1024 * 1024, content_type="application/json")
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "requete_trop_volumineuse"
    assert "trop volumineuse" in body["message"]


def test_an_ordinary_page_keeps_the_small_cap_even_for_an_agent(client):
    client.force_login(MembershipFactory().user)
    assert _post(client, "/beneficiaires/", 2 * 1024 * 1024).status_code == 413


def test_anonymous_uploads_to_an_import_page_are_refused_before_spooling(client):
    assert _post(client, reverse("import_new"), 2 * 1024 * 1024).status_code == 413
    assert _post(client, reverse("organisation_import"), 2 * 1024 * 1024).status_code == 413


def test_an_import_page_accepts_its_own_cap_for_an_agent_and_no_more(client, settings):
    settings.PARCOURS_IMPORT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    assert _post(client, reverse("import_new"), 6 * 1024 * 1024).status_code == 413
    content = b"nir;nom\n" + b"x" * (2 * 1024 * 1024)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("import_new"),
        {
            "fichier": SimpleUploadedFile("flux.csv", content, content_type="text/csv"),
            "format": "auto",
            "recu_le": "2026-11-02",
            "organisation": membership.organisation.pk,
        },
    )
    assert response.status_code != 413


def test_chunked_bodies_without_length_are_refused(client):
    response = client.generic(
        "POST", "/connexion/", b"", HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": UnreadableBody()}
    )
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()


def test_small_requests_pass(client):
    assert client.post("/connexion/", {"username": "x@example.org", "password": "y"}).status_code == 200


def test_every_declared_upload_route_exists():
    for name in django_settings.PARCOURS_UPLOAD_ROUTES:
        try:
            reverse(name)
        except NoReverseMatch:
            reverse(name, kwargs={"pk": 1})
