"""``parcours indicators`` (CONTRACTS.md) : JSON par identifiant, CSV, XLSX, erreurs en une ligne."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from parcours.indicators.definitions import INDICATOR_IDS

from .conftest import D, person, row

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("indicators", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def annex4(flux, orient):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe", commune="vitre"))
    orient(person("alice"), D(2026, 3, 15))
    orient(person("bruno"), D(2026, 3, 16))


def test_json_is_one_object_keyed_by_indicator_id(annex4):
    data = json.loads(run("--from", "2026-03-01", "--to", "2026-03-31"))
    assert list(data) == INDICATOR_IDS
    assert data["nouveaux_entrants"] == 3
    assert data["nouveaux_entrants_orientes_15j"] == 1
    assert data["taux_orientation_15j"] == pytest.approx(1 / 3)
    assert data["repartition_parcours"] == {
        "emploi": 2,
        "socio_professionnel": 0,
        "social": 0,
        "non_oriente": 1,
    }
    assert data["delai_median_diagnostic_premiere_action_jours"] is None


def test_empty_period_gives_zero_counts_and_null_rates(annex4):
    data = json.loads(run("--from", "2025-01-01", "--to", "2025-01-31", "--format", "json"))
    assert data["nouveaux_entrants"] == 0
    assert data["taux_orientation_15j"] is None
    assert data["delai_median_t0_orientation_jours"] is None


def test_territory_option(annex4):
    data = json.loads(run("--from", "2026-03-01", "--to", "2026-03-31", "--territory", "VITRE"))
    assert data["nouveaux_entrants"] == 1
    assert data["taux_orientation_15j"] == 0


def test_csv_and_xlsx(annex4, tmp_path):
    text = run("--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv")
    rows = {
        r["indicateur"]: r["valeur"]
        for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    }
    assert rows["nouveaux_entrants"] == "3"
    assert rows["taux_orientation_15j"] == "0.3333"
    target = tmp_path / "indicateurs.xlsx"
    run("--from", "2026-03-01", "--to", "2026-03-31", "--format", "xlsx", "--output", str(target))
    sheet = load_workbook(target)["Indicateurs"]
    assert {r[0]: r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}["nouveaux_entrants"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-31", "--to", "2026-03-01"], "fin précède"),
        (["--from", "01/03/2026", "--to", "2026-03-31"], "AAAA-MM-JJ"),
        (["--from", "2026-03-01", "--to", "2026-03-31", "--territory", "NULLEPART"], "inconnu"),
        (["--from", "2026-03-01", "--to", "2026-03-31", "--departement", "99"], "inconnu"),
        (["--from", "2026-03-01", "--to", "2026-03-31", "--format", "pdf"], "pdf"),
    ],
)
def test_bad_input_is_a_one_line_error(departement, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
