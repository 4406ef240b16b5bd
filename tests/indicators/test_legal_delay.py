"""Indicateurs : « orienté dans le délai légal » de 6 semaines compté comme les files de l'orientation
(``orientation.delays``, Code de procédure civile art. 641) : T0 + 41 et T0 + 42 dans le délai, T0 + 43
au-delà ; sur le journal et sur la table de la cohorte (que lisent aussi les répartitions par organisation)."""

import datetime

import pytest

from parcours.indicators.definitions import (
    beneficiary_scope,
    cohort_queryset,
    compute_indicators,
    indicators_and_series,
    new_entrant_cohort,
)
from parcours.orientation import services as orientation

from .conftest import D, person, row

pytestmark = pytest.mark.django_db

T0 = D(2026, 3, 2)  # un lundi : réception du flux
DAY = datetime.timedelta(days=1)
MARCH = (D(2026, 3, 1), D(2026, 3, 31))


@pytest.fixture
def oriented_around_the_legal_deadline(flux, orient):
    """Alice notifiée à T0 + 41, Bruno à T0 + 42 (le lundi six semaines après T0), Chloé à T0 + 43."""
    flux(T0, row("alice"), row("bruno"), row("chloe"))
    for name, days in (("alice", 41), ("bruno", 42), ("chloe", 43)):
        orient(person(name), T0 + days * DAY)
    return {name: person(name) for name in ("alice", "bruno", "chloe")}


def test_t0_plus_42_is_within_the_legal_delay_43_is_beyond(departement, oriented_around_the_legal_deadline):
    values = compute_indicators(beneficiary_scope(departement=departement), *MARCH)
    assert values["distribution_delai_t0_orientation"] == {
        "objectif": 0,
        "delai_legal": 2,
        "au_dela": 1,
        "non_oriente": 0,
    }
    entries = {
        e.beneficiary_id: e for e in new_entrant_cohort(beneficiary_scope(departement=departement), *MARCH)
    }
    people = oriented_around_the_legal_deadline
    assert {name: entries[p.pk].orientation_days for name, p in people.items()} == {
        "alice": 41,
        "bruno": 42,
        "chloe": 43,
    }
    assert {name: entries[p.pk].bucket for name, p in people.items()} == {
        "alice": "delai_legal",
        "bruno": "delai_legal",
        "chloe": "au_dela",
    }


def test_the_indicator_and_the_orientation_service_agree(departement, oriented_around_the_legal_deadline):
    scope = beneficiary_scope(departement=departement)
    for entry in cohort_queryset(scope, *MARCH).values(
        "beneficiary_id", "occurred_on", "oriented_on", "bucket"
    ):
        assert entry["occurred_on"] == T0
        assert entry["bucket"] == orientation.orientation_timeliness(T0, entry["oriented_on"], departement)


def test_the_cohort_table_counts_the_same(departement, oriented_around_the_legal_deadline):
    scope = beneficiary_scope(departement=departement)
    values, _series = indicators_and_series(scope, *MARCH, table=True)
    assert values["distribution_delai_t0_orientation"]["delai_legal"] == 2
    assert values["distribution_delai_t0_orientation"]["au_dela"] == 1


def test_a_departement_with_another_legal_delay(departement, oriented_around_the_legal_deadline):
    departement.delay_overrides = {"orientation_legal_days": 41}
    departement.save()
    values = compute_indicators(beneficiary_scope(departement=departement), *MARCH)
    assert values["distribution_delai_t0_orientation"]["delai_legal"] == 1
    assert values["distribution_delai_t0_orientation"]["au_dela"] == 2
