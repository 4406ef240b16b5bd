"""Connecteur data·inclusion : pages de l'API enregistrées (fixtures/datainclusion/) → import du catalogue."""

import json

import pytest
import responses
from django.core.management import CommandError, call_command
from responses import matchers

from parcours.catalogue.models import Service, Structure
from parcours.connectors.datainclusion import sync
from parcours.connectors.http import ConnectorError
from parcours.connectors.models import ConnectorRun

from .conftest import DI_URL, fixture_json

pytestmark = pytest.mark.django_db

STRUCTURES = f"{DI_URL}/api/v0/structures"
SERVICES = f"{DI_URL}/api/v0/services"


def page(mock, url, number, fixture, status=200, headers=None):
    mock.add(
        responses.GET,
        url,
        json=fixture_json(f"datainclusion/{fixture}"),
        status=status,
        headers=headers,
        match=[matchers.query_param_matcher({"page": str(number), "size": "2"})],
    )


def register_catalogue(mock, services="services"):
    page(mock, STRUCTURES, 1, "structures-page-1.json")
    page(mock, STRUCTURES, 2, "structures-page-2.json")
    page(mock, SERVICES, 1, f"{services}-page-1.json")
    page(mock, SERVICES, 2, f"{services}-page-2.json")


def test_sync_reads_every_page_and_imports_through_the_catalogue(mocked):
    register_catalogue(mocked)

    report = sync()

    assert report["pages"] == {"structures": 2, "services": 2}
    assert report["structures"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "rejected": 0,
    }
    assert report["services"] == {"created": 3, "updated": 0, "unchanged": 0, "deactivated": 0, "rejected": 1}
    # Jeton porté par chaque requête.
    assert all(call.request.headers["Authorization"] == "Bearer jeton-di-de-test" for call in mocked.calls)
    service = Service.objects.get(di_id="dora--9c2d11f4-preparer-permis")
    assert service.structure.nom == "Plateforme mobilité du Pays de Redon"
    assert service.volume_horaire_hebdomadaire == 6.0 and service.nombre_semaines == 12
    assert Structure.objects.filter(source="dora").count() == 3
    run = ConnectorRun.objects.get(pk=report["run_id"])
    assert run.status == ConnectorRun.Status.PARTIAL
    assert run.report["services"]["created"] == 3


def test_invalid_item_is_reported_by_page_id_and_field_and_the_rest_kept(mocked):
    register_catalogue(mocked)

    report = sync()

    (error,) = report["errors"]
    assert error["file"] == "services-page-0002.json"
    assert error["row"] == 2
    assert error["id"] == "dora--0d3f9a20-sans-nom"
    assert error["field"] == "nom"
    assert error["message"] == "Champ requis. L'enregistrement n'est pas importé."
    assert not Service.objects.filter(di_id="dora--0d3f9a20-sans-nom").exists()
    assert Service.objects.filter(di_id="dora--e4a03b77-ateliers-numeriques").exists()


def test_resync_updates_without_duplicating_and_deactivates_what_disappeared(mocked):
    register_catalogue(mocked)
    sync()
    again = sync()
    assert again["structures"]["unchanged"] == 3 and again["structures"]["created"] == 0
    assert again["services"] == {"created": 0, "updated": 0, "unchanged": 3, "deactivated": 0, "rejected": 1}
    assert Service.objects.count() == 3

    mocked.reset()
    register_catalogue(mocked, services="services-v2")
    changed = sync()

    assert changed["services"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "deactivated": 1,
        "rejected": 1,
    }
    assert Service.objects.count() == 3  # rien n'est supprimé
    scooter = Service.objects.get(di_id="dora--5b7e0c31-location-solidaire")
    assert scooter.description.endswith("Casque fourni.")
    assert not Service.objects.get(di_id="dora--9c2d11f4-preparer-permis").is_active


def test_refused_token_stops_before_writing_with_a_french_message(mocked):
    mocked.add(responses.GET, STRUCTURES, json=fixture_json("datainclusion/error-401.json"), status=401)

    with pytest.raises(ConnectorError) as exc:
        sync()

    assert exc.value.status == 401
    assert "accès refusé (401)" in exc.value.message
    assert "PARCOURS_DI_API_TOKEN" in exc.value.message
    assert "jeton-di-de-test" not in exc.value.message
    assert Structure.objects.count() == 0
    run = ConnectorRun.objects.get()
    assert run.status == ConnectorRun.Status.FAILED and "401" in run.report["error"]


def test_rate_limited_request_is_retried_then_succeeds(mocked):
    # 429 puis la page : responses rejoue les réponses dans l'ordre d'enregistrement.
    page(mocked, STRUCTURES, 1, "error-429.json", status=429, headers={"Retry-After": "0"})
    register_catalogue(mocked)

    report = sync()

    assert report["structures"]["created"] == 3
    first_page = [
        c for c in mocked.calls if c.request.url.startswith(STRUCTURES) and "page=1" in c.request.url
    ]
    assert [c.response.status_code for c in first_page] == [429, 200]


def test_server_error_is_retried_then_reported_and_nothing_imported(mocked):
    register_catalogue(mocked)
    mocked.replace(responses.GET, SERVICES, json={"detail": "Internal Server Error"}, status=500)

    with pytest.raises(ConnectorError) as exc:
        sync()

    assert exc.value.message == (
        "data·inclusion : le service est en erreur (500) après 2 nouvelles tentatives. Réessayez plus tard ; "
        "si l'erreur persiste, prévenez l'éditeur du service."
    )
    assert len([c for c in mocked.calls if c.request.url.startswith(SERVICES)]) == 3  # 1 + 2 tentatives
    # Les structures lues avant la panne ne sont pas importées : pas d'import d'une lecture incomplète.
    assert Structure.objects.count() == 0


def test_command_prints_counts_and_errors(mocked, capsys):
    register_catalogue(mocked)

    call_command("connector-datainclusion")

    out = capsys.readouterr().out
    assert "Pages lues : 2 de structures, 2 de services." in out
    assert "Services : 3 créés, 0 mis à jour, 0 inchangé, 0 désactivé, 1 rejeté." in out
    assert "Erreur — services-page-0002.json rang 2 — dora--0d3f9a20-sans-nom — nom : Champ requis." in out


def test_command_json_and_failure(mocked, capsys):
    register_catalogue(mocked)
    call_command("connector-datainclusion", "--json")
    assert json.loads(capsys.readouterr().out)["structures"]["created"] == 3

    mocked.reset()
    mocked.add(responses.GET, STRUCTURES, json=fixture_json("datainclusion/error-401.json"), status=401)
    with pytest.raises(CommandError, match="accès refusé"):
        call_command("connector-datainclusion")
