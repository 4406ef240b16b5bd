"""Les moteurs s'accordent : mêmes définitions, exécutées par la base de Django ou par DuckDB sur un
export Parquet."""

from decimal import Decimal

import pytest

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind, EmploymentCheck, Exit
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from parcours.orientation import services as orientation

from .conftest import D, person, row

duckdb = pytest.importorskip("duckdb")

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def scenario(flux, orient, france_travail, referent, manager, held_appointment, hire):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe", commune="vitre"), row("david"))
    flux(
        D(2026, 4, 6),
        row("alice"),
        row("bruno"),
        row("chloe", commune="vitre"),
        row("david", state="5"),
        row("emma"),
    )
    alice, bruno, chloe, emma = (person(n) for n in ("alice", "bruno", "chloe", "emma"))
    held_appointment(alice, D(2026, 3, 9))
    orient(alice, D(2026, 3, 15), "emploi", organisation=france_travail)
    decision = orient(bruno, D(2026, 3, 5), "social")
    orientation.cancel_orientation(decision, author=manager, reason="Erreur", on=D(2026, 3, 6))
    orient(bruno, D(2026, 3, 16), "socio_professionnel")
    orient(emma, D(2026, 4, 10), "social")
    orientation.assign_referent(
        alice, referent=referent, organisation=france_travail, author=manager, started_on=D(2026, 3, 15)
    )
    accompaniment.save_diagnostic(alice, author=referent, can_see_sensitive=True, conducted_on=D(2026, 3, 18))
    contract = accompaniment.create_contract(
        alice, author=referent, kind=ContractKind.CER, weekly_hours=Decimal("18")
    )
    accompaniment.sign_contract(contract, actor=referent, on=D(2026, 3, 28))
    exit_ = Exit.objects.create(
        beneficiary=chloe, reason="emploi", exited_on=D(2026, 3, 20), contract_type="cdi"
    )
    EmploymentCheck.objects.create(
        exit=exit_, checked_on=D(2026, 9, 21), still_employed=True, is_six_month=True
    )
    hire(bruno, D(2026, 3, 25), "cdd", 3)  # contrat court sans sortie : table des embauches exportée


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 1, 1), D(2026, 12, 31)), (D(2025, 1, 1), D(2025, 1, 31))],
)
def test_duckdb_on_parquet_agrees_with_the_database(departement, scenario, tmp_path, start, end):
    from parcours.indicators.engines import DuckDBEngine, export_parquet

    export_parquet(tmp_path / "export")
    engine = DuckDBEngine(tmp_path / "export")
    try:
        for scope in (beneficiary_scope(), beneficiary_scope(departement=departement)):
            expected = compute_indicators(scope, start, end)
            assert compute_indicators(scope, start, end, engine=engine) == expected
    finally:
        engine.close()


def test_the_duckdb_figures_are_the_expected_ones(departement, scenario, tmp_path):
    from parcours.indicators.engines import DuckDBEngine, export_parquet

    engine = DuckDBEngine(export_parquet(tmp_path / "export"))
    values = compute_indicators(beneficiary_scope(), D(2026, 3, 1), D(2026, 4, 30), engine=engine)
    engine.close()
    assert values["nouveaux_entrants"] == 5
    assert (
        values["nouveaux_entrants_orientes_15j"] == 2
    )  # Alice le 15/03, Emma le 10/04 ; Bruno annulé puis tard
    assert values["repartition_parcours"] == {
        "emploi": 1,
        "socio_professionnel": 1,
        "social": 1,
        "non_oriente": 2,
    }
    assert values["contrats_signes"]["cer"] == 1
    assert values["part_accompagnement_intensif"] == 1
    assert values["sortants"] == 2  # David radié, Chloé sortie vers l'emploi
    assert values["taux_retour_emploi_durable_6m"] == 1
    assert values["delai_median_diagnostic_premiere_action_jours"] == 10
    assert values["progression_employabilite"]["contrat_court"] == 1  # Bruno : CDD de 3 mois, sans sortie


def test_command_line_export_then_compute_with_duckdb(departement, scenario, tmp_path):
    import io
    import json

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("indicators-export", str(tmp_path / "export"), "--json", stdout=out)
    tables = json.loads(out.getvalue())["tables"]
    assert "journal_event" in tables and "employers_hiring" in tables
    out = io.StringIO()
    args = ["--from", "2026-03-01", "--to", "2026-04-30"]
    call_command("indicators", *args, "--parquet", str(tmp_path / "export"), stdout=out)
    from_duckdb = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("indicators", *args, stdout=out)
    assert from_duckdb == json.loads(out.getvalue())
    with pytest.raises(CommandError, match="export"):
        call_command("indicators", *args, "--parquet", str(tmp_path / "vide"), stdout=io.StringIO())
