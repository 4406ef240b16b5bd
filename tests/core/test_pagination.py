"""Pagination par curseur et totaux plafonnés (``parcours.core.pagination``), sur SQLite et PostgreSQL."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.beneficiaries.models import Beneficiary
from parcours.core.pagination import CappedCount, Key, capped_count, capped_counts, keyset_page
from tests.factories import BeneficiaryFactory

D = datetime.date

pytestmark = pytest.mark.django_db


def test_capped_count_label():
    assert CappedCount(0).label == "0"
    assert CappedCount(999).label == "999"
    assert CappedCount(1000).label == "1\u202f000"
    assert CappedCount(1001).label == "plus de 1\u202f000"
    assert CappedCount(1001).more and not CappedCount(1000).more
    assert CappedCount(12) == 12 and CappedCount(1001, cap=1000) != 1001
    assert not CappedCount(0) and CappedCount(3)


def test_capped_counts_read_at_most_cap_plus_one_rows_in_one_query():
    for i in range(5):
        BeneficiaryFactory(last_name=f"Nom{i}", is_sdd=i < 2)
    everyone = Beneficiary.objects.all()
    assert capped_count(everyone, cap=3).label == "plus de 3"
    assert capped_count(everyone, cap=10) == 5
    with CaptureQueriesContext(connection) as ctx:
        counts = capped_counts(
            {"all": everyone, "sdd": everyone.filter(is_sdd=True), "none": everyone.none()}, cap=3
        )
    assert len(ctx.captured_queries) == 1
    assert (counts["all"].more, counts["sdd"], counts["none"]) == (True, 2, 0)


def names(page):
    return [b.last_name for b in page]


def test_keyset_pages_forward_and_back_with_ties():
    for i in range(7):
        BeneficiaryFactory(last_name=f"Nom{i % 3}", first_name=f"P{i}")
    everyone = Beneficiary.objects.all()
    expected = list(everyone.order_by("last_name", "first_name", "pk"))
    ordering = ["last_name", "first_name", "pk"]
    first = keyset_page(everyone, ordering, per_page=3)
    second = keyset_page(everyone, ordering, after=first.next_cursor, per_page=3)
    third = keyset_page(everyone, ordering, after=second.next_cursor, per_page=3)
    assert list(first) + list(second) + list(third) == expected
    assert (first.is_first, first.has_previous, third.has_next) == (True, False, False)
    back = keyset_page(everyone, ordering, before=third.previous_cursor, per_page=3)
    assert list(back) == expected[3:6]
    again = keyset_page(everyone, ordering, before=back.previous_cursor, per_page=3)
    assert list(again) == expected[:3] and again.is_first


def test_keyset_nullable_and_descending_keys_match_the_database_order():
    """Valeurs nulles après les autres en ordre croissant, avant en décroissant, sur les deux moteurs."""
    for i, t0 in enumerate([D(2026, 3, 2), None, D(2026, 3, 1), None, D(2026, 3, 2), D(2026, 3, 3)]):
        BeneficiaryFactory(last_name=f"Nom{i}", new_entrant_t0=t0)
    everyone = Beneficiary.objects.all()
    for ordering in (
        ["new_entrant_t0", "pk"],
        ["-new_entrant_t0", "-pk"],
        [Key("new_entrant_t0", True, True), "pk"],
    ):
        keys = [Key(o.lstrip("-"), o.startswith("-"), True) if isinstance(o, str) else o for o in ordering]
        expected = list(everyone.order_by(*[k.order() for k in keys]))
        rows, page = [], keyset_page(everyone, ordering, per_page=2)
        while True:
            rows.extend(page)
            if not page.has_next:
                break
            page = keyset_page(everyone, ordering, after=page.next_cursor, per_page=2)
        assert rows == expected, ordering
    ascending = [
        b.new_entrant_t0 for b in everyone.order_by(Key("new_entrant_t0", nullable=True).order(), "pk")
    ]
    assert ascending[-2:] == [None, None]


def test_keyset_sections_are_read_one_after_the_other():
    for i in range(5):
        BeneficiaryFactory(last_name=f"Nom{i}", is_sdd=i % 2 == 0)
    everyone = Beneficiary.objects.all()
    sections = [everyone.filter(is_sdd=False), everyone.filter(is_sdd=True)]
    rows, page = [], keyset_page(sections, ["last_name", "pk"], per_page=2)
    while True:
        rows.extend(page)
        if not page.has_next:
            break
        page = keyset_page(sections, ["last_name", "pk"], after=page.next_cursor, per_page=2)
    assert names(rows) == ["Nom1", "Nom3", "Nom0", "Nom2", "Nom4"]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "W1swLFsiYSJdXQ",
        "WzAsWzEsMiwzXV0",
        "WzAsWyJOb20iLCJ4Il1d",
        "WzAsW3sieiI6MX0sMV1d",
        "x" * 3000,
    ],
)
def test_unreadable_or_forged_cursor_gives_the_first_page(cursor):
    BeneficiaryFactory(last_name="Nom")
    page = keyset_page(Beneficiary.objects.all(), ["last_name", "pk"], after=cursor, before=cursor)
    assert names(page) == ["Nom"] and page.is_first


def test_key_ordering_must_end_with_the_primary_key():
    with pytest.raises(ValueError, match="identifiant"):
        keyset_page(Beneficiary.objects.all(), ["last_name"])
