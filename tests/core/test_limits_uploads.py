"""Fichiers déposés : aucun fichier temporaire ni copie ne reste après un dépôt refusé (formulaire invalide,
fichier refusé, exception), sur toutes les pages d'import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.intake.models import ImportBatch, ImportStatus
from tests.factories import DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload_dirs(settings, tmp_path):
    """Tout fichier de plus de 100 octets passe par un fichier temporaire, dans un dossier surveillé."""
    temp = tmp_path / "envois"
    temp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temp)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    return temp, tmp_path / "media"


def _files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _csv(text, name="flux.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8") + b" " * 500, content_type="text/csv")


def test_a_refused_flux_leaves_no_file_behind(client, upload_dirs):
    """Avant : la copie d'un flux refusé (NIR en clair) restait dans le dossier des imports."""
    temp, media = upload_dirs
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    response = client.post(
        reverse("import_new"),
        {
            "fichier": _csv("colonne inconnue;autre\n1;2\n"),
            "format": "auto",
            "recu_le": "2026-11-02",
            "organisation": membership.organisation.pk,
        },
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REJECTED
    assert batch.stored_path == ""
    assert _files(temp) == []
    assert _files(media / "imports") == []


def test_an_invalid_form_leaves_no_temporary_file(client, upload_dirs):
    temp, _ = upload_dirs
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    response = client.post(
        reverse("import_new"), {"fichier": _csv("nir;nom\n"), "format": "inconnu", "recu_le": "pas une date"}
    )
    assert response.status_code == 200
    assert _files(temp) == []
    assert not ImportBatch.objects.exists()


def test_an_exception_during_the_import_leaves_no_temporary_file(client, upload_dirs, monkeypatch):
    temp, _ = upload_dirs
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    seen = []

    def boom(upload, **kwargs):
        seen.append(_files(temp))
        raise RuntimeError("panne")

    monkeypatch.setattr("parcours.intake.services.create_batch", boom)
    client.raise_request_exception = False
    response = client.post(
        reverse("import_new"),
        {
            "fichier": _csv("nir;nom\n1;2\n"),
            "format": "auto",
            "recu_le": "2026-11-02",
            "organisation": membership.organisation.pk,
        },
    )
    assert response.status_code == 500
    assert len(seen[0]) == 1  # le fichier temporaire existait bien pendant le traitement
    assert _files(temp) == []


@pytest.mark.parametrize("route", ["organisation_import", "pathway_import"])
def test_refused_reprise_files_leave_no_temporary_file(client, upload_dirs, route):
    temp, media = upload_dirs
    admin = MembershipFactory(organisation=DepartementFactory(), role=Role.ADMIN)
    client.force_login(admin.user)
    response = client.post(reverse(route), {"fichier": _csv("n'importe;quoi\n1;2\n", name="reprise.csv")})
    assert response.status_code == 200
    assert _files(temp) == []
    assert _files(media) == []
