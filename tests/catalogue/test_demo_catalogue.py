"""Catalogue de la démonstration : structures et services au schéma data·inclusion v1 autour des communes."""

import datetime
import time

import pytest
from data_inclusion.schema import v1

from parcours.accounts.models import OrganisationKind
from parcours.catalogue.demo import populate_demo
from parcours.catalogue.models import Commune, Origin, Service, ServiceLocalData, Structure
from parcours.catalogue.search import SearchParams, search
from parcours.demo import data
from tests.factories import DepartementFactory, OrganisationFactory

TODAY = datetime.date(2026, 11, 15)


@pytest.fixture
def demo_orgs(db):
    departement = DepartementFactory(departement_code="35", name=data.DEPARTEMENT_NAME)
    organisations = {"departement": departement}
    for key, kind in [
        ("ft_redon", OrganisationKind.FRANCE_TRAVAIL),
        ("ft_stmalo", OrganisationKind.FRANCE_TRAVAIL),
        ("mission_locale", OrganisationKind.MISSION_LOCALE),
        ("ccas", OrganisationKind.CCAS),
        ("association", OrganisationKind.ASSOCIATION),
    ]:
        organisations[key] = OrganisationFactory(kind=kind, name=key, departement=departement)
    return departement, organisations


def test_demo_catalogue_valid_and_around_every_territory(demo_orgs):
    departement, organisations = demo_orgs
    started = time.monotonic()
    summary = populate_demo(departement, organisations, seed=2026, today=TODAY)
    assert time.monotonic() - started < 5
    assert summary["services"] == Service.objects.count() > 50
    assert summary["structures"] == Structure.objects.count()
    # Toutes les communes du territoire sont dans le référentiel, avec leur centre.
    codes = {insee for spec in data.TERRITORIES for insee, *_ in spec["communes"]}
    assert set(Commune.objects.filter(latitude__isnull=False).values_list("code", flat=True)) >= codes
    # Chaque service est conforme au schéma v1 (paquet data-inclusion-schema), avec son score de qualité.
    for service in Service.objects.select_related("structure"):
        v1.Service.model_validate(service.to_schema())
        assert service.schema_valid and not service.validation_errors
        assert service.quality_score is not None
    # Les thématiques du parcours sont couvertes.
    categories = {t.split("--")[0] for s in Service.objects.all() for t in s.thematiques}
    for category in [
        "trouver-un-emploi",
        "logement-hebergement",
        "sante",
        "mobilite",
        "numerique",
        "famille",
        "se-former",
        "difficultes-financieres",
    ]:
        assert category in categories
    # Partenaires de la démonstration : structures saisies dans Parcours, rattachées à leur organisation.
    ft = Structure.objects.get(organisation=organisations["ft_redon"])
    assert ft.origin == Origin.LOCAL and ft.nom == "France Travail Redon"
    assert ServiceLocalData.objects.filter(capacity__isnull=False).exists()
    # Une recherche autour de chaque commune trouve des services en présentiel et à distance.
    for spec in data.TERRITORIES:
        for insee, postal, name, _ in spec["communes"]:
            outcome = search(SearchParams.from_query({"commune": name}))
            assert outcome.place is not None and outcome.place.code == insee, name
            assert outcome.in_person_count > 0, name
            assert outcome.total > outcome.in_person_count, name
            assert any(
                r.mode == "distance"
                for r in search(SearchParams.from_query({"commune": postal, "page": "99"})).results
            )


def test_demo_catalogue_is_deterministic(demo_orgs):
    departement, organisations = demo_orgs
    populate_demo(departement, organisations, seed=7, today=TODAY)
    first = list(
        Service.objects.order_by("di_id").values_list("di_id", "nom", "latitude", "adresse", "frais")
    )
    ServiceLocalData.objects.all().delete()
    Service.objects.all().delete()
    Structure.objects.all().delete()
    populate_demo(departement, organisations, seed=7, today=TODAY)
    again = list(
        Service.objects.order_by("di_id").values_list("di_id", "nom", "latitude", "adresse", "frais")
    )
    assert first == again


def test_demo_catalogue_keeps_an_existing_commune_referential(demo_orgs):
    departement, organisations = demo_orgs
    Commune.objects.create(
        code="35236", nom="Redon", departement="35", latitude=47.65, longitude=-2.08, epci="243500741"
    )
    populate_demo(departement, organisations, today=TODAY)
    assert Commune.objects.get(code="35236").epci == "243500741"
