"""Jours fériés calculés sans réseau, créneaux calculés à la demande (fermetures, prévenance, places)."""

import datetime

import pytest

from parcours.booking import slots
from parcours.booking.holidays import easter_sunday, french_holidays, is_holiday
from parcours.booking.models import Closure, Purpose
from tests.booking.conftest import at, make_opening

D = datetime.date


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)), (2026, D(2026, 4, 5)), (2027, D(2027, 3, 28))],
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_french_holidays_2026():
    days = french_holidays(2026)
    assert len(days) == 11
    assert days[D(2026, 4, 6)] == "Lundi de Pâques"
    assert days[D(2026, 5, 14)] == "Ascension"
    assert days[D(2026, 5, 25)] == "Lundi de Pentecôte"
    assert {
        D(2026, 1, 1),
        D(2026, 5, 1),
        D(2026, 5, 8),
        D(2026, 7, 14),
        D(2026, 11, 11),
        D(2026, 12, 25),
    } <= set(days)
    assert not is_holiday(D(2026, 12, 26))


def test_alsace_moselle_has_good_friday_and_saint_stephen():
    assert is_holiday(D(2026, 4, 3), "67") and is_holiday(D(2026, 12, 26), "57")
    assert not is_holiday(D(2026, 4, 3), "35")


@pytest.mark.django_db
def test_slots_of_a_week_skip_holidays_closures_and_short_notice(departement, referent):
    opening = make_opening(departement, agent=referent)  # mardi 9 h-12 h, 45 min
    other = make_opening(
        departement, weekday=3, start_time=datetime.time(14, 0), end_time=datetime.time(15, 0)
    )
    # Mardi 7 avril 2026 : lendemain du lundi de Pâques, ouvert ; l'agent est en congé le mardi 14 avril.
    Closure.objects.create(
        organisation=departement,
        agent=referent,
        starts_on=D(2026, 4, 14),
        ends_on=D(2026, 4, 14),
        reason="Congé",
    )
    found = slots.free_slots(
        [opening, other], D(2026, 4, 6), D(2026, 4, 16), now=at(2026, 4, 6, 8), notice_hours=24
    )
    starts = [(s.opening.pk, s.starts_at) for s in found]
    assert starts[:4] == [
        (opening.pk, at(2026, 4, 7, h, m)) for h, m in ((9, 0), (9, 45), (10, 30), (11, 15))
    ]
    assert (other.pk, at(2026, 4, 9, 14)) in starts and (other.pk, at(2026, 4, 16, 14)) in starts
    assert not [s for s in found if s.starts_at.date() == D(2026, 4, 14)]  # congé de l'agent
    # Jour férié : l'Ascension (jeudi 14 mai) n'a aucun créneau ; une fermeture de l'organisation ferme tout.
    may = slots.free_slots([other], D(2026, 5, 11), D(2026, 5, 15), now=at(2026, 5, 1))
    assert may == []
    Closure.objects.create(
        organisation=departement, starts_on=D(2026, 4, 9), ends_on=D(2026, 4, 9), reason="Séminaire"
    )
    found = slots.free_slots([other], D(2026, 4, 6), D(2026, 4, 10), now=at(2026, 4, 6, 8))
    assert found == []
    # Prévenance : le mardi 7 avril à 9 h, à moins de 24 h, n'est plus proposé le 6 avril à 10 h.
    late = slots.free_slots([opening], D(2026, 4, 7), D(2026, 4, 7), now=at(2026, 4, 6, 10), notice_hours=24)
    assert [s.starts_at for s in late] == [at(2026, 4, 7, 10, 30), at(2026, 4, 7, 11, 15)]


@pytest.mark.django_db
def test_validity_dates_and_slot_keys(departement):
    opening = make_opening(
        departement,
        purpose=Purpose.COLLECTIVE,
        capacity=10,
        slot_minutes=120,
        valid_from=D(2026, 3, 10),
        valid_to=D(2026, 3, 24),
    )
    found = slots.free_slots([opening], D(2026, 3, 1), D(2026, 3, 31), now=at(2026, 3, 1))
    assert [s.starts_at for s in found] == [at(2026, 3, 10, 9), at(2026, 3, 17, 9), at(2026, 3, 24, 9)]
    assert found[0].remaining == 10
    assert slots.parse_key(found[0].key) == (opening.pk, at(2026, 3, 10, 9))
    assert slots.parse_key("12-pas-une-date") is None
    assert slots.is_open_slot(opening, at(2026, 3, 10, 9))
    assert not slots.is_open_slot(opening, at(2026, 3, 10, 9, 30))  # pas un début de créneau
    assert not slots.is_open_slot(opening, at(2026, 3, 31, 9))  # après la fin de validité
