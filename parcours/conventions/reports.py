"""Bilan financier sur le modèle de l'annexe 3 (volets 1 et 2) : données, classeur XLSX et PDF.

Les tableaux « Volet N » reprennent exactement les colonnes de la trame (nature de la dépense, unité,
nombre d'unités, coût unitaire, date ou période, objet, montant), rubrique par rubrique, avec les seules
dépenses éligibles ; les dépenses exclues sont listées à part avec leur motif.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .models import ZERO
from .services import budget_table, financial_position, format_euros, payment_schedule

ANNEX_COLUMNS = [
    "Nature de la dépense",
    "Unité (si pertinent)",
    "Nombre d'unités",
    "Coût unitaire",
    "Date ou période",
    "Objet de la dépense",
    "Montant",
]
EURO_FORMAT = '#,##0.00 "€"'
NUMBER_FORMAT = "#,##0.00"


@dataclass
class ReportSection:
    title: str
    expenses: list = field(default_factory=list)

    @property
    def total(self):
        return sum((e.amount for e in self.expenses), ZERO)


@dataclass
class ReportVolet:
    volet: object
    position: object
    sections: list

    @property
    def total(self):
        return sum((s.total for s in self.sections), ZERO)


def expense_label(expense):
    if expense.action_sheet_id:
        return f"Fiche action {expense.action_sheet.number} : {expense.label}"
    return expense.label


def financial_report(convention):
    """Tout ce que le bilan financier affiche, calculé une fois pour l'écran, le XLSX et le PDF."""
    position = financial_position(convention)
    expenses = list(
        convention.expenses.select_related("action_sheet", "section", "volet").order_by(
            "volet__number", "period_start", "pk"
        )
    )
    volets = []
    for volet_position in position.volets:
        volet = volet_position.volet
        sections = {s.pk: ReportSection(title=s.report_title) for s in volet.sections.order_by("order")}
        others = ReportSection(title="Autres dépenses")
        for expense in expenses:
            if expense.volet_id != volet.pk or not expense.eligible:
                continue
            section_id = expense.section_id or (
                expense.action_sheet.section_id if expense.action_sheet else None
            )
            sections.get(section_id, others).expenses.append(expense)
        volets.append(
            ReportVolet(
                volet=volet,
                position=volet_position,
                sections=[*sections.values(), *([others] if others.expenses else [])],
            )
        )
    return {
        "convention": convention,
        "position": position,
        "volets": volets,
        "ineligible": [e for e in expenses if not e.eligible],
        "budget": budget_table(convention),
        "schedule": payment_schedule(convention, position),
    }


def summary_rows(report):
    """Lignes (libellé, montant) de la synthèse financière, communes au XLSX, au PDF et à l'écran."""
    position, schedule = report["position"], report["schedule"]
    rows = [("Montant maximum de l'État (article 4.1)", position.max_state_amount)]
    for rv in report["volets"]:
        vp, n = rv.position, rv.volet.number
        rows += [
            (f"Volet {n} — montant maximum de l'État", rv.volet.max_state_amount),
            (f"Volet {n} — dépenses enregistrées", vp.expenses_total),
            (f"Volet {n} — dont dépenses non éligibles", vp.ineligible_total),
            (f"Volet {n} — dépenses éligibles", vp.eligible_total),
            (f"Volet {n} — part de l'État appliquée aux dépenses éligibles", vp.financeable),
            (f"Volet {n} — montant retenu au titre de l'État", vp.state_share),
        ]
    rows += [
        ("Montant retenu au titre de l'État (total)", position.state_share),
        ("Avance prévue à la signature", schedule.advance),
        ("Versements reçus de l'État (nets des reversements)", position.paid),
        ("Solde restant dû par l'État", position.balance_due),
        ("Trop-perçu à reverser à l'État", position.overpayment),
    ]
    return rows


# ---------------------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------------------

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="DDDDEE")
SECTION_FILL = PatternFill("solid", fgColor="F0F0F5")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _money_cell(ws, row, col, value, bold=False):
    cell = ws.cell(row=row, column=col, value=value)
    cell.number_format = EURO_FORMAT
    if bold:
        cell.font = BOLD
    return cell


def _header(ws, row, labels):
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.border = BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _widths(ws, widths):
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _volet_sheet(wb, convention, rv):
    ws = wb.create_sheet(f"Volet {rv.volet.number}")
    ws["A1"] = f"État des dépenses — {convention.title}"
    ws["A1"].font = TITLE
    ws["A2"] = f"VOLET {rv.volet.number} — {rv.volet.title}"
    ws["A2"].font = BOLD
    ws["A3"] = (
        f"{convention.departement} — période du {convention.starts_on:%d/%m/%Y} "
        f"au {convention.effective_ends_on:%d/%m/%Y}"
    )
    _header(ws, 5, ANNEX_COLUMNS)
    row = 6
    for section in rv.sections:
        ws.cell(row=row, column=1, value=section.title).font = BOLD
        for col in range(1, 8):
            ws.cell(row=row, column=col).fill = SECTION_FILL
        row += 1
        for expense in section.expenses:
            ws.cell(row=row, column=1, value=expense_label(expense))
            ws.cell(row=row, column=2, value=expense.unit or None)
            if expense.quantity is not None:
                ws.cell(row=row, column=3, value=expense.quantity).number_format = NUMBER_FORMAT
            if expense.unit_cost is not None:
                _money_cell(ws, row, 4, expense.unit_cost)
            ws.cell(row=row, column=5, value=expense.period_label)
            ws.cell(row=row, column=6, value=expense.purpose)
            _money_cell(ws, row, 7, expense.amount)
            row += 1
        ws.cell(row=row, column=1, value=f"Sous-total — {section.title}").font = BOLD
        _money_cell(ws, row, 7, section.total, bold=True)
        row += 1
    vp = rv.position
    row += 1
    totals = [
        (f"Total des dépenses éligibles du volet {rv.volet.number}", rv.total),
        ("Dépenses non éligibles (voir l'onglet « Non éligibles »)", vp.ineligible_total),
        (f"Part de l'État ({rv.volet.cofinancing_label})", vp.financeable),
        ("Montant maximum de l'État pour le volet", rv.volet.max_state_amount),
        ("Montant retenu au titre de l'État", vp.state_share),
    ]
    for label, value in totals:
        ws.cell(row=row, column=1, value=label).font = BOLD
        _money_cell(ws, row, 7, value, bold=True)
        row += 1
    _widths(ws, [48, 16, 14, 16, 24, 48, 18])
    ws.freeze_panes = "A6"
    return ws


def _plan_sheet(wb, report):
    budget = report["budget"]
    ws = wb.create_sheet("Plan de financement")
    ws["A1"] = f"Plan de financement prévisionnel — {report['convention'].title}"
    ws["A1"].font = TITLE
    _header(
        ws,
        3,
        [
            "Volet",
            "Rubrique",
            "Fiche action",
            "Intitulé / objet",
            "Part État",
            "Part Département",
            "Coût total",
        ],
    )
    row = 4
    for vb in budget.volets:
        for section in vb.sections:
            for budget_row in section.rows:
                ws.cell(row=row, column=1, value=f"Volet {vb.volet.number}")
                ws.cell(row=row, column=2, value=section.title)
                if budget_row.action_sheet:
                    ws.cell(row=row, column=3, value=f"Fiche action {budget_row.number}")
                    ws.cell(row=row, column=4, value=budget_row.action_sheet.title)
                else:
                    ws.cell(row=row, column=4, value=budget_row.label)
                _money_cell(ws, row, 5, budget_row.state)
                _money_cell(ws, row, 6, budget_row.departement)
                _money_cell(ws, row, 7, budget_row.total)
                row += 1
        ws.cell(row=row, column=1, value=f"Total volet {vb.volet.number}").font = BOLD
        _money_cell(ws, row, 5, vb.state, bold=True)
        _money_cell(ws, row, 6, vb.departement, bold=True)
        _money_cell(ws, row, 7, vb.total, bold=True)
        row += 1
        ws.cell(row=row, column=1, value=f"Montant maximum de l'État — volet {vb.volet.number}")
        _money_cell(ws, row, 5, vb.volet.max_state_amount)
        row += 2
    ws.cell(row=row, column=1, value="Total de la convention").font = BOLD
    _money_cell(ws, row, 5, budget.state, bold=True)
    _money_cell(ws, row, 6, budget.departement, bold=True)
    _money_cell(ws, row, 7, budget.total, bold=True)
    _widths(ws, [22, 40, 14, 60, 16, 18, 16])
    return ws


def _partner_sheet(wb, report):
    ws = wb.create_sheet("Budget par partenaire")
    _header(ws, 1, ["Fiche action", "Partenaire", "Objet", "Part État", "Part Département", "Coût total"])
    row = 2
    for vb in report["budget"].volets:
        for budget_row in vb.rows:
            for line in budget_row.lines:
                ws.cell(
                    row=row,
                    column=1,
                    value=f"Fiche action {budget_row.number}"
                    if budget_row.number
                    else f"Volet {vb.volet.number}",
                )
                ws.cell(row=row, column=2, value=line.partner.display_name if line.partner else None)
                ws.cell(row=row, column=3, value=line.label)
                _money_cell(ws, row, 4, line.state_amount)
                _money_cell(ws, row, 5, line.departement_amount)
                _money_cell(ws, row, 6, line.total_amount)
                row += 1
    _widths(ws, [16, 32, 70, 16, 18, 16])
    return ws


def _summary_sheet(wb, report):
    ws = wb.create_sheet("Synthèse")
    convention = report["convention"]
    ws["A1"] = f"Synthèse financière — {convention.title}"
    ws["A1"].font = TITLE
    ws["A2"] = f"{convention.departement} — {convention.state_party}"
    _header(ws, 4, ["Rubrique", "Montant"])
    for row, (label, value) in enumerate(summary_rows(report), start=5):
        ws.cell(row=row, column=1, value=label)
        _money_cell(ws, row, 2, value)
    _widths(ws, [70, 20])
    return ws


def _ineligible_sheet(wb, report):
    ws = wb.create_sheet("Non éligibles")
    _header(
        ws, 1, ["Volet", "Nature de la dépense", "Date ou période", "Objet de la dépense", "Montant", "Motif"]
    )
    for row, expense in enumerate(report["ineligible"], start=2):
        ws.cell(row=row, column=1, value=f"Volet {expense.volet.number}")
        ws.cell(row=row, column=2, value=expense_label(expense))
        ws.cell(row=row, column=3, value=expense.period_label)
        ws.cell(row=row, column=4, value=expense.purpose)
        _money_cell(ws, row, 5, expense.amount)
        ws.cell(row=row, column=6, value=expense.ineligibility_reason)
    _widths(ws, [10, 48, 24, 40, 16, 80])
    return ws


def financial_report_xlsx(convention) -> bytes:
    report = financial_report(convention)
    wb = Workbook()
    wb.remove(wb.active)
    _summary_sheet(wb, report)
    for rv in report["volets"]:
        _volet_sheet(wb, convention, rv)
    _ineligible_sheet(wb, report)
    _plan_sheet(wb, report)
    _partner_sheet(wb, report)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------
# PDF (reportlab, mise en page minimale)
# ---------------------------------------------------------------------------------------------------------


def _pdf_amount(value):
    return format_euros(value).replace("\u202f", " ").replace("\u00a0", " ")


def financial_report_pdf(convention) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    report = financial_report(convention)
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    bold = cell.clone("bold", fontName="Helvetica-Bold")

    def p(text, style=cell):
        from xml.sax.saxutils import escape

        return Paragraph(escape(str(text if text is not None else "")), style)

    def table(rows, widths, header=True):
        t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
        commands = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDEE")))
        t.setStyle(TableStyle(commands))
        return t

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Bilan financier — {convention.title}",
        author=str(convention.departement),
    )
    story = [
        Paragraph(f"Bilan financier — {convention.title}", styles["Title"]),
        p(
            f"{convention.departement} — période du {convention.starts_on:%d/%m/%Y} "
            f"au {convention.effective_ends_on:%d/%m/%Y}"
        ),
        Spacer(1, 4 * mm),
        Paragraph("Synthèse", styles["Heading2"]),
        table(
            [[p("Rubrique", bold), p("Montant", bold)]]
            + [[p(label), p(_pdf_amount(value))] for label, value in summary_rows(report)],
            [150 * mm, 40 * mm],
        ),
    ]
    widths = [62 * mm, 24 * mm, 20 * mm, 24 * mm, 34 * mm, 74 * mm, 28 * mm]
    for rv in report["volets"]:
        story += [PageBreak(), Paragraph(f"Volet {rv.volet.number} — {rv.volet.title}", styles["Heading2"])]
        rows = [[p(label, bold) for label in ANNEX_COLUMNS]]
        for section in rv.sections:
            rows.append([p(section.title, bold), "", "", "", "", "", ""])
            for e in section.expenses:
                rows.append(
                    [
                        p(expense_label(e)),
                        p(e.unit),
                        p(e.quantity if e.quantity is not None else ""),
                        p(_pdf_amount(e.unit_cost) if e.unit_cost is not None else ""),
                        p(e.period_label),
                        p(e.purpose),
                        p(_pdf_amount(e.amount)),
                    ]
                )
            rows.append(
                [
                    p(f"Sous-total — {section.title}", bold),
                    "",
                    "",
                    "",
                    "",
                    "",
                    p(_pdf_amount(section.total), bold),
                ]
            )
        rows.append(
            [
                p(f"Total des dépenses éligibles du volet {rv.volet.number}", bold),
                "",
                "",
                "",
                "",
                "",
                p(_pdf_amount(rv.total), bold),
            ]
        )
        rows.append(
            [
                p("Montant retenu au titre de l'État", bold),
                "",
                "",
                "",
                "",
                "",
                p(_pdf_amount(rv.position.state_share), bold),
            ]
        )
        story.append(table(rows, widths))
    if report["ineligible"]:
        story += [
            PageBreak(),
            Paragraph("Dépenses non éligibles au financement de l'État", styles["Heading2"]),
        ]
        rows = [[p(h, bold) for h in ("Volet", "Nature de la dépense", "Période", "Montant", "Motif")]]
        for e in report["ineligible"]:
            rows.append(
                [
                    p(e.volet.number),
                    p(expense_label(e)),
                    p(e.period_label),
                    p(_pdf_amount(e.amount)),
                    p(e.ineligibility_reason),
                ]
            )
        story.append(table(rows, [14 * mm, 70 * mm, 34 * mm, 28 * mm, 120 * mm]))
    doc.build(story)
    return buffer.getvalue()
