"""Extraction pseudonymisée pour l'évaluation : aucune donnée directement identifiante, pseudonymes stables
avec une clé donnée et différents d'une clé à l'autre, dates des étapes justes."""

import csv
import io

import pytest
from django.core.management import call_command

from parcours.audit.models import AccessLog
from parcours.indicators.definitions import beneficiary_scope
from parcours.indicators.evaluation import COLUMNS, write_evaluation_csv

from .conftest import D, person, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(flux, orient):
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    orient(person("alice"), D(2026, 3, 15), "emploi")


def _extract(key):
    out = io.StringIO()
    count = write_evaluation_csv(out, beneficiary_scope(), D(2026, 3, 1), D(2026, 3, 31), key=key)
    return count, list(csv.DictReader(io.StringIO(out.getvalue()), delimiter=";"))


def test_rows_carry_no_direct_identifier(march):
    count, rows = _extract(b"cle-evaluation")
    assert count == 2
    assert list(rows[0]) == COLUMNS
    alice, bruno = person("alice"), person("bruno")
    text = str(rows)
    for value in (alice.last_name, alice.first_name, alice.nir, bruno.last_name, bruno.nir):
        assert value and value not in text
    assert {r["pseudonyme"] for r in rows}.isdisjoint({str(alice.pk), str(bruno.pk)})
    by_orientation = {r["date_orientation"]: r for r in rows}
    oriented = by_orientation["2026-03-15"]
    assert (oriented["date_t0"], oriented["parcours"], oriented["delai_orientation_jours"]) == (
        "2026-03-01",
        "emploi",
        "14",
    )
    assert oriented["annee_naissance"] == str(alice.birth_date.year)
    assert by_orientation[""]["date_t0"] == "2026-03-01"


def test_pseudonyms_are_stable_with_a_key_and_unlinkable_across_keys(march):
    _, first = _extract(b"cle-A")
    _, again = _extract(b"cle-A")
    _, other = _extract(b"cle-B")
    assert {r["pseudonyme"] for r in first} == {r["pseudonyme"] for r in again}
    assert not {r["pseudonyme"] for r in first} & {r["pseudonyme"] for r in other}


def test_command_writes_the_file_and_logs_the_export(march, tmp_path):
    target = tmp_path / "evaluation.csv"
    out = io.StringIO()
    call_command(
        "export-evaluation", "--from", "2026-03-01", "--to", "2026-03-31", "--output", str(target), stdout=out
    )
    assert "2 lignes pseudonymisées écrites" in out.getvalue()
    assert target.read_text().splitlines()[0].split(";") == COLUMNS
    assert AccessLog.objects.filter(action="export", view="parcours export-evaluation").count() == 1
