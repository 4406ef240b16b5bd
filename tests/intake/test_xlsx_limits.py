"""Classeurs XLSX piégés (parcours.core.xlsx) : dimension démesurée refusée avant la lecture, lignes comptées
et temps borné pendant la lecture, pour tous les lecteurs (flux, catalogue) ; les classeurs de référence
passent toujours."""

import re
import time
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.catalogue.importers import ImportRejected
from parcours.catalogue.importers import parse as parse_catalogue
from parcours.core import xlsx
from parcours.intake.formats import open_flux
from parcours.intake.models import ImportBatch
from parcours.intake.records import FileRejected
from tests.factories import MembershipFactory


def malicious_xlsx(path, *, dimension="A1:Z1048576", empty_rows=2_000, last_row=1_048_576, sheet="Flux"):
    """Petit classeur : un en-tête de 26 colonnes, ``empty_rows`` lignes vides, une dimension déclarée au
    choix (ou aucune) et une cellule à la ligne ``last_row`` (openpyxl comble l'écart par des lignes vides)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["NIR", "Nom", "Prénom", "Date de naissance"] + [f"Colonne {n}" for n in range(5, 27)])
    wb.save(path)
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    xml = members["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(
        r"<dimension ref=\"[^\"]*\"\s*/>", f'<dimension ref="{dimension}"/>' if dimension else "", xml
    )
    rows = "".join(f'<row r="{n}"/>' for n in range(2, empty_rows + 2))
    if last_row:
        rows += f'<row r="{last_row}"><c r="A{last_row}" t="inlineStr"><is><t>x</t></is></c></row>'
    members["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", rows + "</sheetData>").encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return path


def test_dimension_references_are_parsed():
    assert xlsx.parse_dimension("A1:Z1048576") == (1_048_576, 26)
    assert xlsx.parse_dimension("B2") == (2, 2)
    assert xlsx.parse_dimension("$A$1:$XFD$3") == (3, 16_384)


def test_a_tiny_workbook_declaring_a_million_rows_is_refused_at_once(tmp_path):
    """Avant : un classeur de 7,9 Ko déclarant 1 048 576 lignes occupait le processeur près de 3 minutes."""
    bomb = malicious_xlsx(tmp_path / "flux-piege.xlsx")
    assert bomb.stat().st_size < 20 * 1024
    started = time.perf_counter()
    with pytest.raises(FileRejected) as refused:
        list(open_flux(bomb).rows)
    assert time.perf_counter() - started < 2
    message = refused.value.message.replace("\u202f", " ")
    assert "« flux-piege.xlsx »" in message and "onglet « Flux »" in message
    assert "1 048 576 lignes" in message and "500 000 lignes acceptées" in message


def test_too_many_declared_cells_are_refused(tmp_path):
    bomb = malicious_xlsx(tmp_path / "large.xlsx", dimension="A1:XFD100000", empty_rows=10, last_row=None)
    with pytest.raises(FileRejected, match="cellules"):
        open_flux(bomb)


def test_a_sheet_that_hides_its_size_is_stopped_at_the_row_cap(tmp_path, settings):
    settings.PARCOURS_XLSX_MAX_ROWS = 1_000
    liar = malicious_xlsx(tmp_path / "menteur.xlsx", dimension="", empty_rows=10, last_row=200_000)
    started = time.perf_counter()
    with pytest.raises(FileRejected) as refused:
        list(open_flux(liar).rows)
    assert time.perf_counter() - started < 2
    assert "contient plus de 1\u202f000 lignes" in refused.value.message
    assert "onglet « Flux »" in refused.value.message


def test_reading_time_is_bounded(tmp_path, settings, reference_data):
    settings.PARCOURS_XLSX_MAX_SECONDS = 0
    with pytest.raises(FileRejected, match="la lecture de l'onglet .* dépasse"):
        list(open_flux(reference_data / "rdv-insertion" / "fichier_usager_test.xlsx").rows)


def test_reference_workbooks_still_import(reference_data):
    parsed = open_flux(reference_data / "rdv-insertion" / "fichier_usager_test.xlsx")
    assert len(list(parsed.rows)) > 0
    _, catalogue = parse_catalogue(
        [reference_data / "data-inclusion" / "api" / "valideur-sample-dataset.xlsx"]
    )
    assert catalogue.rows


def test_the_catalogue_importer_refuses_the_same_workbook(tmp_path):
    bomb = malicious_xlsx(tmp_path / "catalogue.xlsx", sheet="Structures")
    with pytest.raises(ImportRejected, match="déclare 1.048.576 lignes"):
        parse_catalogue([bomb])


@pytest.mark.django_db
def test_the_import_page_reports_the_refusal_in_french(client, tmp_path):
    membership = MembershipFactory(role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    bomb = malicious_xlsx(tmp_path / "flux.xlsx")
    started = time.perf_counter()
    with bomb.open("rb") as handle:
        response = client.post(
            reverse("import_new"),
            {
                "fichier": handle,
                "format": "auto",
                "recu_le": "2026-11-02",
                "organisation": membership.organisation.pk,
            },
            follow=True,
        )
    assert time.perf_counter() - started < 5
    assert "au-delà des" in ImportBatch.objects.get().error_message
    assert "Supprimez les lignes vides" in response.content.decode()
