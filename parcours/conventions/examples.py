"""Chargement de la convention d'exemple : insertion-emploi 2024 d'Ille-et-Vilaine (document source 002).

Idempotent : chaque objet est retrouvé par sa clé naturelle (code de la convention, numéro de volet, de
rubrique, de fiche, ordre de la ligne) et mis à jour ; les dépenses et versements saisis ne sont jamais
touchés. Les totaux du document sont vérifiés après chargement.
"""

import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from parcours.accounts.models import Organisation, OrganisationKind

from .models import (
    ActionPartner,
    ActionSheet,
    BudgetLine,
    BudgetSection,
    Convention,
    ExpenseNature,
    PartnerRole,
    ReportDeadline,
    Volet,
)
from .services import ConventionError, apply_default_eligibility_rules, budget_table, log, money

EXAMPLE_PATH = Path(__file__).resolve().parent / "data" / "ille_et_vilaine_2024.json"


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def _dec(value):
    return None if value is None else Decimal(value)


def load_example_data(path=EXAMPLE_PATH):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@transaction.atomic
def load_convention_example(path=EXAMPLE_PATH, actor=None):
    """Charge (ou remet à jour) la convention d'exemple ; renvoie ``(convention, created)``."""
    data = load_example_data(path)
    dep_data = data["departement"]
    departement = Organisation.objects.filter(
        kind=OrganisationKind.DEPARTEMENT, departement_code=dep_data["code"]
    ).first()
    if departement is None:
        departement = Organisation.objects.create(
            kind=OrganisationKind.DEPARTEMENT, name=dep_data["name"], departement_code=dep_data["code"]
        )
    conv = data["convention"]
    convention, created = Convention.objects.update_or_create(
        departement=departement,
        code=conv["code"],
        defaults={
            "title": conv["title"],
            "reference": conv["reference"],
            "state_party": conv["state_party"],
            "departement_party": conv["departement_party"],
            "starts_on": _date(conv["starts_on"]),
            "ends_on": _date(conv["ends_on"]),
            "budget_imputation": conv["budget_imputation"],
            "advance_rate": Decimal(conv["advance_rate"]),
            "advance_due_days": conv["advance_due_days"],
        },
    )
    apply_default_eligibility_rules(convention)
    for deadline in data["report_deadlines"]:
        ReportDeadline.objects.update_or_create(
            convention=convention,
            kind=deadline["kind"],
            due_on=_date(deadline["due_on"]),
            defaults={
                "period_start": _date(deadline["period_start"]),
                "period_end": _date(deadline["period_end"]),
            },
        )
    for volet_data in data["volets"]:
        _load_volet(convention, volet_data)
    _check_totals(convention, data)
    log(convention, "example_loaded", actor, created=created, source=str(Path(path).name))
    return convention, created


def _load_volet(convention, data):
    rate = _dec(data["state_share_rate"])
    volet, _ = Volet.objects.update_or_create(
        convention=convention,
        number=data["number"],
        defaults={
            "title": data["title"],
            "description": data["description"],
            "max_state_amount": Decimal(data["max_state_amount"]),
            "is_lump_sum": data["is_lump_sum"],
            "state_share_rate": rate,
            "departement_ceiling": _dec(data["departement_ceiling"]),
        },
    )
    sections = {}
    for section in data["sections"]:
        sections[section["order"]], _ = BudgetSection.objects.update_or_create(
            volet=volet,
            order=section["order"],
            defaults={"title": section["title"], "report_title": section["report_title"]},
        )
    for order, line in enumerate(data.get("budget_lines", []), start=1):
        BudgetLine.objects.update_or_create(
            volet=volet,
            action_sheet=None,
            order=line.get("order", order),
            defaults={
                "section": sections[line["section"]],
                "label": line["label"],
                "nature": line.get("nature", ExpenseNature.OTHER),
                "state_amount": Decimal(line["state_amount"]),
                "departement_amount": Decimal(line.get("departement_amount", "0")),
            },
        )
    for sheet_data in data.get("action_sheets", []):
        _load_sheet(convention, volet, sections, rate, sheet_data)
    return volet


def _load_sheet(convention, volet, sections, rate, data):
    sheet, _ = ActionSheet.objects.update_or_create(
        convention=convention,
        number=data["number"],
        defaults={
            "volet": volet,
            "section": sections[data["section"]],
            "title": data["title"],
            "context": data["context"],
            "objectives": data["objectives"],
            "description": data["description"],
            "starts_on": _date(data["starts_on"]),
            "start_text": data["start_text"],
            "ends_on": _date(data["ends_on"]),
            "duration_text": data["duration_text"],
        },
    )
    partners = {}
    for order, partner in enumerate(data["partners"], start=1):
        role = partner.get("role", PartnerRole.PARTNER)
        partners[(partner["name"], role)], _ = ActionPartner.objects.update_or_create(
            action_sheet=sheet, name=partner["name"], role=role, defaults={"order": order}
        )
    for order, line in enumerate(data["budget_lines"], start=1):
        state = Decimal(line["state_amount"])
        # La fiche ne donne que la part de l'État par partenaire : la part du Département en découle
        # par la règle de cofinancement du volet (50/50 en 2024).
        departement = money(state / rate) - state if rate else Decimal(line.get("departement_amount", "0"))
        partner = partners.get((line["partner"], PartnerRole.PARTNER)) if line.get("partner") else None
        BudgetLine.objects.update_or_create(
            volet=volet,
            action_sheet=sheet,
            order=order,
            defaults={
                "section": sheet.section,
                "partner": partner,
                "label": line["label"],
                "nature": line.get("nature", ExpenseNature.PARTNER_PARTICIPATION),
                "state_amount": state,
                "departement_amount": departement,
            },
        )
    return sheet


def _check_totals(convention, data):
    """Vérifie que le chargement reproduit les montants du document (fiche par fiche, volet par volet)."""
    budget = budget_table(convention)
    expected_sheets = {
        s["number"]: (Decimal(s["state_total"]), Decimal(s["departement_total"]))
        for v in data["volets"]
        for s in v.get("action_sheets", [])
    }
    for volet in budget.volets:
        for row in volet.rows:
            expected = expected_sheets.get(row.number) if row.action_sheet else None
            if expected and (row.state, row.departement) != expected:
                raise ConventionError(
                    f"Fiche action {row.number} : {row.state} / {row.departement} au lieu de {expected}"
                )
    totals = data["expected_totals"]
    by_number = {v.volet.number: v for v in budget.volets}
    checks = {
        "volet_1_state": by_number[1].state,
        "volet_2_state": by_number[2].state,
        "volet_2_departement": by_number[2].departement,
        "volet_2_total": by_number[2].total,
        "state_total": budget.state,
    }
    for key, value in checks.items():
        if value != Decimal(totals[key]):
            raise ConventionError(f"Total {key} : {value} au lieu de {totals[key]}")
    if budget.issues:
        raise ConventionError(" ; ".join(budget.issues))
