"""Recherche autour d'une commune : nom (accents, casse, traits d'union, « St »), code postal, code INSEE,
homonymes, code postal partagé, distances et rayon ; commune connue des seuls territoires."""

import pytest
from django.http import QueryDict

from parcours.accounts.models import Territory, TerritoryCommune
from parcours.catalogue.communes import resolve
from parcours.catalogue.models import Commune
from parcours.catalogue.search import SearchParams, search
from tests.factories import DepartementFactory

from .conftest import make_service

pytestmark = pytest.mark.django_db

SAINT_MALO = (48.6493, -2.0257)
DINARD = (48.6325, -2.0617)
REDON = (47.6517, -2.0843)
BAINS = (47.7036, -2.0708)
COMBOURG = (48.4103, -1.7514)


def commune(code, nom, postal, centre, departement="35"):
    return Commune.objects.create(
        code=code,
        nom=nom,
        departement=departement,
        codes_postaux=[postal],
        latitude=centre[0],
        longitude=centre[1],
    )


@pytest.fixture
def bretagne(db):
    commune("35288", "Saint-Malo", "35400", SAINT_MALO)
    commune("35093", "Dinard", "35800", DINARD)
    commune("35236", "Redon", "35600", REDON)
    commune("35013", "Bains-sur-Oust", "35600", BAINS)
    commune("35085", "Combourg", "35270", COMBOURG)
    commune("35299", "Saint-Méloir-des-Ondes", "35350", (48.6358, -1.9047))
    commune("35145", "Langon", "35660", (47.7206, -1.8497))
    commune("33227", "Langon", "33210", (44.5531, -0.2494), departement="33")


def run(query, **kwargs):
    return search(SearchParams.from_query(QueryDict(query)), **kwargs)


def names(outcome):
    return [r.service.nom for r in outcome.results]


@pytest.mark.parametrize(
    "text",
    [
        "Saint-Malo",
        "saint malo",
        "SAINT-MALO",
        "St-Malo",
        "st malo",
        "35400",
        "35288",
        "Saint-Malo (35288)",
        "35400 Saint-Malo",
    ],
)
def test_commune_by_name_postcode_or_insee(bretagne, text):
    place = resolve(text)
    assert place is not None and place.code == "35288", text
    assert place.has_centre


def test_accents_and_hyphens_are_ignored(bretagne):
    assert resolve("saint meloir des ondes").code == "35299"
    assert resolve("Saint-Méloir-des-Ondes").code == "35299"
    assert resolve("bains sur oust").code == "35013"
    assert resolve("Redon").code == "35236"


def test_prefix_prefers_the_shortest_name(bretagne):
    assert resolve("Saint").code == "35288"  # « saint malo » avant « saint meloir des ondes »
    assert resolve("Comb").code == "35085"


def test_homonyms_prefer_the_agent_departement_or_the_hint(bretagne):
    assert resolve("Langon", departements={"35"}).code == "35145"
    assert resolve("Langon", departements={"33"}).code == "33227"
    assert resolve("Langon (33)").code == "33227"
    assert resolve("Langon (35)").code == "35145"


def test_shared_postcode_covers_every_commune(bretagne):
    place = resolve("35600")
    assert set(place.codes) == {"35236", "35013"}
    assert place.label == "35600 (Bains-sur-Oust, Redon)"
    # Centre entre les deux communes.
    assert REDON[0] < place.latitude < BAINS[0]
    # Un service réservé à Bains-sur-Oust est trouvé par le code postal.
    make_service(at=BAINS, nom="Permanence de Bains", zone_eligibilite=["35013"])
    assert "Permanence de Bains" in names(run("commune=35600"))
    assert resolve("35600 Redon").code == "35236"


def test_search_orders_by_distance_within_the_radius_then_remote(bretagne):
    make_service(at=DINARD, nom="Dinard : atelier CV")
    make_service(at=SAINT_MALO, nom="Saint-Malo : atelier CV")
    make_service(at=COMBOURG, nom="Combourg : atelier CV")  # ≈ 28 km
    make_service(nom="Atelier CV en visio")
    outcome = run("commune=saint-malo")
    assert outcome.params.rayon == 20  # rayon par défaut
    assert names(outcome) == ["Saint-Malo : atelier CV", "Dinard : atelier CV", "Atelier CV en visio"]
    assert [r.mode for r in outcome.results] == ["presentiel", "presentiel", "distance"]
    assert outcome.results[1].distance_label.startswith("à 3,")
    assert (outcome.in_person_count, outcome.remote_count) == (2, 1)
    wider = run("commune=35400&rayon=40")
    assert names(wider)[:3] == ["Saint-Malo : atelier CV", "Dinard : atelier CV", "Combourg : atelier CV"]
    assert names(run("commune=35288&rayon=40&distance=0"))[-1] == "Combourg : atelier CV"


def test_commune_known_only_from_the_territories(db):
    """Sans référentiel des communes : une commune d'un territoire, placée par les adresses du catalogue."""
    departement = DepartementFactory(departement_code="35")
    territory = Territory.objects.create(departement=departement, code="STMALO", name="Saint-Malo")
    TerritoryCommune.objects.create(
        territory=territory, insee_code="35288", postal_code="35400", name="Saint-Malo"
    )
    make_service(at=SAINT_MALO, nom="Saint-Malo : atelier CV", code_insee="35288", commune="Saint-Malo")
    for text in ("Saint-Malo", "saint malo", "35400", "35288"):
        place = resolve(text)
        assert place is not None and place.code == "35288" and place.has_centre, text
    assert names(run("commune=Saint-Malo")) == ["Saint-Malo : atelier CV"]
