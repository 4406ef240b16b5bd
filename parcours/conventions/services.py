"""Règles des conventions : cofinancement, éligibilité, échéancier, solde, trop-perçu, rappels de bilans.

Toutes les sommes sont des ``Decimal`` arrondies au centime (arrondi commercial, ROUND_HALF_UP).
Les vues, l'administration et les commandes appellent ces fonctions ; elles ne refont aucun calcul.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import global_settings, settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from parcours.accounts.models import Membership
from parcours.core.delays import get_delay
from parcours.core.text import plural, plural_form

from .models import (
    VIEWER_ROLES,
    ZERO,
    ActionSheet,
    BudgetLine,
    Convention,
    ConventionLog,
    EligibilityRule,
    Expense,
    ExpenseNature,
    Payment,
    PaymentKind,
    ReportDeadline,
    ReportKind,
    Volet,
)

CENT = Decimal("0.01")

# Délai de prévenance avant l'échéance d'un bilan : délai métier (PARCOURS_DELAYS, surchargeable par Département).
REMINDER_DELAY = "convention_report_reminder_days"

ARTICLE_42 = "(article 4.2 de la convention)"
DEFAULT_INELIGIBLE_NATURES = {
    ExpenseNature.OVERHEADS: (
        "Les dépenses liées aux frais généraux (fournitures, reprographie, locations de salles, "
        f"équipement…) ne sont pas éligibles au financement de l'État {ARTICLE_42}."
    ),
    ExpenseNature.MISSION_COSTS: (
        "Les frais de mission (déplacements, hébergement, restauration du personnel) ne sont pas "
        f"éligibles au financement de l'État {ARTICLE_42}."
    ),
    ExpenseNature.EVALUATION_SERVICE: (
        f"Le recours à des prestations d'évaluation n'est pas éligible au financement de l'État {ARTICLE_42}."
    ),
    ExpenseNature.TRAINING_SERVICE: (
        f"Le recours à des prestations de formation n'est pas éligible au financement de l'État {ARTICLE_42}."
    ),
    ExpenseNature.PROJECT_MANAGEMENT_SERVICE: (
        "Le recours à des prestations de gestion de projet n'est pas éligible au financement de l'État "
        f"{ARTICLE_42}."
    ),
    ExpenseNature.INVESTMENT: (
        "Les dépenses d'investissement, hors développements informatiques répondant aux besoins du projet, "
        f"sont exclues des financements de l'État {ARTICLE_42}."
    ),
}


class ConventionError(ValueError):
    """Erreur de saisie : message en français, champ concerné si pertinent."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def money(value) -> Decimal:
    """Convertit en ``Decimal`` arrondi au centime (refuse les flottants, sources d'erreurs d'arrondi)."""
    if isinstance(value, float):
        raise TypeError("Les montants se manipulent en Decimal, jamais en float.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_euros(value) -> str:
    """« 624 670,00 € » (espace fine insécable pour les milliers)."""
    if value is None:
        return "—"
    text = f"{money(value):,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def log(convention, action, actor=None, **details):
    ConventionLog.objects.create(convention=convention, action=action, actor=actor, details=details)


# ---------------------------------------------------------------------------------------------------------
# Cofinancement et budget prévisionnel
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    state: Decimal
    departement: Decimal

    @property
    def total(self):
        return self.state + self.departement


def cofinancing_split(total_cost, state_rate) -> Split:
    """Répartit un coût total entre l'État (``state_rate``) et le Département (le reste, au centime près)."""
    total = money(total_cost)
    state = money(total * Decimal(state_rate))
    return Split(state=state, departement=total - state)


@dataclass
class BudgetRow:
    label: str
    action_sheet: ActionSheet | None
    lines: list
    state: Decimal = ZERO
    departement: Decimal = ZERO

    @property
    def total(self):
        return self.state + self.departement

    @property
    def number(self):
        return self.action_sheet.number if self.action_sheet else None


@dataclass
class SectionBudget:
    section: object
    rows: list = field(default_factory=list)

    @property
    def title(self):
        return self.section.title if self.section else "Hors rubrique"

    @property
    def state(self):
        return sum((r.state for r in self.rows), ZERO)

    @property
    def departement(self):
        return sum((r.departement for r in self.rows), ZERO)

    @property
    def total(self):
        return self.state + self.departement


@dataclass
class VoletBudget:
    volet: Volet
    sections: list = field(default_factory=list)
    issues: list = field(default_factory=list)

    @property
    def rows(self):
        return [row for section in self.sections for row in section.rows]

    @property
    def state(self):
        return sum((s.state for s in self.sections), ZERO)

    @property
    def departement(self):
        return sum((s.departement for s in self.sections), ZERO)

    @property
    def total(self):
        return self.state + self.departement


@dataclass
class ConventionBudget:
    convention: Convention
    volets: list

    @property
    def state(self):
        return sum((v.state for v in self.volets), ZERO)

    @property
    def departement(self):
        return sum((v.departement for v in self.volets), ZERO)

    @property
    def total(self):
        return self.state + self.departement

    @property
    def max_state_amount(self):
        return sum((v.volet.max_state_amount for v in self.volets), ZERO)

    @property
    def issues(self):
        return [issue for v in self.volets for issue in v.issues]


def budget_table(convention) -> ConventionBudget:
    """Budget prévisionnel par volet, rubrique et fiche action (part État, part Département, total).

    Une fiche action forme une ligne (somme de ses lignes budgétaires par partenaire) ; une ligne
    budgétaire sans fiche (volet 1) forme une ligne à elle seule. Les écarts à la règle de cofinancement
    et aux plafonds sont signalés dans ``issues``.
    """
    volets = list(convention.volets.prefetch_related("sections").order_by("number"))
    lines = list(
        BudgetLine.objects.filter(volet__convention=convention)
        .select_related("action_sheet", "partner__organisation", "section")
        .order_by("volet__number", "action_sheet__number", "order", "pk")
    )
    result = []
    for volet in volets:
        sections = {s.pk: SectionBudget(section=s) for s in volet.sections.all()}
        orphan = SectionBudget(section=None)
        rows_by_sheet = {}
        for sheet in volet.action_sheets.order_by("number"):
            row = BudgetRow(
                label=f"Fiche action {sheet.number} — {sheet.title}", action_sheet=sheet, lines=[]
            )
            rows_by_sheet[sheet.pk] = row
            sections.get(sheet.section_id, orphan).rows.append(row)
        for line in (ln for ln in lines if ln.volet_id == volet.pk):
            if line.action_sheet_id:
                row = rows_by_sheet[line.action_sheet_id]
            else:
                row = BudgetRow(label=line.label, action_sheet=None, lines=[])
                sections.get(line.section_id, orphan).rows.append(row)
            row.lines.append(line)
            row.state += line.state_amount
            row.departement += line.departement_amount
        budget = VoletBudget(volet=volet, sections=[*sections.values(), *([orphan] if orphan.rows else [])])
        budget.issues = _budget_issues(budget)
        result.append(budget)
    return ConventionBudget(convention=convention, volets=result)


def _budget_issues(budget: VoletBudget):
    volet, issues = budget.volet, []
    if volet.state_share_rate is not None:
        rate_label = f"{(volet.state_share_rate * 100).normalize():f} %"
        for row in budget.rows:
            if row.total and row.state != cofinancing_split(row.total, volet.state_share_rate).state:
                expected = cofinancing_split(row.total, volet.state_share_rate).state
                issues.append(
                    f"{row.label} : la part de l'État ({format_euros(row.state)}) ne respecte pas la règle "
                    f"de cofinancement du volet {volet.number} ({format_euros(expected)} attendus, soit "
                    f"{rate_label} de {format_euros(row.total)})."
                )
    if budget.state > volet.max_state_amount:
        issues.append(
            f"Volet {volet.number} : le total des parts de l'État ({format_euros(budget.state)}) dépasse le "
            f"montant maximum de l'État ({format_euros(volet.max_state_amount)})."
        )
    if volet.departement_ceiling is not None and budget.state > volet.departement_ceiling:
        issues.append(
            f"Volet {volet.number} : le total des parts de l'État ({format_euros(budget.state)}) dépasse le "
            f"plafond départemental ({format_euros(volet.departement_ceiling)})."
        )
    return issues


# ---------------------------------------------------------------------------------------------------------
# Éligibilité et dépenses
# ---------------------------------------------------------------------------------------------------------


def apply_default_eligibility_rules(convention):
    """Crée les exclusions de l'article 4.2 (frais généraux, missions, prestations, investissement)."""
    created = 0
    for nature, reason in DEFAULT_INELIGIBLE_NATURES.items():
        _, was_created = EligibilityRule.objects.get_or_create(
            convention=convention, nature=nature, defaults={"reason": reason}
        )
        created += was_created
    return created


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str = ""


def eligibility_of(convention, nature, period_start, period_end=None, rules=None) -> Eligibility:
    """Éligibilité d'une dépense au financement de l'État, avec le motif du refus en français."""
    if rules is None:
        rules = dict(convention.eligibility_rules.values_list("nature", "reason"))
    if nature in rules:
        return Eligibility(False, rules[nature])
    end = period_end or period_start
    last_day = convention.effective_ends_on
    if period_start < convention.starts_on or end > last_day:
        return Eligibility(
            False,
            "Dépense hors de la période de la convention "
            f"(du {convention.starts_on:%d/%m/%Y} au {last_day:%d/%m/%Y}).",
        )
    return Eligibility(True, "")


def _resolve_amount(amount, quantity, unit_cost):
    if quantity is not None and unit_cost is not None:
        computed = money(Decimal(quantity) * money(unit_cost))
        if amount in (None, ""):
            return computed
        if money(amount) != computed:
            raise ConventionError(
                f"Le montant ({format_euros(amount)}) ne correspond pas au nombre d'unités × coût unitaire "
                f"({format_euros(computed)}).",
                field="amount",
            )
    if amount in (None, ""):
        raise ConventionError(
            "Indiquez le montant, ou le nombre d'unités et le coût unitaire.", field="amount"
        )
    return money(amount)


@transaction.atomic
def record_expense(
    convention,
    *,
    nature,
    label,
    purpose,
    period_start,
    period_end=None,
    volet=None,
    action_sheet=None,
    section=None,
    unit="",
    quantity=None,
    unit_cost=None,
    amount=None,
    supporting_document=None,
    actor=None,
) -> Expense:
    """Enregistre une dépense ; une dépense non éligible est gardée mais exclue du montant finançable."""
    if nature not in ExpenseNature.values:
        raise ConventionError("Catégorie de dépense inconnue.", field="nature")
    if action_sheet is not None:
        if action_sheet.convention_id != convention.pk:
            raise ConventionError(
                "Cette fiche action n'appartient pas à la convention.", field="action_sheet"
            )
        if volet is not None and volet.pk != action_sheet.volet_id:
            raise ConventionError(
                f"La fiche action {action_sheet.number} relève du volet {action_sheet.volet.number}.",
                field="volet",
            )
        volet = action_sheet.volet
        section = section or action_sheet.section
    if volet is None:
        raise ConventionError("Indiquez le volet ou la fiche action de la dépense.", field="volet")
    if volet.convention_id != convention.pk:
        raise ConventionError("Ce volet n'appartient pas à la convention.", field="volet")
    if section is not None and section.volet_id != volet.pk:
        raise ConventionError("Cette rubrique n'appartient pas au volet choisi.", field="section")
    if period_end and period_end < period_start:
        raise ConventionError("La fin de la période précède son début.", field="period_end")
    value = _resolve_amount(amount, quantity, unit_cost)
    if value < 0:
        raise ConventionError("Le montant d'une dépense ne peut pas être négatif.", field="amount")
    verdict = eligibility_of(convention, nature, period_start, period_end)
    expense = Expense(
        convention=convention,
        volet=volet,
        action_sheet=action_sheet,
        section=section,
        nature=nature,
        label=label,
        unit=unit or "",
        quantity=quantity,
        unit_cost=money(unit_cost) if unit_cost not in (None, "") else None,
        period_start=period_start,
        period_end=period_end,
        purpose=purpose,
        amount=value,
        eligible=verdict.eligible,
        ineligibility_reason=verdict.reason,
        recorded_by=actor,
    )
    if supporting_document:
        expense.supporting_document = supporting_document
    expense.save()
    log(
        convention,
        "expense_recorded",
        actor,
        expense=expense.pk,
        amount=str(value),
        eligible=verdict.eligible,
        reason=verdict.reason,
    )
    return expense


@transaction.atomic
def delete_expense(expense, actor=None):
    convention = expense.convention
    details = {"expense": expense.pk, "label": expense.label, "amount": str(expense.amount)}
    if expense.supporting_document:
        expense.supporting_document.delete(save=False)
    expense.delete()
    log(convention, "expense_deleted", actor, **details)


@transaction.atomic
def refresh_eligibility(convention, actor=None) -> int:
    """Réévalue l'éligibilité des dépenses (après un changement de règles ou d'avenant)."""
    rules = dict(convention.eligibility_rules.values_list("nature", "reason"))
    changed = 0
    for expense in convention.expenses.all():
        verdict = eligibility_of(convention, expense.nature, expense.period_start, expense.period_end, rules)
        if (expense.eligible, expense.ineligibility_reason) != (verdict.eligible, verdict.reason):
            expense.eligible, expense.ineligibility_reason = verdict.eligible, verdict.reason
            expense.save(update_fields=["eligible", "ineligibility_reason"])
            changed += 1
    if changed:
        log(convention, "eligibility_refreshed", actor, changed=changed)
    return changed


@transaction.atomic
def record_payment(convention, *, kind, received_on, amount, reference="", note="", actor=None) -> Payment:
    if kind not in PaymentKind.values:
        raise ConventionError("Type de versement inconnu.", field="kind")
    value = money(amount)
    if value <= 0:
        raise ConventionError("Le montant d'un versement doit être positif.", field="amount")
    payment = Payment.objects.create(
        convention=convention,
        kind=kind,
        received_on=received_on,
        amount=value,
        reference=reference,
        note=note,
        recorded_by=actor,
    )
    log(convention, "payment_recorded", actor, payment=payment.pk, kind=kind, amount=str(value))
    return payment


@transaction.atomic
def mark_report_submitted(deadline, submitted_on, actor=None):
    deadline.submitted_on = submitted_on
    deadline.save(update_fields=["submitted_on"])
    log(deadline.convention, "report_submitted", actor, kind=deadline.kind, submitted_on=str(submitted_on))
    return deadline


@transaction.atomic
def update_volet1_indicators(convention, *, actor=None, **values):
    allowed = {
        "project_management_fte",
        "project_management_position",
        "digital_transformation_fte",
        "roadmap_formalised",
    }
    for name, value in values.items():
        if name not in allowed:
            raise ConventionError(f"Indicateur inconnu : {name}")
        setattr(convention, name, value)
    convention.save(update_fields=[*values.keys(), "updated_at"])
    log(convention, "volet1_indicators_updated", actor, **{k: str(v) for k, v in values.items()})


# ---------------------------------------------------------------------------------------------------------
# Situation financière : montant finançable, solde, trop-perçu, échéancier
# ---------------------------------------------------------------------------------------------------------


@dataclass
class VoletPosition:
    volet: Volet
    planned_state: Decimal
    expenses_total: Decimal
    eligible_total: Decimal

    @property
    def ineligible_total(self):
        return self.expenses_total - self.eligible_total

    @property
    def financeable(self):
        """Part de l'État appliquée aux dépenses éligibles, avant plafond."""
        if self.volet.state_share_rate is not None:
            return money(self.eligible_total * self.volet.state_share_rate)
        return self.eligible_total

    @property
    def state_share(self):
        """Montant dû par l'État pour le volet : part finançable, dans la limite du maximum du volet."""
        return min(self.financeable, self.volet.max_state_amount)

    @property
    def capped(self):
        return self.financeable > self.volet.max_state_amount


@dataclass
class FinancialPosition:
    convention: Convention
    volets: list
    paid: Decimal
    final_report_submitted: bool

    @property
    def max_state_amount(self):
        return sum((v.volet.max_state_amount for v in self.volets), ZERO)

    @property
    def expenses_total(self):
        return sum((v.expenses_total for v in self.volets), ZERO)

    @property
    def eligible_total(self):
        return sum((v.eligible_total for v in self.volets), ZERO)

    @property
    def ineligible_total(self):
        return self.expenses_total - self.eligible_total

    @property
    def state_share(self):
        return min(sum((v.state_share for v in self.volets), ZERO), self.max_state_amount)

    @property
    def balance_due(self):
        """Reste à verser par l'État au vu des dépenses éligibles (0 en cas de trop-perçu)."""
        return max(self.state_share - self.paid, ZERO)

    @property
    def overpayment(self):
        """Trop-perçu : versé au-delà de la part éligible de l'État, à reverser lors du bilan final."""
        return max(self.paid - self.state_share, ZERO)


def financial_position(convention) -> FinancialPosition:
    return financial_positions([convention])[0]


def financial_positions(conventions) -> list[FinancialPosition]:
    """Situation financière de plusieurs conventions en un nombre fixe de requêtes (page de liste).

    Par volet : parts de l'État prévues (lignes budgétaires), dépenses enregistrées et éligibles ;
    par convention : versements nets des reversements, bilan final transmis ou non.
    """
    conventions = list(conventions)
    if not conventions:
        return []
    ids = [c.pk for c in conventions]
    # Requêtes groupées plutôt que prefetch : les caches des objets reçus restent intacts.
    volets_of = defaultdict(list)
    for volet in Volet.objects.filter(convention_id__in=ids).order_by("number"):
        volets_of[volet.convention_id].append(volet)
    paid_of = defaultdict(lambda: ZERO)
    for payment in Payment.objects.filter(convention_id__in=ids).only("convention_id", "kind", "amount"):
        paid_of[payment.convention_id] += payment.signed_amount
    planned = dict(
        BudgetLine.objects.filter(volet__convention_id__in=ids)
        .values("volet_id")
        .annotate(total=Sum("state_amount"))
        .values_list("volet_id", "total")
    )
    spent = {
        row["volet_id"]: (row["total"], row["eligible"])
        for row in Expense.objects.filter(convention_id__in=ids)
        .values("volet_id")
        .annotate(total=Sum("amount"), eligible=Sum("amount", filter=Q(eligible=True)))
    }
    submitted = set(
        ReportDeadline.objects.filter(
            convention_id__in=ids, kind=ReportKind.FINAL, submitted_on__isnull=False
        ).values_list("convention_id", flat=True)
    )
    positions = []
    for convention in conventions:
        volets = []
        for volet in volets_of[convention.pk]:
            total, eligible = spent.get(volet.pk, (ZERO, ZERO))
            volets.append(
                VoletPosition(
                    volet=volet,
                    planned_state=planned.get(volet.pk) or ZERO,
                    expenses_total=total or ZERO,
                    eligible_total=eligible or ZERO,
                )
            )
        positions.append(
            FinancialPosition(
                convention=convention,
                volets=volets,
                paid=paid_of[convention.pk],
                final_report_submitted=convention.pk in submitted,
            )
        )
    return positions


def provisional_state_amount(convention) -> Decimal:
    """Montant prévisionnel de l'État (article 4.1) : somme des maxima des volets."""
    return sum((v.max_state_amount for v in convention.volets.all()), ZERO)


def advance_amount(convention) -> Decimal:
    return money(provisional_state_amount(convention) * convention.advance_rate)


@dataclass
class ScheduleItem:
    key: str
    label: str
    trigger: str
    due_on: datetime.date | None
    expected: Decimal
    received: Decimal

    @property
    def outstanding(self):
        return max(self.expected - self.received, ZERO)

    @property
    def status(self):
        if self.key == "overpayment":
            return "à reverser" if self.expected > self.received else "reversé"
        if self.expected == 0 and self.received == 0:
            return "rien à verser"
        if self.received >= self.expected:
            return "reçu"
        if self.received > 0:
            return "partiellement reçu"
        return "à recevoir"


@dataclass
class PaymentSchedule:
    items: list
    advance: Decimal
    provisional_balance: Decimal
    position: FinancialPosition


def payment_schedule(convention, position=None) -> PaymentSchedule:
    """Échéancier de l'article 6 : avance à la signature, solde sur bilan final, trop-perçu éventuel."""
    position = position or financial_position(convention)
    payments = list(convention.payments.all())
    received = defaultdict(lambda: ZERO)
    for payment in payments:
        received[payment.kind] += payment.amount
    provisional = provisional_state_amount(convention)
    advance = money(provisional * convention.advance_rate)
    rate_label = f"{(convention.advance_rate * 100).normalize():f} %"
    if convention.advance_due_days:
        days = convention.advance_due_days
        trigger = (
            f"Dans {plural_form(days, 'le jour', f'les {days} jours')} suivant la signature de la convention"
        )
    else:
        trigger = "À la signature de la convention"
    advance_due = (
        convention.signed_on + datetime.timedelta(days=convention.advance_due_days)
        if convention.signed_on
        else None
    )
    final = convention.report_deadlines.filter(kind=ReportKind.FINAL).order_by("-due_on").first()
    paid_before_balance = position.paid - received[PaymentKind.BALANCE]
    balance_expected = max(min(position.state_share, provisional) - paid_before_balance, ZERO)
    items = [
        ScheduleItem(
            key="advance",
            label=f"Avance de {rate_label} du montant prévisionnel ({format_euros(provisional)})",
            trigger=trigger,
            due_on=advance_due,
            expected=advance,
            received=received[PaymentKind.ADVANCE],
        ),
        ScheduleItem(
            key="balance",
            label="Solde, dans la limite du montant maximum, déduction faite des versements déjà effectués",
            trigger="Sur production du bilan final (mise en œuvre et financier)",
            due_on=final.due_on if final else None,
            expected=balance_expected,
            received=received[PaymentKind.BALANCE],
        ),
    ]
    if position.overpayment or received[PaymentKind.REFUND]:
        items.append(
            ScheduleItem(
                key="overpayment",
                label="Trop-perçu à reverser à l'État",
                trigger="Lors de la production du bilan final d'exécution",
                due_on=final.due_on if final else None,
                expected=position.overpayment + received[PaymentKind.REFUND],
                received=received[PaymentKind.REFUND],
            )
        )
    return PaymentSchedule(
        items=items,
        advance=advance,
        provisional_balance=max(provisional - advance, ZERO),
        position=position,
    )


# ---------------------------------------------------------------------------------------------------------
# Bénéficiaires touchés et bilan de mise en œuvre
# ---------------------------------------------------------------------------------------------------------


def beneficiaries_reached(action_sheet, date_from=None, date_to=None) -> int:
    """Personnes distinctes touchées par la fiche sur les services du catalogue qu'elle finance :

    - prescriptions acceptées, créées pendant la période ;
    - activités du plan d'accompagnement intensif en cours ou réalisées, commencées pendant la période.

    Une personne comptée par les deux voies ne compte qu'une fois.
    """
    from parcours.accompaniment.models import ActivityStatus, PlannedActivity
    from parcours.beneficiaries.models import Beneficiary
    from parcours.catalogue.models import Prescription, PrescriptionStatus

    services = action_sheet.services.all()
    prescriptions = Prescription.objects.filter(service__in=services, status=PrescriptionStatus.ACCEPTED)
    activities = PlannedActivity.objects.filter(
        service__in=services, status__in=[ActivityStatus.IN_PROGRESS, ActivityStatus.DONE]
    )
    if date_from:
        prescriptions = prescriptions.filter(created_at__date__gte=date_from)
        activities = activities.filter(starts_on__gte=date_from)
    if date_to:
        prescriptions = prescriptions.filter(created_at__date__lte=date_to)
        activities = activities.filter(starts_on__lte=date_to)
    return Beneficiary.objects.filter(
        Q(pk__in=prescriptions.values("beneficiary_id")) | Q(pk__in=activities.values("beneficiary_id"))
    ).count()


@dataclass
class SheetImplementation:
    action_sheet: ActionSheet
    planned_state: Decimal
    planned_departement: Decimal
    expenses_total: Decimal
    eligible_total: Decimal
    beneficiaries: int

    @property
    def planned_total(self):
        return self.planned_state + self.planned_departement

    @property
    def realisation_rate(self):
        if not self.planned_total:
            return None
        return self.eligible_total / self.planned_total


def implementation_report(convention, date_from, date_to):
    """Bilan de mise en œuvre sur une période : fiches actions, dépenses, indicateurs disponibles."""
    from parcours.beneficiaries.models import Beneficiary

    budget = budget_table(convention)
    expenses = convention.expenses.filter(period_start__gte=date_from, period_start__lte=date_to)
    sheet_totals = defaultdict(lambda: [ZERO, ZERO])
    for expense in expenses.only("action_sheet_id", "amount", "eligible"):
        sheet_totals[expense.action_sheet_id][0] += expense.amount
        if expense.eligible:
            sheet_totals[expense.action_sheet_id][1] += expense.amount
    sheets = []
    for vb in budget.volets:
        for row in vb.rows:
            if row.action_sheet is None:
                continue
            spent, eligible = sheet_totals[row.action_sheet.pk]
            sheets.append(
                SheetImplementation(
                    action_sheet=row.action_sheet,
                    planned_state=row.state,
                    planned_departement=row.departement,
                    expenses_total=spent,
                    eligible_total=eligible,
                    beneficiaries=beneficiaries_reached(row.action_sheet, date_from, date_to),
                )
            )
    people = Beneficiary.objects.filter(departement=convention.departement)
    entrants = people.filter(new_entrant_t0__gte=date_from, new_entrant_t0__lte=date_to)
    by_month = (
        entrants.annotate(month=TruncMonth("new_entrant_t0"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    indicators = {
        "beneficiaires_connus": people.count(),
        "beneficiaires_soumis_droits_devoirs": people.filter(is_sdd=True).count(),
        "nouveaux_entrants": entrants.count(),
        "nouveaux_entrants_par_mois": [(row["month"], row["n"]) for row in by_month],
    }
    return {
        "convention": convention,
        "date_from": date_from,
        "date_to": date_to,
        "sheets": sheets,
        "indicators": indicators,
        "volet1": {
            "project_management_fte": convention.project_management_fte,
            "project_management_position": convention.project_management_position,
            "digital_transformation_fte": convention.digital_transformation_fte,
            "roadmap_formalised": convention.roadmap_formalised,
        },
    }


# ---------------------------------------------------------------------------------------------------------
# Échéances de bilans et rappels
# ---------------------------------------------------------------------------------------------------------


def reminder_days(departement=None):
    """Délai de prévenance des bilans (jours) : délai métier ``convention_report_reminder_days``
    de PARCOURS_DELAYS, surchargeable par Département."""
    return get_delay(REMINDER_DELAY, departement)


def due_reports(today, days=None):
    """Bilans non transmis dont l'échéance tombe dans le délai de prévenance (ou est dépassée).

    Sans ``days``, le délai est celui du Département de chaque convention.
    """
    deadlines = (
        ReportDeadline.objects.filter(submitted_on__isnull=True)
        .select_related("convention__departement")
        .order_by("due_on", "pk")
    )
    if days is not None:
        return list(deadlines.filter(due_on__lte=today + datetime.timedelta(days=days)))
    # Quelques échéances ouvertes par convention : le délai propre à chaque Département s'applique ici.
    return [
        d
        for d in deadlines
        if d.due_on <= today + datetime.timedelta(days=reminder_days(d.convention.departement))
    ]


def reminder_recipients(convention):
    return sorted(
        set(
            Membership.objects.filter(
                organisation_id=convention.departement_id, role__in=VIEWER_ROLES, is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _mail_connection():
    backend = settings.EMAIL_BACKEND
    if backend == global_settings.EMAIL_BACKEND and not getattr(settings, "EMAIL_HOST_USER", ""):
        # Pas encore d'infrastructure de messagerie : les rappels s'affichent sur la console.
        backend = "django.core.mail.backends.console.EmailBackend"
    return get_connection(backend=backend)


@dataclass
class Reminder:
    deadline: ReportDeadline
    days_left: int
    recipients: list
    sent: bool = False

    @property
    def overdue(self):
        return self.days_left < 0


def send_report_reminders(today, days=None, dry_run=False):
    """Liste les bilans à produire et, sauf ``dry_run``, envoie un rappel (une fois par jour au plus)."""
    reminders = []
    connection = None if dry_run else _mail_connection()
    for deadline in due_reports(today, days):
        convention = deadline.convention
        reminder = Reminder(
            deadline=deadline,
            days_left=(deadline.due_on - today).days,
            recipients=reminder_recipients(convention),
        )
        reminders.append(reminder)
        if dry_run or deadline.last_reminder_on == today or not reminder.recipients:
            continue
        when = (
            f"était attendu le {deadline.due_on:%d/%m/%Y} (en retard de {plural(-reminder.days_left, 'jour')})"
            if reminder.overdue
            else f"est attendu au plus tard le {deadline.due_on:%d/%m/%Y} (dans {plural(reminder.days_left, 'jour')})"
        )
        send_mail(
            subject=f"[Parcours] {deadline.get_kind_display()} à produire — {convention.title}",
            message=(
                f"Bonjour,\n\nLe {deadline.get_kind_display().lower()} de la convention « {convention.title} » "
                f"{when}.\nIl comprend le bilan de mise en œuvre du plan d'actions et le bilan financier "
                "établi sur le modèle de l'annexe.\n\nParcours"
            ),
            from_email=None,
            recipient_list=reminder.recipients,
            connection=connection,
        )
        deadline.last_reminder_on = today
        deadline.save(update_fields=["last_reminder_on"])
        log(convention, "report_reminder_sent", None, kind=deadline.kind, due_on=str(deadline.due_on))
        reminder.sent = True
    return reminders
