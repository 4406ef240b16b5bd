"""Délai légal d'orientation de 6 semaines (CASF D262-65-2) compté selon l'article 641 du Code de procédure
civile : depuis T0 (un lundi), il expire le lundi six semaines plus tard, T0 + 42, encore dans les temps ; le
retard commence à T0 + 43. Par les fonctions de l'orientation (``orientation.delays``, files de travail) et
par la page de la personne."""

import datetime
from html import unescape

import pytest
from django.urls import reverse

from parcours.beneficiaries.models import Beneficiary
from parcours.orientation import delays, services
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
T0 = D(2026, 3, 2)  # un lundi
DAY = datetime.timedelta(days=1)


def test_t0_is_a_monday_and_the_last_day_is_the_same_weekday():
    legal_end = services.deadlines(T0)[1]
    assert T0.weekday() == 0 and legal_end.weekday() == 0
    assert legal_end == T0 + 42 * DAY == D(2026, 4, 13)


@pytest.mark.parametrize(
    "days,expected",
    [(41, "delai_legal"), (42, "delai_legal"), (43, "au_dela")],
)
def test_orientation_on_t0_plus_41_and_42_is_in_time_43_is_late(departement, days, expected):
    assert services.orientation_timeliness(T0, T0 + days * DAY, departement) == expected


def test_target_of_15_days_still_counts_t0_as_day_one(departement):
    assert services.orientation_timeliness(T0, T0 + 14 * DAY, departement) == "objectif"
    assert services.orientation_timeliness(T0, T0 + 15 * DAY, departement) == "delai_legal"
    assert services.orientation_timeliness(T0, None, departement) == "non_oriente"


@pytest.mark.parametrize("days,left", [(41, 1), (42, 0), (43, -1)])
def test_queues_count_the_same_last_day(departement, days, left):
    person = BeneficiaryFactory(departement=departement, new_entrant_t0=T0)
    row = services.with_days_left(Beneficiary.objects.filter(pk=person.pk), T0 + days * DAY).get()
    assert row.days_left_legal == left  # 0 : dernier jour dans les temps ; < 0 : en retard


def test_the_legal_delay_is_a_setting_per_departement(departement):
    departement.delay_overrides = {"orientation_legal_days": 56}  # 8 semaines
    departement.save()
    assert services.deadlines(T0, departement)[1] == T0 + 56 * DAY
    assert services.orientation_timeliness(T0, T0 + 56 * DAY, departement) == "delai_legal"
    assert services.orientation_timeliness(T0, T0 + 57 * DAY, departement) == "au_dela"


def test_one_rule_written_once():
    # La même fonction sert en Python et en SQL (entier ou expression de la base).
    assert delays.legal_last_day_offset(42) == 42
    assert delays.target_last_day_offset(15) == 14


@pytest.mark.parametrize(
    "today,badge",
    [
        (D(2026, 4, 12), "légal : 1 jour"),  # T0 + 41
        (D(2026, 4, 13), "légal : 0 jour"),  # T0 + 42 : dernier jour
        (D(2026, 4, 14), "Délai légal dépassé de 1 jour"),  # T0 + 43
    ],
)
def test_person_page_shows_the_legal_deadline_and_late_from_t0_plus_43(
    client, departement, manager, frozen, today, badge
):
    person = BeneficiaryFactory(departement=departement, new_entrant_t0=T0)
    frozen(today.year, today.month, today.day)
    client.force_login(manager)
    html = unescape(client.get(reverse("orientation:panel", args=[person.pk])).content.decode())
    assert "<dt>Délai légal</dt><dd>13/04/2026</dd>" in html
    assert badge in html
