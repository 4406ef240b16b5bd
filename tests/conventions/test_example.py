"""La convention 2024 d'Ille-et-Vilaine (document 002) chargée en exemple reproduit les montants du document."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from parcours.conventions.examples import load_convention_example
from parcours.conventions.models import (
    ActionPartner,
    ActionSheet,
    BudgetLine,
    Convention,
    EligibilityRule,
    ExpenseNature,
)
from parcours.conventions.services import budget_table, record_expense
from tests.conventions.conftest import sheet

pytestmark = pytest.mark.django_db
D = Decimal

# Annexe 1 du document 002 : « PART ETAT » et « PART DEPARTEMENT » de chaque fiche action.
SHEETS_2024 = {
    1: ("Accompagnement renforcé des bénéficiaires du RSA", "137000.00"),
    2: ("Dispositif Premières Heures en Chantier", "206500.00"),
    3: ("Favoriser la reprise d'emploi des BRSA", "110127.00"),
    4: (
        "Formation des personnes très éloignées de l'emploi aux métiers du secteur social et médico-social",
        "64000.00",
    ),
    5: ("Accompagnement des personnes éloignées de l'emploi dans le champ de la santé mentale", "15000.00"),
    6: (
        "Horizon, un incubateur solidaire pour l'insertion et l'emploi dans le secteur de l'habitat",
        "27043.00",
    ),
    7: ("Accompagnement socio-professionnel et parentalité", "15000.00"),
    8: ("UFOPEPS 100 % Féminin", "25000.00"),
    9: ("Référencement de l'offre d'insertion dans DORA", "25000.00"),
}


@pytest.mark.parametrize("number", sorted(SHEETS_2024))
def test_each_action_sheet_matches_the_document(example, number):
    title, part = SHEETS_2024[number]
    rows = {row.number: row for vb in budget_table(example).volets for row in vb.rows if row.action_sheet}
    row = rows[number]
    assert row.action_sheet.title == title
    assert row.action_sheet.volet.number == 2
    assert row.state == D(part)
    assert row.departement == D(part)
    assert row.total == 2 * D(part)


def test_volet_totals_match_article_4_1_and_annex_2(example):
    budget = budget_table(example)
    v1, v2 = budget.volets
    assert (v1.volet.number, v1.state, v1.volet.max_state_amount, v1.volet.is_lump_sum) == (
        1,
        D("106000.00"),
        D("106000.00"),
        True,
    )
    assert (v2.state, v2.departement, v2.total) == (D("624670.00"), D("624670.00"), D("1249340.00"))
    assert v2.volet.max_state_amount == D("624670.00")
    assert v2.volet.state_share_rate == D("0.5")
    assert v2.volet.departement_ceiling == D("625393.00")
    assert budget.state == D("730670.00")
    assert budget.max_state_amount == D("730670.00")
    assert budget.issues == []


def test_financing_plan_rubrics_of_annex_2(example):
    v1, v2 = budget_table(example).volets
    assert [(s.title, s.state) for s in v1.sections] == [
        ("Renforcement des équipes locales CD (ETP CD)", D("85000.00")),
        ("Développement SI", D("21000.00")),
    ]
    assert [([r.number for r in s.rows], s.total) for s in v2.sections] == [
        ([1, 3, 4], D("622254.00")),
        ([6, 8], D("104086.00")),
        ([2, 5, 7], D("473000.00")),
        ([9], D("50000.00")),
    ]


def test_budget_lines_per_partner(example):
    lines = {
        (
            line.action_sheet.number,
            line.partner.display_name if line.partner else line.label,
        ): line.state_amount
        for line in BudgetLine.objects.filter(action_sheet__convention=example).select_related("partner")
    }
    assert lines[(1, "BGE Bretagne")] == D("98000.00")
    assert lines[(1, "Elan Créateur")] == D("10000.00")
    assert lines[(1, "Armada Productions")] == D("5000.00")
    assert lines[(2, "Compagnons Bâtisseurs Bretagne")] == D("49000.00")
    assert lines[(2, "Lever de Rideau")] == D("22500.00")
    assert lines[(3, "Équilibre emploi : financement d'un ETP")] == D("45000.00")
    assert lines[(3, "SINAD")] == D("4127.00")
    clps = BudgetLine.objects.filter(action_sheet=sheet(example, 4), partner__name="CLPS")
    assert sorted(line.state_amount for line in clps) == [D("4000.00"), D("30000.00")]
    cofunders = ActionPartner.objects.filter(action_sheet=sheet(example, 5), role="cofunder")
    assert sorted(p.name for p in cofunders) == ["CCAS de Rennes", "CHGR", "DREETS"]


def test_convention_parties_period_and_deadlines(example):
    assert example.starts_on == datetime.date(2024, 1, 1)
    assert example.ends_on == datetime.date(2024, 12, 31)
    assert "Philippe GUSTIN" in example.state_party
    assert "Jean-Luc CHENUT" in example.departement_party
    assert example.advance_rate == D("0.6")
    assert [(d.kind, d.due_on) for d in example.report_deadlines.all()] == [
        ("final", datetime.date(2025, 3, 31))
    ]
    assert set(EligibilityRule.objects.filter(convention=example).values_list("nature", flat=True)) == {
        "overheads",
        "mission_costs",
        "evaluation_service",
        "training_service",
        "project_management_service",
        "investment",
    }
    ufopeps = sheet(example, 8)
    assert (ufopeps.starts_on, ufopeps.start_text) == (datetime.date(2024, 4, 1), "Avril 2024")


def test_loading_twice_changes_nothing_and_keeps_expenses(example):
    expense = record_expense(
        example,
        action_sheet=sheet(example, 5),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Participation versée à l'APASE",
        amount=D("15000.00"),
        period_start=datetime.date(2024, 3, 1),
        purpose="PEM'S",
    )
    counts = (ActionSheet.objects.count(), BudgetLine.objects.count(), ActionPartner.objects.count())
    convention, created = load_convention_example()
    assert not created and convention == example
    assert Convention.objects.count() == 1
    assert (ActionSheet.objects.count(), BudgetLine.objects.count(), ActionPartner.objects.count()) == counts
    assert convention.expenses.get() == expense
    assert budget_table(convention).state == D("730670.00")


def test_command_prints_the_totals(db, capsys):
    call_command("conventions-example", "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["created"] is True
    assert payload["state_total"] == "730670.00"
    assert payload["volets"]["1"]["state"] == "106000.00"
    assert payload["volets"]["2"]["state"] == "624670.00"
    assert payload["volets"]["2"]["action_sheets"]["6"] == {"state": "27043.00", "departement": "27043.00"}
    call_command("conventions-example")
    out = capsys.readouterr().out
    assert "mise à jour" in out
    assert "Total État : 730\u202f670,00\u00a0€" in out
