import datetime
from decimal import Decimal

import pytest
from django.core import mail

from parcours.accounts.models import Role
from parcours.conventions.models import (
    Amendment,
    BudgetLine,
    ConventionLog,
    EligibilityRule,
    ExpenseNature,
    PaymentKind,
    ReportDeadline,
    ReportKind,
)
from parcours.conventions.services import (
    ConventionError,
    advance_amount,
    budget_table,
    cofinancing_split,
    eligibility_of,
    financial_position,
    implementation_report,
    mark_report_submitted,
    money,
    payment_schedule,
    record_expense,
    record_payment,
    refresh_eligibility,
    send_report_reminders,
)
from tests.conventions.conftest import sheet, volet
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db
D = Decimal


# --- cofinancement -----------------------------------------------------------------------------------------


def test_cofinancing_split_halves_the_volet_2_cost():
    split = cofinancing_split(D("1249340.00"), D("0.50"))
    assert split.state == D("624670.00")
    assert split.departement == D("624670.00")
    assert split.total == D("1249340.00")


def test_cofinancing_split_rounds_the_state_part_and_keeps_the_total():
    split = cofinancing_split(D("100.01"), D("0.5"))
    assert split.state == D("50.01")  # 50,005 arrondi au centime supérieur
    assert split.departement == D("50.00")
    assert split.total == D("100.01")
    assert cofinancing_split(D("1000"), D("0.6")) == cofinancing_split(D("1000.00"), D("0.60"))


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        money(0.1)


def test_budget_flags_a_sheet_that_breaks_the_50_50_rule(example):
    line = BudgetLine.objects.get(action_sheet=sheet(example, 5))
    line.departement_amount = D("10000.00")
    line.save()
    issues = budget_table(example).issues
    assert len(issues) == 1
    assert issues[0].startswith("Fiche action 5")
    assert "12\u202f500,00\u00a0€ attendus" in issues[0]


def test_budget_flags_state_parts_above_the_volet_maximum(example):
    BudgetLine.objects.create(
        volet=volet(example, 2),
        action_sheet=sheet(example, 9),
        order=9,
        label="ETP supplémentaire",
        state_amount=D("1000.00"),
        departement_amount=D("1000.00"),
    )
    budget = budget_table(example)
    assert budget.volets[1].state == D("625670.00")
    # 625 670 dépasse le maximum de l'État (624 670) et le plafond départemental (625 393).
    assert [issue.split(" : ")[0] for issue in budget.issues] == ["Volet 2", "Volet 2"]
    assert "dépasse le montant maximum de l'État (624\u202f670,00\u00a0€)" in budget.issues[0]
    assert "dépasse le plafond départemental (625\u202f393,00\u00a0€)" in budget.issues[1]


# --- éligibilité ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nature", "fragment"),
    [
        (ExpenseNature.OVERHEADS, "frais généraux"),
        (ExpenseNature.MISSION_COSTS, "frais de mission"),
        (ExpenseNature.EVALUATION_SERVICE, "prestations d'évaluation"),
        (ExpenseNature.TRAINING_SERVICE, "prestations de formation"),
        (ExpenseNature.PROJECT_MANAGEMENT_SERVICE, "prestations de gestion de projet"),
        (ExpenseNature.INVESTMENT, "hors développements informatiques"),
    ],
)
def test_article_4_2_natures_are_refused_with_a_french_reason(example, nature, fragment):
    expense = record_expense(
        example,
        volet=volet(example, 2),
        nature=nature,
        label="Dépense",
        amount=D("500.00"),
        period_start=datetime.date(2024, 6, 1),
        purpose="Objet",
    )
    assert expense.eligible is False
    assert fragment in expense.ineligibility_reason
    assert "article 4.2" in expense.ineligibility_reason
    assert financial_position(example).volets[1].eligible_total == 0


@pytest.mark.parametrize(
    "nature",
    [
        ExpenseNature.STAFF,
        ExpenseNature.PARTNER_PARTICIPATION,
        ExpenseNature.IT_DEVELOPMENT,
        ExpenseNature.EXTERNAL_SUPPORT,
    ],
)
def test_staff_participations_and_it_developments_are_eligible(example, nature):
    verdict = eligibility_of(example, nature, datetime.date(2024, 6, 1))
    assert verdict.eligible and verdict.reason == ""


def test_expense_outside_the_convention_period_is_refused(example):
    verdict = eligibility_of(
        example, ExpenseNature.STAFF, datetime.date(2024, 12, 1), datetime.date(2025, 1, 31)
    )
    assert not verdict.eligible
    assert verdict.reason == "Dépense hors de la période de la convention (du 01/01/2024 au 31/12/2024)."


def test_an_amendment_extending_the_convention_makes_later_expenses_eligible(example):
    expense = record_expense(
        example,
        action_sheet=sheet(example, 6),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Participation",
        amount=D("1000.00"),
        period_start=datetime.date(2025, 2, 1),
        purpose="Horizon 2025",
    )
    assert not expense.eligible
    Amendment.objects.create(
        convention=example, number=1, subject="Prolongation", new_ends_on=datetime.date(2025, 6, 30)
    )
    assert refresh_eligibility(example) == 1
    expense.refresh_from_db()
    assert expense.eligible


def test_eligibility_rules_are_configurable_per_convention(example):
    expense = record_expense(
        example,
        volet=volet(example, 1),
        nature=ExpenseNature.TRAINING_SERVICE,
        label="Formation des agents",
        amount=D("2000.00"),
        period_start=datetime.date(2024, 9, 1),
        purpose="Changement de pratiques",
    )
    assert not expense.eligible
    EligibilityRule.objects.filter(convention=example, nature=ExpenseNature.TRAINING_SERVICE).delete()
    EligibilityRule.objects.create(
        convention=example, nature=ExpenseNature.BENEFICIARY_AID, reason="Aides directes exclues."
    )
    refresh_eligibility(example)
    expense.refresh_from_db()
    assert expense.eligible
    verdict = eligibility_of(example, ExpenseNature.BENEFICIARY_AID, datetime.date(2024, 9, 1))
    assert (verdict.eligible, verdict.reason) == (False, "Aides directes exclues.")


def test_amount_is_computed_from_units_and_checked(example):
    expense = record_expense(
        example,
        volet=volet(example, 1),
        nature=ExpenseNature.STAFF,
        label="Rémunération chef de projet",
        unit="mois",
        quantity=D("7"),
        unit_cost=D("3333.33"),
        period_start=datetime.date(2024, 6, 1),
        purpose="Chefferie de projet",
    )
    assert expense.amount == D("23333.31")
    with pytest.raises(ConventionError) as error:
        record_expense(
            example,
            volet=volet(example, 1),
            nature=ExpenseNature.STAFF,
            label="Rémunération",
            quantity=D("2"),
            unit_cost=D("100.00"),
            amount=D("250.00"),
            period_start=datetime.date(2024, 6, 1),
            purpose="x",
        )
    assert error.value.field == "amount"
    assert "ne correspond pas" in error.value.message


def test_expense_volet_must_match_its_action_sheet(example):
    with pytest.raises(ConventionError, match="relève du volet 2"):
        record_expense(
            example,
            volet=volet(example, 1),
            action_sheet=sheet(example, 3),
            nature=ExpenseNature.PARTNER_PARTICIPATION,
            label="SINAD",
            amount=D("4127.00"),
            period_start=datetime.date(2024, 7, 1),
            purpose="Sinademploi",
        )


def test_recording_an_expense_leaves_a_trace(example, admin):
    record_expense(
        example,
        action_sheet=sheet(example, 9),
        nature=ExpenseNature.STAFF,
        label="Animateur DORA",
        amount=D("12500.00"),
        period_start=datetime.date(2024, 1, 1),
        purpose="0,5 ETP",
        actor=admin,
    )
    entry = ConventionLog.objects.filter(convention=example, action="expense_recorded").get()
    assert entry.actor == admin
    assert entry.details["amount"] == "12500.00"


# --- échéancier, solde, trop-perçu ---------------------------------------------------------------------------


def test_payment_schedule_of_the_2024_convention(example):
    example.signed_on = datetime.date(2024, 5, 6)
    example.save()
    schedule = payment_schedule(example)
    advance, balance = schedule.items
    assert advance_amount(example) == D("438402.00")  # 60 % de 730 670
    assert (advance.expected, advance.due_on, advance.status) == (
        D("438402.00"),
        datetime.date(2024, 5, 6),
        "à recevoir",
    )
    assert advance.trigger == "À la signature de la convention"
    assert schedule.provisional_balance == D("292268.00")
    assert balance.due_on == datetime.date(2025, 3, 31)
    assert balance.trigger.startswith("Sur production du bilan final")
    record_payment(
        example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402.00")
    )
    assert payment_schedule(example).items[0].status == "reçu"


def test_advance_within_fifteen_days_as_in_the_2023_convention(example):
    example.signed_on = datetime.date(2023, 7, 10)
    example.advance_due_days = 15
    example.save()
    advance = payment_schedule(example).items[0]
    assert advance.due_on == datetime.date(2023, 7, 25)
    assert advance.trigger == "Dans les 15 jours suivant la signature de la convention"


def test_balance_when_every_planned_action_is_spent(example):
    record_expense(
        example,
        volet=volet(example, 1),
        nature=ExpenseNature.STAFF,
        label="Volet 1",
        amount=D("106000.00"),
        period_start=datetime.date(2024, 12, 31),
        purpose="Forfait",
    )
    record_expense(
        example,
        volet=volet(example, 2),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Volet 2",
        amount=D("1249340.00"),
        period_start=datetime.date(2024, 12, 31),
        purpose="Neuf fiches",
    )
    record_payment(
        example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402.00")
    )
    position = financial_position(example)
    assert position.state_share == D("730670.00")
    assert position.balance_due == D("292268.00")
    assert position.overpayment == 0
    balance = payment_schedule(example, position).items[1]
    assert (balance.expected, balance.status) == (D("292268.00"), "à recevoir")
    record_payment(
        example, kind=PaymentKind.BALANCE, received_on=datetime.date(2025, 4, 20), amount=D("292268.00")
    )
    position = financial_position(example)
    assert (position.balance_due, position.overpayment) == (0, 0)
    assert payment_schedule(example, position).items[1].status == "reçu"


def test_state_share_is_capped_at_the_volet_maximum(example):
    record_expense(
        example,
        volet=volet(example, 2),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Volet 2",
        amount=D("1300000.00"),
        period_start=datetime.date(2024, 6, 1),
        purpose="Au-delà du plan",
    )
    record_expense(
        example,
        volet=volet(example, 1),
        nature=ExpenseNature.STAFF,
        label="Volet 1",
        amount=D("120000.00"),
        period_start=datetime.date(2024, 6, 1),
        purpose="Au-delà du forfait",
    )
    v1, v2 = financial_position(example).volets
    assert (v2.financeable, v2.state_share, v2.capped) == (D("650000.00"), D("624670.00"), True)
    assert (v1.financeable, v1.state_share, v1.capped) == (D("120000.00"), D("106000.00"), True)


def test_hand_computed_balance_and_overpayment(hand_example):
    position = financial_position(hand_example)
    v1, v2 = position.volets
    assert (v1.expenses_total, v1.eligible_total, v1.ineligible_total) == (
        D("45320.50"),
        D("45000.00"),
        D("320.50"),
    )
    assert (v2.expenses_total, v2.eligible_total, v2.ineligible_total) == (
        D("152200.00"),
        D("143000.00"),
        D("9200.00"),
    )
    assert (v1.state_share, v2.state_share) == (D("45000.00"), D("71500.00"))
    assert position.state_share == D("116500.00")
    assert position.balance_due == D("116500.00")
    record_payment(
        hand_example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402.00")
    )
    position = financial_position(hand_example)
    assert position.balance_due == 0
    assert position.overpayment == D("321902.00")  # 438 402 − 116 500
    items = payment_schedule(hand_example, position).items
    assert [i.key for i in items] == ["advance", "balance", "overpayment"]
    assert (items[1].expected, items[1].status) == (0, "rien à verser")
    assert (items[2].expected, items[2].status) == (D("321902.00"), "à reverser")
    record_payment(
        hand_example, kind=PaymentKind.REFUND, received_on=datetime.date(2025, 4, 30), amount=D("321902.00")
    )
    position = financial_position(hand_example)
    assert (position.paid, position.overpayment, position.balance_due) == (D("116500.00"), 0, 0)
    assert payment_schedule(hand_example, position).items[2].status == "reversé"


def test_payment_must_be_positive(example):
    with pytest.raises(ConventionError, match="positif"):
        record_payment(
            example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("0")
        )


# --- bilans et rappels ----------------------------------------------------------------------------------------


def test_reminders_go_to_admins_and_managers_once_a_day(example, admin, manager, referent):
    reminders = send_report_reminders(datetime.date(2025, 3, 10), days=30)
    assert len(reminders) == 1
    reminder = reminders[0]
    assert reminder.sent and reminder.days_left == 21
    assert reminder.recipients == [admin.email, manager.email]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[Parcours] Bilan final à produire")
    assert "31/03/2025 (dans 21 jours)" in mail.outbox[0].body
    again = send_report_reminders(datetime.date(2025, 3, 10), days=30)
    assert not again[0].sent and len(mail.outbox) == 1


def test_reminders_respect_the_setting_and_dry_run(example, admin, settings):
    settings.PARCOURS_DELAYS = {**settings.PARCOURS_DELAYS, "convention_report_reminder_days": 10}
    assert send_report_reminders(datetime.date(2025, 3, 10)) == []
    listed = send_report_reminders(datetime.date(2025, 3, 25), dry_run=True)
    assert len(listed) == 1 and not listed[0].sent
    assert mail.outbox == []
    assert ReportDeadline.objects.get(convention=example).last_reminder_on is None


def test_overdue_reports_are_listed_until_submitted(example, admin):
    overdue = send_report_reminders(datetime.date(2025, 4, 15), days=30)
    assert overdue[0].overdue and overdue[0].days_left == -15
    assert "en retard de 15 jours" in mail.outbox[0].body
    deadline = ReportDeadline.objects.get(convention=example, kind=ReportKind.FINAL)
    mark_report_submitted(deadline, datetime.date(2025, 4, 16))
    assert send_report_reminders(datetime.date(2025, 4, 17), days=30) == []


def test_implementation_report_counts_new_entrants_of_the_period(example, departement):
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 1, 12))
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 1, 30))
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 3, 2))
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2023, 12, 28))
    BeneficiaryFactory(departement=departement, new_entrant_t0=None, is_sdd=False)
    report = implementation_report(example, datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    indicators = report["indicators"]
    assert indicators["beneficiaires_connus"] == 5
    assert indicators["beneficiaires_soumis_droits_devoirs"] == 4
    assert indicators["nouveaux_entrants"] == 3
    assert [(m.month, n) for m, n in indicators["nouveaux_entrants_par_mois"]] == [(1, 2), (3, 1)]
    assert [s.action_sheet.number for s in report["sheets"]] == [1, 3, 4, 6, 8, 2, 5, 7, 9]
    assert report["sheets"][0].planned_total == D("274000.00")


def test_beneficiaries_reached_counts_accepted_prescriptions_on_linked_services(example, departement):
    from django.utils import timezone

    from parcours.catalogue.models import Prescription, Service, Structure
    from parcours.conventions.services import beneficiaries_reached

    today = datetime.date(2024, 6, 1)
    structure = Structure.objects.create(source="parcours", di_id="s-bge", nom="BGE Bretagne", date_maj=today)
    service = Service.objects.create(
        source="parcours",
        di_id="svc-bge",
        nom="Accompagnement renforcé TI",
        structure=structure,
        date_maj=today,
    )
    fa1 = sheet(example, 1)
    fa1.services.add(service)
    people = [BeneficiaryFactory(departement=departement) for _ in range(3)]
    for person, status in [
        (people[0], "accepted"),
        (people[0], "accepted"),
        (people[1], "accepted"),
        (people[2], "refused"),
    ]:
        Prescription.objects.create(
            beneficiary=person,
            service=service,
            structure=structure,
            status=status,
            consent_at=timezone.now(),
            expires_on=today + datetime.timedelta(days=30),
        )
    assert beneficiaries_reached(fa1) == 2
    assert beneficiaries_reached(sheet(example, 2)) == 0


def test_beneficiaries_reached_also_counts_started_activities_once_per_person(example, departement):
    from parcours.accompaniment.models import ActivityKind, ActivityStatus, PlannedActivity
    from parcours.catalogue.models import Service, Structure
    from parcours.conventions.services import beneficiaries_reached

    today = datetime.date(2024, 6, 1)
    structure = Structure.objects.create(
        source="parcours", di_id="s-emmaus", nom="Emmaüs Rennes", date_maj=today
    )
    service = Service.objects.create(
        source="parcours",
        di_id="svc-phc",
        nom="Premières Heures en Chantier",
        structure=structure,
        date_maj=today,
    )
    fa2 = sheet(example, 2)
    fa2.services.add(service)
    people = [BeneficiaryFactory(departement=departement) for _ in range(5)]
    for person, status, starts_on in [
        (people[0], ActivityStatus.IN_PROGRESS, datetime.date(2024, 3, 4)),
        (people[0], ActivityStatus.DONE, datetime.date(2024, 1, 8)),  # même personne : comptée une fois
        (people[1], ActivityStatus.DONE, datetime.date(2024, 11, 4)),
        (people[2], ActivityStatus.PLANNED, datetime.date(2024, 4, 1)),  # pas encore commencée
        (people[3], ActivityStatus.IN_PROGRESS, datetime.date(2023, 12, 4)),  # avant la période
    ]:
        PlannedActivity.objects.create(
            beneficiary=person,
            kind=ActivityKind.IAE,
            label="Premières Heures en Chantier",
            service=service,
            weekly_hours=D("8"),
            weeks=12,
            starts_on=starts_on,
            status=status,
        )
    year = (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    assert beneficiaries_reached(fa2, *year) == 2
    assert beneficiaries_reached(fa2, datetime.date(2024, 1, 1), datetime.date(2024, 6, 30)) == 1
    assert beneficiaries_reached(fa2) == 3


def test_membership_role_change_stops_reminders(example, admin):
    admin.memberships.update(role=Role.REFERENT)
    reminders = send_report_reminders(datetime.date(2025, 3, 10), days=30)
    assert reminders[0].recipients == [] and not reminders[0].sent
    assert mail.outbox == []
