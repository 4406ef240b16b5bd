"""Import des exports data·inclusion de référence : pages JSON de l'API et tableur du valideur."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command

from parcours.catalogue.importers import ImportRejected, import_catalogue
from parcours.catalogue.models import CatalogueImport, Service, Structure

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 1)


@pytest.fixture
def mocks(di_files):
    folder = di_files / "api-mocks-les-emplois" / "data_inclusion"
    return [folder / "structures.json", folder / "services.json"]


@pytest.fixture
def xlsx(di_files):
    return di_files / "api" / "valideur-sample-dataset.xlsx"


def issues_for(report, **where):
    return [i for i in report["errors"] + report["warnings"] if all(i.get(k) == v for k, v in where.items())]


def test_api_pages_import_structures_and_services(communes, mocks):
    report = import_catalogue(mocks, today=TODAY)

    assert report["structures"] == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "rejected": 1,
    }
    assert report["services"] == {"created": 6, "updated": 0, "unchanged": 0, "deactivated": 0, "rejected": 1}
    service = Service.objects.get(di_id="dora--46f7ea19-c97b-4f45-90a9-027b44cad927")
    assert service.structure.di_id == service.to_schema()["structure_id"]
    assert "trouver-un-emploi--repondre-a-des-offres-demploi" in service.thematiques
    assert service.quality_score is not None and 0 <= service.quality_score <= 1
    assert CatalogueImport.objects.get(pk=report["import_id"]).report["services"]["created"] == 6


def test_api_pages_empty_record_rejected_with_row_and_field(communes, mocks):
    report = import_catalogue(mocks, today=TODAY)

    (rejected,) = issues_for(report, file="services.json", id="emplois-de-linclusion--empty")
    assert rejected["row"] == 2
    assert rejected["field"] == "nom"
    assert rejected["message"] == "Champ requis. L'enregistrement n'est pas importé."
    assert not Service.objects.filter(di_id="emplois-de-linclusion--empty").exists()
    # Une valeur invalide d'un champ facultatif est retirée, l'enregistrement est importé.
    (siret,) = issues_for(report, field="siret")
    assert siret["message"] == "Le numéro SIRET doit comporter 14 chiffres. Valeur ignorée."
    structure = Structure.objects.get(di_id="dora--blacklisted-siren-structure")
    assert structure.siret == ""
    assert structure.validation_errors[0]["field"] == "siret"


def test_valideur_spreadsheet_reports_invalid_rows_line_by_line(communes, xlsx):
    report = import_catalogue([xlsx], today=TODAY)

    assert report["structures"]["created"] == 1  # la ligne d'exemple « __ignore__ » n'est pas importée
    assert report["services"]["created"] == 2
    structure_issues = {i["field"]: i for i in issues_for(report, sheet="Structures", row=4)}
    assert structure_issues["courriel"]["value"] == "pas une adresse"
    assert (
        structure_issues["courriel"]["message"] == "La valeur n'est pas un courriel valide. Valeur ignorée."
    )
    assert structure_issues["site_web"]["message"].startswith("La valeur doit être une URL valide")
    assert structure_issues["code_postal"]["message"].startswith("Le code postal doit comporter 5 chiffres.")
    assert (
        structure_issues["nom"]["message"] == "Le nom de la structure ne doit pas se terminer par un point."
    )
    service_issues = {i["field"]: i for i in issues_for(report, sheet="Services", row=4)}
    assert (
        "Vouliez-vous dire « logement-hebergement--louer-un-logement » ?"
        in (service_issues["thematiques"]["message"])
    )
    assert (
        service_issues["nombre_semaines"]["message"]
        == "La valeur doit être un nombre entier. Valeur ignorée."
    )
    assert service_issues["mobilisable_par"]["value"] == "autres"
    # Code commune inconnu du référentiel (département 59 couvert) : avertissement sur la ligne 5.
    (unknown_commune,) = issues_for(report, sheet="Services", row=5, field="code_insee")
    assert (
        unknown_commune["message"] == "Le code commune 59999 n'existe pas dans le référentiel des communes."
    )
    # En-têtes : colonne inconnue, colonne en double, en-tête illisible.
    headers = [i["message"] for i in issues_for(report, row=1)]
    assert "Colonne « colonne en trop » inconnue du schéma (colonne R) : ignorée." in headers
    assert "Colonne « lien_source » en double (colonne J) : seule la première est lue." in headers
    service = Service.objects.get(di_id="53669028-8862-4f42-a80c-d3f269456edc")
    assert service.thematiques == ["logement-hebergement--louer-un-logement"]
    assert service.nombre_semaines is None
    assert service.source == "valideur-sample-dataset"


def test_reimport_updates_and_deactivates_never_duplicates(communes, mocks, tmp_path):
    import_catalogue(mocks, today=TODAY)
    again = import_catalogue(mocks, today=TODAY)
    assert again["services"]["unchanged"] == 6
    assert again["services"]["created"] == again["services"]["updated"] == 0

    page = json.loads(mocks[1].read_text())
    kept = [i for i in page["items"] if i["id"] != "dora--blacklisted-service"]
    for item in kept:
        if item["id"] == "dora--46f7ea19-c97b-4f45-90a9-027b44cad927":
            item["nom"] = "Les emplois de l'inclusion (nouveau nom)"
    page.update(items=kept, total=len(kept))
    changed = tmp_path / "services.json"
    changed.write_text(json.dumps(page), encoding="utf-8")

    report = import_catalogue([mocks[0], changed], today=TODAY)

    assert report["services"]["updated"] == 1
    assert report["services"]["deactivated"] == 1
    assert Service.objects.count() == 6
    gone = Service.objects.get(di_id="dora--blacklisted-service")
    assert not gone.is_active and gone.deactivated_at is not None
    renamed = Service.objects.get(di_id="dora--46f7ea19-c97b-4f45-90a9-027b44cad927")
    assert renamed.nom == "Les emplois de l'inclusion (nouveau nom)"
    assert "nouveau nom" in renamed.search_text


def test_incomplete_paged_export_deactivates_nothing(communes, mocks, tmp_path):
    import_catalogue(mocks, today=TODAY)
    page = json.loads(mocks[1].read_text())
    page.update(items=page["items"][:2], pages=3)  # page 1 sur 3 seulement
    partial = tmp_path / "services-page-1.json"
    partial.write_text(json.dumps(page), encoding="utf-8")

    report = import_catalogue([partial], today=TODAY)

    assert report["services"]["deactivated"] == 0
    assert Service.objects.filter(is_active=True).count() == 6
    assert any("Export incomplet" in w["message"] for w in report["warnings"])


def test_unreadable_file_is_rejected_and_nothing_written(tmp_path):
    bad = tmp_path / "export.json"
    bad.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(ImportRejected, match="fichier JSON illisible"):
        import_catalogue([bad])
    assert not CatalogueImport.objects.exists()


def test_import_command_prints_french_report(communes, xlsx, capsys):
    call_command("catalogue-import", str(xlsx))
    out = capsys.readouterr().out
    assert "Services : 2 créés, 0 mis à jour, 0 inchangé, 0 désactivé, 0 rejeté." in out
    assert "Structures : 1 créée, 0 mise à jour" in out
    assert "Erreur — Structures ligne 4 — courriel : La valeur n'est pas un courriel valide." in out

    call_command("catalogue-import", str(xlsx), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["services"]["unchanged"] == 2

    with pytest.raises(CommandError, match="Fichier introuvable"):
        call_command("catalogue-import", "/nulle/part.json")


def test_communes_command(di_files, db, capsys):
    call_command("catalogue-communes", str(di_files / "api" / "test-communes.json"))
    assert "Communes : 8 créées, 0 mise à jour." in capsys.readouterr().out
