"""Bilan financier : cellules du classeur relues avec openpyxl, contre le document 002 et un exemple calculé."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from parcours.conventions.models import PaymentKind
from parcours.conventions.reports import ANNEX_COLUMNS, financial_report_pdf, financial_report_xlsx
from parcours.conventions.services import record_payment

pytestmark = pytest.mark.django_db
D = Decimal


def workbook(convention):
    return load_workbook(io.BytesIO(financial_report_xlsx(convention)))


def values(ws, row, first="A", last="G"):
    return [cell.value for cell in ws[f"{first}{row}:{last}{row}"][0]]


def test_workbook_sheets(example):
    wb = workbook(example)
    assert wb.sheetnames == [
        "Synthèse",
        "Volet 1",
        "Volet 2",
        "Non éligibles",
        "Plan de financement",
        "Budget par partenaire",
    ]


def test_financing_plan_sheet_reproduces_the_document_cell_by_cell(example):
    ws = workbook(example)["Plan de financement"]
    assert values(ws, 3) == [
        "Volet",
        "Rubrique",
        "Fiche action",
        "Intitulé / objet",
        "Part État",
        "Part Département",
        "Coût total",
    ]
    # Volet 1 : trois lignes du plan de financement, forfait de 106 000 €.
    assert [ws[f"E{r}"].value for r in (4, 5, 6)] == [45000, 40000, 21000]
    assert values(ws, 7, "A", "A") + values(ws, 7, "E", "G") == ["Total volet 1", 106000, 0, 106000]
    assert values(ws, 8, "A", "A") + values(ws, 8, "E", "E") == [
        "Montant maximum de l'État — volet 1",
        106000,
    ]
    # Volet 2 : les neuf fiches actions dans l'ordre des rubriques de l'annexe 2.
    expected = [
        ("Fiche action 1", 137000),
        ("Fiche action 3", 110127),
        ("Fiche action 4", 64000),
        ("Fiche action 6", 27043),
        ("Fiche action 8", 25000),
        ("Fiche action 2", 206500),
        ("Fiche action 5", 15000),
        ("Fiche action 7", 15000),
        ("Fiche action 9", 25000),
    ]
    for row, (label, part) in enumerate(expected, start=10):
        assert ws[f"A{row}"].value == "Volet 2"
        assert ws[f"C{row}"].value == label
        assert (ws[f"E{row}"].value, ws[f"F{row}"].value, ws[f"G{row}"].value) == (part, part, 2 * part)
    assert ws["B10"].value == "Étoffer l'offre de solutions locales — solutions d'accompagnement"
    assert ws["D11"].value == "Favoriser la reprise d'emploi des BRSA"
    assert values(ws, 19, "A", "A") + values(ws, 19, "E", "G") == ["Total volet 2", 624670, 624670, 1249340]
    assert values(ws, 20, "A", "A") + values(ws, 20, "E", "E") == [
        "Montant maximum de l'État — volet 2",
        624670,
    ]
    assert values(ws, 22, "A", "A") + values(ws, 22, "E", "G") == [
        "Total de la convention",
        730670,
        624670,
        1355340,
    ]
    assert ws["E19"].number_format == '#,##0.00 "€"'


def test_partner_sheet_lists_state_and_departement_parts(example):
    ws = workbook(example)["Budget par partenaire"]
    rows = [values(ws, r, "A", "F") for r in range(2, ws.max_row + 1)]
    assert ["Fiche action 1", "BGE Bretagne", "Participation versée à la BGE", 98000, 98000, 196000] in rows
    assert ["Fiche action 3", "SINAD", "Sinademploi : participation versée à SINAD", 4127, 4127, 8254] in rows
    assert sum(r[3] for r in rows) == 730670


def test_annex_3_volet_sheets_with_the_hand_computed_example(hand_example):
    record_payment(
        hand_example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402.00")
    )
    wb = workbook(hand_example)

    v1 = wb["Volet 1"]
    assert v1["A1"].value == (
        "État des dépenses — Convention pour l'insertion et l'emploi dans le cadre de la réforme "
        "France Travail — 2024"
    )
    assert v1["A2"].value == "VOLET 1 — Préparer la mise en place de la réforme France Travail"
    assert values(v1, 5) == ANNEX_COLUMNS
    assert v1["A6"].value == "Dépenses relatives au renforcement des équipes locales CD"
    assert values(v1, 7) == [
        "Rémunération chef de projet",
        "mois",
        12,
        3750,
        "01/01/2024 – 31/12/2024",
        "Chargée de mission accompagnement rénové (1 ETP)",
        45000,
    ]
    assert values(v1, 8, "A", "A") + values(v1, 8, "G", "G") == [
        "Sous-total — Dépenses relatives au renforcement des équipes locales CD",
        45000,
    ]
    assert v1["A9"].value == "Dépenses relatives au paramétrage SI en vue de l'interopérabilité"
    assert (v1["A10"].value, v1["G10"].value) == (
        "Sous-total — Dépenses relatives au paramétrage SI en vue de l'interopérabilité",
        0,
    )
    assert [(v1[f"A{r}"].value, v1[f"G{r}"].value) for r in range(12, 17)] == [
        ("Total des dépenses éligibles du volet 1", 45000),
        ("Dépenses non éligibles (voir l'onglet « Non éligibles »)", 320.5),
        ("Part de l'État (Forfait de l'État)", 45000),
        ("Montant maximum de l'État pour le volet", 106000),
        ("Montant retenu au titre de l'État", 45000),
    ]

    v2 = wb["Volet 2"]
    assert v2["A6"].value == "Dépenses relatives au renforcement des solutions locales d'accompagnement"
    assert values(v2, 7) == [
        "Fiche action 1 : Participation versée à la BGE",
        None,
        None,
        None,
        "15/02/2024",
        "Accompagnement renforcé des travailleurs indépendants",
        98000,
    ]
    assert v2["G8"].value == 98000  # sous-total de la rubrique 1
    assert v2["A9"].value == "Dépenses relatives à la remobilisation / entrée en parcours"
    assert v2["G10"].value == 0  # la location de salle (FA 8) est exclue
    assert v2["A11"].value == "Dépenses relatives à la levée des freins socio-professionnels"
    assert (v2["A12"].value, v2["G12"].value) == (
        "Fiche action 2 : Participation versée à Emmaüs Rennes",
        45000,
    )
    assert v2["G13"].value == 45000
    assert v2["A14"].value == "Dépenses relatives au référencement de l'offre de solutions locales"
    assert v2["G15"].value == 0
    assert [(v2[f"A{r}"].value, v2[f"G{r}"].value) for r in range(17, 22)] == [
        ("Total des dépenses éligibles du volet 2", 143000),
        ("Dépenses non éligibles (voir l'onglet « Non éligibles »)", 9200),
        ("Part de l'État (État 50 % / Département 50 % du coût des actions)", 71500),
        ("Montant maximum de l'État pour le volet", 624670),
        ("Montant retenu au titre de l'État", 71500),
    ]

    excluded = wb["Non éligibles"]
    assert values(excluded, 1, "A", "F") == [
        "Volet",
        "Nature de la dépense",
        "Date ou période",
        "Objet de la dépense",
        "Montant",
        "Motif",
    ]
    rows = [values(excluded, r, "A", "F") for r in range(2, 5)]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("Volet 1", "Déplacements du chef de projet", 320.5),
        ("Volet 2", "Fiche action 8 : Location de salle", 1200),
        ("Volet 2", "Prestation d'évaluation", 8000),
    ]
    assert rows[0][5].startswith("Les frais de mission")
    assert rows[1][5].startswith("Les dépenses liées aux frais généraux")
    assert rows[2][5].startswith("Le recours à des prestations d'évaluation")

    summary = wb["Synthèse"]
    figures = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(5, summary.max_row + 1)}
    assert figures["Montant maximum de l'État (article 4.1)"] == 730670
    assert figures["Volet 2 — dépenses enregistrées"] == 152200
    assert figures["Volet 2 — dont dépenses non éligibles"] == 9200
    assert figures["Montant retenu au titre de l'État (total)"] == 116500
    assert figures["Avance prévue à la signature"] == 438402
    assert figures["Versements reçus de l'État (nets des reversements)"] == 438402
    assert figures["Solde restant dû par l'État"] == 0
    assert figures["Trop-perçu à reverser à l'État"] == 321902


def test_pdf_is_generated(hand_example):
    pdf = financial_report_pdf(hand_example)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 2000
