"""Publication des services saisis dans Parcours au schéma data·inclusion v1, par l'API paginée."""

import json
from decimal import Decimal

import pytest

from parcours.catalogue.models import Service, ServiceLocalData, Structure
from parcours.catalogue.services import save_local_service, save_local_structure

from .conftest import LILLE, make_service
from .jsonschema_check import errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def service_schema(di_files):
    return json.loads((di_files / "schema-v1" / "service.json").read_text(encoding="utf-8"))


@pytest.fixture
def structure_schema(di_files):
    return json.loads((di_files / "schema-v1" / "structure.json").read_text(encoding="utf-8"))


def own_structure(departement, **extra):
    structure = Structure(
        nom="Espace départemental des solidarités de Lille",
        description="Accueil, orientation et accompagnement des allocataires du RSA de la métropole.",
        adresse="2 rue Jacquemars Giélée",
        code_postal="59000",
        commune="Lille",
        code_insee="59350",
        courriel="eds.lille@lenord.fr",
        telephone="03 59 73 00 00",
        site_web="https://lenord.fr/",
        departement=departement,
        **extra,
    )
    return save_local_structure(structure)


def own_service(structure, user=None, **extra):
    values = {
        "nom": "Atelier mobilité : préparer le code de la route",
        "description": "Séances collectives pour réviser le code de la route, avec un accès aux tests en ligne. "
        * 3,
        "type": "atelier",
        "thematiques": [
            "mobilite--preparer-un-permis",
            "mobilite--etre-accompagne-dans-son-parcours-mobilite",
        ],
        "frais": "gratuit",
        "publics": ["beneficiaires-des-minimas-sociaux"],
        "modes_accueil": ["en-presentiel"],
        "adresse": "2 rue Jacquemars Giélée",
        "code_postal": "59000",
        "commune": "Lille",
        "code_insee": "59350",
        "latitude": LILLE[0],
        "longitude": LILLE[1],
        "zone_eligibilite": ["59"],
        "courriel": "mobilite@lenord.fr",
        "telephone": "03 59 73 00 01",
        "modes_mobilisation": ["envoyer-un-courriel", "telephoner"],
        "mobilisable_par": ["professionnels"],
        "volume_horaire_hebdomadaire": 4.5,
        "nombre_semaines": 6,
        "lien_source": "https://lenord.fr/mobilite",
    }
    values.update(extra)
    return save_local_service(Service(structure=structure, **values), user)


def test_published_services_validate_against_schema_v1(client, departement, service_schema, structure_schema):
    structure = own_structure(departement)
    first = own_service(structure)
    own_service(
        structure, nom="Garde d'enfants pour reprendre un emploi", thematiques=["famille--garde-denfants"]
    )
    ServiceLocalData.objects.create(
        service=first,
        departement=departement,
        internal_code="FA-2026-014",
        funder="Département du Nord (PDI)",
        funding_amount=Decimal("12500.00"),
        capacity=12,
    )

    response = client.get("/api/v1/catalogue/services")  # sans compte : données publiques, moissonnables

    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["page"], page["pages"]) == (2, 1, 1)
    for item in page["items"]:
        assert errors(item, service_schema) == []
        assert item["source"] == "parcours"
        assert item["structure_id"] == structure.di_id
    assert page["items"][0]["zone_eligibilite"] == ["59"]
    assert page["items"][0]["volume_horaire_hebdomadaire"] == 4.5
    raw = response.content.decode()
    assert "FA-2026-014" not in raw and "12500" not in raw  # données internes jamais publiées

    structures = client.get("/api/v1/catalogue/structures").json()
    assert structures["total"] == 1
    assert errors(structures["items"][0], structure_schema) == []


def test_validator_catches_an_invalid_payload(service_schema):
    """Le contrôle du schéma n'est pas complaisant : un service non conforme est signalé."""
    payload = {"source": "parcours", "id": "x", "structure_id": "y", "nom": "ab", "description": "Texte"}
    payload |= {"date_maj": "2026-13-01", "thematiques": ["pas-une-thematique"], "code_postal": "590"}
    found = " ".join(errors(payload, service_schema))
    assert "$.nom: trop court" in found
    assert "$.date_maj: date invalide" in found
    assert "$.thematiques" in found
    assert "$.code_postal" in found


def test_only_own_valid_published_active_services_are_exposed(client, departement):
    structure = own_structure(departement)
    shown = own_service(structure)
    own_service(structure, nom="Brouillon", is_published=False)
    hidden_inactive = own_service(structure, nom="Ancien atelier")
    Service.objects.filter(pk=hidden_inactive.pk).update(is_active=False)
    make_service(at=LILLE, nom="Service importé de DORA")  # importé : publié par son producteur

    items = client.get("/api/v1/catalogue/services").json()["items"]

    assert [i["id"] for i in items] == [shown.di_id]
    assert client.get(f"/api/v1/catalogue/services/{shown.di_id}").json()["nom"] == shown.nom
    missing = client.get(f"/api/v1/catalogue/services/{hidden_inactive.di_id}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "service_introuvable"


def test_publication_is_paginated(client, departement):
    structure = own_structure(departement)
    for n in range(5):
        own_service(structure, nom=f"Atelier collectif n°{n + 1}")

    page = client.get("/api/v1/catalogue/services", {"page": 2, "size": 2}).json()

    assert (page["total"], page["page"], page["size"], page["pages"]) == (5, 2, 2, 3)
    assert [i["nom"] for i in page["items"]] == ["Atelier collectif n°3", "Atelier collectif n°4"]
    assert client.get("/api/v1/catalogue/services", {"size": 0}).status_code == 422


def test_schema_errors_and_quality_score_kept_for_editors(departement):
    structure = own_structure(departement)
    good = own_service(structure)
    assert good.schema_valid and good.validation_errors == []
    assert 0.5 < good.quality_score <= 1
    assert good.quality_details["au_moins_une_thematique"] == 1

    bad = own_service(structure, nom="Atelier.", description="Court", courriel="pas un courriel")

    assert not bad.schema_valid
    fields = {e["field"]: e["message"] for e in bad.validation_errors}
    assert fields["courriel"] == "La valeur n'est pas un courriel valide."
    assert bad.quality_score is None
    assert not Service.objects.published().filter(pk=bad.pk).exists()
