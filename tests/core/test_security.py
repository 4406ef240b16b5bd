"""Entrées hostiles et en-têtes : CSP, limitation des connexions, fichiers piégés, injection de formules."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines

from parcours.accounts.models import Role
from tests.factories import BeneficiaryFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "motdepasse-solide-2026"


def test_pages_carry_security_headers(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get("/beneficiaires/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def _template_files():
    roots = [Path(settings.BASE_DIR) / "parcours"]
    return [path for root in roots for path in root.rglob("templates/**/*.html")]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_relies_on_inline_scripts_forbidden_by_the_csp():
    files = _template_files()
    assert len(files) > 20
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for path in files
        if INLINE_SCRIPT.search(path.read_text()) or INLINE_HANDLER.search(path.read_text())
    ]
    assert not offenders, f"Scripts en ligne interdits par la CSP : {offenders}"


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(client, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 3
    user = UserFactory(email="camille.durand@departement35.fr")
    for _ in range(3):
        response = client.post("/connexion/", {"username": user.email, "password": "mauvais"})
        assert response.status_code == 200
        assert "Adresse électronique ou mot de passe incorrect" in response.content.decode()
    locked = client.post("/connexion/", {"username": user.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Trop de tentatives de connexion échouées" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Un autre compte n'est pas bloqué par ces échecs.
    other = UserFactory(email="awa.diallo@departement35.fr")
    assert client.post("/connexion/", {"username": other.email, "password": PASSWORD}).status_code == 302


def test_successful_login_resets_the_counter(client, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 3
    user = UserFactory()
    for _ in range(2):
        client.post("/connexion/", {"username": user.email, "password": "mauvais"})
    assert client.post("/connexion/", {"username": user.email, "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(2):
        client.post("/connexion/", {"username": user.email, "password": "mauvais"})
    assert client.post("/connexion/", {"username": user.email, "password": PASSWORD}).status_code == 302


def test_csrf_is_enforced_on_forms(client):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    membership = MembershipFactory()
    csrf_client.force_login(membership.user)
    assert csrf_client.post("/deconnexion/").status_code == 403


def test_export_neutralises_spreadsheet_formulas(client):
    person = BeneficiaryFactory(
        last_name='=HYPERLINK("http://pirate.example","Cliquez")', first_name="+cmd|' /C calc'!A0"
    )
    membership = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    response = client.get("/beneficiaires/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][0].startswith("'=HYPERLINK")
    assert rows[1][2].startswith("'+cmd")


def _zip_bomb(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024**2))
    return path


def test_xlsx_zip_bomb_is_refused_before_decompression(client, tmp_path):
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    bomb = _zip_bomb(tmp_path / "flux.xlsx")
    assert bomb.stat().st_size < 200 * 1024
    with bomb.open("rb") as handle:
        response = client.post(
            "/imports/nouveau/",
            {
                "fichier": handle,
                "format": "auto",
                "recu_le": "2026-11-02",
                "organisation": membership.organisation.pk,
            },
            follow=True,
        )
    text = response.content.decode()
    assert "taux de compression anormal" in text


def test_html_in_names_is_escaped_on_the_person_file(client):
    person = BeneficiaryFactory(last_name="<script>alert(1)</script>")
    membership = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    body = client.get(f"/beneficiaires/{person.pk}/").content.decode().lower()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_templates_autoescape():
    assert engines["django"].engine.autoescape
