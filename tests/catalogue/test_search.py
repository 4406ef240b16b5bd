"""Recherche des référents : distance, thématiques, publics, types, frais, texte libre, zones d'éligibilité."""

import pytest
from django.http import QueryDict

from parcours.catalogue.search import SearchParams, map_points, search

from .conftest import HAZEBROUCK, LILLE, ROUBAIX, make_service, make_structure

pytestmark = pytest.mark.django_db


def run(query="", **kwargs):
    return search(SearchParams.from_query(QueryDict(query)), **kwargs)


def names(outcome):
    return [r.service.nom for r in outcome.results]


@pytest.fixture
def around_lille(communes):
    """Services en présentiel à Lille, Roubaix (≈ 11 km), Hazebrouck (≈ 37 km), et un service à distance."""
    return {
        "lille": make_service(at=LILLE, nom="Lille : accompagnement emploi", quality_score=0.2),
        "roubaix": make_service(at=ROUBAIX, nom="Roubaix : accompagnement emploi", quality_score=0.9),
        "hazebrouck": make_service(at=HAZEBROUCK, nom="Hazebrouck : accompagnement emploi"),
        "remote": make_service(nom="Accompagnement emploi en visio", quality_score=1),
    }


def test_in_person_by_distance_then_remote(around_lille):
    outcome = run("commune=59350&rayon=20")

    assert names(outcome) == [
        "Lille : accompagnement emploi",
        "Roubaix : accompagnement emploi",
        "Accompagnement emploi en visio",
    ]
    lille, roubaix, remote = outcome.results
    assert lille.distance_km < 1 and 10 < roubaix.distance_km < 13
    assert roubaix.distance_label.startswith("à 11,")
    assert (lille.mode, remote.mode, remote.distance_km) == ("presentiel", "distance", None)
    assert outcome.in_person_count == 2
    assert [r.rank for r in outcome.results] == [1, 2, 3]


def test_radius_widens_the_search(around_lille):
    assert "Hazebrouck : accompagnement emploi" not in names(run("commune=59350&rayon=20"))
    assert names(run("commune=59350&rayon=50"))[2] == "Hazebrouck : accompagnement emploi"


def test_remote_services_can_be_excluded(around_lille):
    assert "Accompagnement emploi en visio" not in names(run("commune=59350&rayon=50&distance=0"))


def test_commune_by_postal_code_or_name(around_lille):
    assert run("commune=59000").place.code == "59350"
    assert run("commune=lille").place.code == "59350"
    assert run("commune=Lille (59350)").place.label == "Lille (59350)"
    unknown = run("commune=Atlantide")
    assert unknown.place is None
    assert "Commune « Atlantide » introuvable" in unknown.messages[0]


def test_without_commune_all_services_by_quality(around_lille):
    outcome = run("")
    assert names(outcome)[:2] == ["Accompagnement emploi en visio", "Roubaix : accompagnement emploi"]
    assert outcome.total == 4


def test_service_without_coordinates_placed_at_its_commune_centre(communes):
    make_service(nom="Permanence à Roubaix", modes_accueil=["en-presentiel"], code_insee="59512")

    (result,) = run("commune=59350&rayon=20").results

    assert result.approximate_position
    assert 10 < result.distance_km < 13


def test_category_expands_to_its_thematiques(communes):
    make_service(at=LILLE, nom="Code de la route", thematiques=["mobilite--preparer-un-permis"])
    make_service(
        at=LILLE, nom="Réparer sa voiture", thematiques=["mobilite--entretenir-reparer-son-vehicule"]
    )
    make_service(at=LILLE, nom="Garde d'enfants", thematiques=["famille--garde-denfants"])

    assert sorted(names(run("commune=59350&thematiques=mobilite"))) == [
        "Code de la route",
        "Réparer sa voiture",
    ]
    assert names(run("commune=59350&thematiques=mobilite--preparer-un-permis")) == ["Code de la route"]
    both = run("commune=59350&thematiques=mobilite--preparer-un-permis&thematiques=famille--garde-denfants")
    assert sorted(names(both)) == ["Code de la route", "Garde d'enfants"]


def test_commune_radius_and_thematique_combined(around_lille):
    make_service(at=LILLE, nom="Lille : garde d'enfants", thematiques=["famille--garde-denfants"])
    make_service(at=HAZEBROUCK, nom="Hazebrouck : garde d'enfants", thematiques=["famille--garde-denfants"])
    make_service(nom="Garde d'enfants : conseils à distance", thematiques=["famille--garde-denfants"])

    outcome = run("commune=59350&rayon=20&thematiques=famille")

    assert names(outcome) == ["Lille : garde d'enfants", "Garde d'enfants : conseils à distance"]


def test_publics_types_and_frais(communes):
    make_service(at=LILLE, nom="Pour les jeunes", publics=["jeunes"], type="atelier", frais="gratuit")
    make_service(at=LILLE, nom="Pour tous", publics=["tous-publics"], type="accompagnement", frais="payant")
    make_service(at=LILLE, nom="Pour les seniors", publics=["seniors"], type="atelier", frais="gratuit")

    assert sorted(names(run("commune=59350&publics=jeunes"))) == ["Pour les jeunes", "Pour tous"]
    assert sorted(names(run("commune=59350&types=atelier"))) == ["Pour les jeunes", "Pour les seniors"]
    assert names(run("commune=59350&frais=payant")) == ["Pour tous"]
    outcome = run("commune=59350&publics=inconnu&types=atelier")
    assert "Valeur inconnue ignorée (publics) : inconnu." in outcome.messages


def test_full_text_ignores_accents_case_and_plurals(communes):
    structure = make_structure(nom="Insersol")
    make_service(structure, at=LILLE, nom="Atelier de réparation de vélos", description="Autoréparation.")
    make_service(at=LILLE, nom="Épicerie solidaire", description="Aide alimentaire à petits prix.")

    assert names(run("commune=59350&q=VELO")) == ["Atelier de réparation de vélos"]
    assert names(run("commune=59350&q=ateliers reparation")) == ["Atelier de réparation de vélos"]
    assert names(run("q=epicerie")) == ["Épicerie solidaire"]
    assert names(run("q=insersol")) == ["Atelier de réparation de vélos"]  # nom de la structure
    assert names(run("q=piscine")) == []


@pytest.mark.parametrize(
    ("zone", "eligible_in_lille"),
    [
        (None, True),  # pas de zone connue : pas de restriction
        (["59350"], True),  # la commune
        (["59"], True),  # son département
        (["200093201"], True),  # son EPCI (Métropole européenne de Lille)
        (["france"], True),
        (["99100"], True),  # code pays France
        (["59512"], False),  # Roubaix seulement
        (["75"], False),  # Paris
        (["246700488"], False),  # Eurométropole de Strasbourg
    ],
)
def test_eligibility_zone_respected(communes, zone, eligible_in_lille):
    make_service(at=ROUBAIX, nom="Service sous condition de résidence", zone_eligibilite=zone)
    make_service(nom="Service à distance sous condition", zone_eligibilite=zone)

    outcome = run("commune=59350&rayon=30")

    assert (outcome.total == 2) is eligible_in_lille
    assert (outcome.total == 0) is not eligible_in_lille


def test_eligibility_checked_in_roubaix_too(communes):
    make_service(at=LILLE, nom="Réservé aux Roubaisiens", zone_eligibilite=["59512"])
    assert names(run("commune=59512&rayon=30")) == ["Réservé aux Roubaisiens"]
    assert names(run("commune=59350&rayon=30")) == []


def test_inactive_services_and_structures_hidden(communes):
    gone = make_service(at=LILLE, nom="Service fermé", is_active=False)
    closed = make_structure(is_active=False)
    make_service(closed, at=LILLE, nom="Structure fermée")
    assert names(run("commune=59350")) == []
    assert gone.pk


def test_pagination_runs_from_in_person_into_remote(communes):
    for km in range(5):
        make_service(at=(LILLE[0] + km * 0.01, LILLE[1]), nom=f"Présentiel {km}")
    for n in range(4):
        make_service(nom=f"À distance {n}", quality_score=n / 10)

    first = run("commune=59350&rayon=10", page_size=3)
    second = run("commune=59350&rayon=10&page=2", page_size=3)
    third = run("commune=59350&rayon=10&page=3", page_size=3)

    assert (first.total, first.pages) == (9, 3)
    assert names(first) == ["Présentiel 0", "Présentiel 1", "Présentiel 2"]
    assert names(second) == ["Présentiel 3", "Présentiel 4", "À distance 3"]
    assert names(third) == ["À distance 2", "À distance 1", "À distance 0"]
    assert [r.rank for r in third.results] == [7, 8, 9]


def test_filters_round_trip_through_the_url(communes):
    query = "commune=59350&rayon=15&thematiques=mobilite&publics=jeunes&types=atelier&frais=gratuit&q=vélo&distance=0"
    params = SearchParams.from_query(QueryDict(query))
    again = SearchParams.from_query(QueryDict(params.to_query()))
    assert again == params
    assert params.rayon == 15 and not params.include_remote
    assert SearchParams.from_query(QueryDict("rayon=1000")).rayon == 200
    assert (
        "Rayon « loin » invalide : 20 km retenus." in SearchParams.from_query(QueryDict("rayon=loin")).errors
    )


def test_map_places_results_around_the_centre(around_lille):
    outcome = run("commune=59350&rayon=20")
    drawing = map_points(outcome)
    lille, roubaix = drawing["points"]
    assert (lille["x"], lille["y"]) == (200, 200)
    assert roubaix["x"] > 200 and roubaix["y"] < 200  # au nord-est
    assert map_points(run("")) is None


def test_search_indexes_created_by_migration_on_postgresql(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("index GIN propres à PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'catalogue_service'")
        indexes = dict(cursor.fetchall())
    assert "string_to_array(thematiques_index" in indexes["catalogue_service_them_gin"]
    assert "catalogue_service_remote_idx" in indexes
