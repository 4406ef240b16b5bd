"""Pages des conventions par HTTP : liste, convention, fiche action, saisies, bilans, exports, droits d'accès."""

import datetime
import io
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from parcours.accounts.models import OrganisationKind, Role
from parcours.conventions.models import (
    Amendment,
    BudgetLine,
    Convention,
    ConventionLog,
    Expense,
    ExpenseNature,
    Payment,
    PaymentKind,
    ReportDeadline,
    ReportKind,
    Volet,
)
from parcours.conventions.services import record_expense, record_payment
from tests.conventions.conftest import sheet, volet
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
NBSP, NNBSP = "\u00a0", "\u202f"


def page(response):
    return unescape(response.content.decode())


def euros(text):
    """« 116 500,00 € » tel que l'affichent les pages (espaces insécables)."""
    return text.replace(" ", NNBSP).replace(NNBSP + "€", NBSP + "€")


def url(name, convention, *args):
    return reverse(f"conventions:{name}", args=[convention.pk, *args])


# --- agents ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ddets(departement):
    """Services de l'État rattachés au Département (DDETS d'Ille-et-Vilaine)."""
    return OrganisationFactory(
        kind=OrganisationKind.ETAT,
        name="DDETS d'Ille-et-Vilaine",
        departement=departement,
    )


@pytest.fixture
def state_agent(ddets):
    return MembershipFactory(organisation=ddets, role=Role.MANAGER, user__email="agent@ddets35.gouv.fr").user


@pytest.fixture
def state_admin(ddets):
    return MembershipFactory(organisation=ddets, role=Role.ADMIN, user__email="admin@ddets35.gouv.fr").user


@pytest.fixture
def loire_atlantique():
    return DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")


@pytest.fixture
def other_admin(loire_atlantique):
    return MembershipFactory(
        organisation=loire_atlantique, role=Role.ADMIN, user__email="admin@loire-atlantique.fr"
    ).user


@pytest.fixture
def other_state_agent(loire_atlantique):
    ddets44 = OrganisationFactory(
        kind=OrganisationKind.ETAT, name="DDETS de Loire-Atlantique", departement=loire_atlantique
    )
    return MembershipFactory(organisation=ddets44, role=Role.ADMIN, user__email="agent@ddets44.gouv.fr").user


@pytest.fixture
def france_travail_admin(departement):
    agency = OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )
    return MembershipFactory(organisation=agency, role=Role.ADMIN, user__email="admin@francetravail.fr").user


READ_PAGES = [
    ("detail", ()),
    ("action_sheet", (1,)),
    ("financial_report", ()),
    ("financial_report_xlsx", ()),
    ("financial_report_pdf", ()),
    ("implementation_report", ()),
]
EDIT_PAGES = [
    ("expense_create", ()),
    ("payment_create", ()),
    ("volet1_indicators", ()),
]


# --- droits d'accès -------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, example):
    for name, args in [*READ_PAGES, *EDIT_PAGES]:
        response = client.get(url(name, example, *args))
        assert response.status_code == 302 and response.url.startswith(reverse("login")), name
    assert client.get(reverse("conventions:list")).status_code == 302


@pytest.mark.parametrize("who", ["admin", "manager", "state_agent", "state_admin"])
def test_departement_admins_managers_and_attached_state_services_read_every_page(
    client, example, who, request
):
    client.force_login(request.getfixturevalue(who))
    html = page(client.get(reverse("conventions:list")))
    assert example.title in html
    for name, args in READ_PAGES:
        assert client.get(url(name, example, *args)).status_code == 200, name


@pytest.mark.parametrize("who", ["manager", "state_agent", "state_admin"])
def test_only_departement_admins_edit(client, example, who, request):
    client.force_login(request.getfixturevalue(who))
    html = page(client.get(url("detail", example)))
    assert "Ajouter une dépense" not in html and "Enregistrer un versement" not in html
    assert "Marquer transmis" not in html
    for name, args in EDIT_PAGES:
        response = client.get(url(name, example, *args))
        assert response.status_code == 403, name
    response = client.post(
        url("payment_create", example),
        {"kind": PaymentKind.ADVANCE, "received_on": "2024-05-20", "amount": "438402"},
    )
    assert response.status_code == 403
    assert not Payment.objects.exists()
    deadline = example.report_deadlines.get()
    assert (
        client.post(url("report_submitted", example, deadline.pk), {"submitted_on": "2025-03-01"}).status_code
        == 403
    )
    deadline.refresh_from_db()
    assert deadline.submitted_on is None


@pytest.mark.parametrize("who", ["referent", "other_admin", "other_state_agent", "france_travail_admin"])
def test_other_roles_and_organisations_are_refused(client, example, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(reverse("conventions:list"))
    if who == "other_admin" or who == "other_state_agent":
        # Agents d'un autre Département : la liste s'ouvre, sans la convention d'Ille-et-Vilaine.
        assert response.status_code == 200 and example.title not in page(response)
    else:
        assert response.status_code == 403
    for name, args in [*READ_PAGES, *EDIT_PAGES]:
        assert client.get(url(name, example, *args)).status_code == 404, name
    assert client.post(url("expense_create", example), {}).status_code == 404


def test_state_services_without_a_departement_see_no_convention(client, example):
    national = OrganisationFactory(kind=OrganisationKind.ETAT, name="DGEFP", departement=None)
    user = MembershipFactory(organisation=national, role=Role.ADMIN).user
    client.force_login(user)
    assert client.get(reverse("conventions:list")).status_code == 403
    assert client.get(url("detail", example)).status_code == 404


def test_inactive_membership_loses_access(client, example, admin):
    admin.memberships.update(is_active=False)
    client.force_login(admin)
    assert client.get(reverse("conventions:list")).status_code == 403
    assert client.get(url("detail", example)).status_code == 404


def test_state_agent_downloads_supporting_documents_for_control(client, example, admin, state_agent):
    """Article 8 : le Département facilite l'accès de l'État aux pièces justificatives."""
    expense = record_expense(
        example,
        action_sheet=sheet(example, 1),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Participation versée à la BGE",
        amount=D("98000.00"),
        period_start=datetime.date(2024, 2, 15),
        purpose="Accompagnement renforcé des travailleurs indépendants",
        supporting_document=SimpleUploadedFile("mandat-bge.pdf", b"%PDF-1.4 mandat", "application/pdf"),
    )
    client.force_login(state_agent)
    response = client.get(url("expense_document", example, expense.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 mandat"
    assert 'filename="mandat-bge.pdf"' in response["Content-Disposition"]
    assert client.post(url("expense_delete", example, expense.pk)).status_code == 403
    assert Expense.objects.filter(pk=expense.pk).exists()


# --- liste -----------------------------------------------------------------------------------------------------


def test_list_shows_the_financial_position_of_each_convention(client, hand_example, admin):
    record_payment(
        hand_example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402")
    )
    client.force_login(admin)
    html = page(client.get(reverse("conventions:list")))
    assert "du 01/01/2024 au 31/12/2024" in html
    # Maximum 730 670 ; versé 438 402 ; retenu 45 000 + 50 % × 143 000 = 116 500 → trop-perçu 321 902.
    for amount in ["730 670,00 €", "438 402,00 €", "321 902,00 €"]:
        assert euros(amount) in html
    assert euros("0,00 €") in html  # solde dû


def test_list_without_convention_explains_how_to_load_the_example(client, admin):
    client.force_login(admin)
    assert "parcours conventions-example" in page(client.get(reverse("conventions:list")))


def make_convention(departement, n):
    """Une convention complète : deux volets, lignes budgétaires, avenant, dépenses, versements, bilan."""
    convention = Convention.objects.create(
        departement=departement,
        code=f"convention-{n}",
        title=f"Convention d'essai n° {n}",
        state_party="Le préfet de région",
        departement_party="Le président du conseil départemental",
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2024, 12, 31),
    )
    v1 = Volet.objects.create(
        convention=convention,
        number=1,
        title="Préparer la réforme",
        max_state_amount=D("100000"),
        is_lump_sum=True,
    )
    v2 = Volet.objects.create(
        convention=convention,
        number=2,
        title="Solutions locales",
        max_state_amount=D("200000"),
        state_share_rate=D("0.5"),
    )
    BudgetLine.objects.create(volet=v1, label="Chef de projet", state_amount=D("100000"))
    BudgetLine.objects.create(
        volet=v2, label="Actions", state_amount=D("200000"), departement_amount=D("200000")
    )
    Amendment.objects.create(
        convention=convention, number=1, subject="Prolongation", new_ends_on=datetime.date(2025, 6, 30)
    )
    ReportDeadline.objects.create(
        convention=convention, kind=ReportKind.FINAL, due_on=datetime.date(2025, 9, 30)
    )
    for v, amount in [(v1, "1000"), (v2, "3000")]:
        record_expense(
            convention,
            volet=v,
            nature=ExpenseNature.STAFF,
            label="Dépense",
            amount=D(amount),
            period_start=datetime.date(2024, 3, 1),
            purpose="Essai",
        )
    record_payment(
        convention, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 3, 1), amount=D("180000")
    )
    return convention


def test_list_page_query_count_does_not_grow_with_conventions(
    client, departement, admin, django_assert_max_num_queries
):
    make_convention(departement, 1)
    client.force_login(admin)
    with django_assert_max_num_queries(11) as one:
        client.get(reverse("conventions:list"))
    for n in range(2, 7):
        make_convention(departement, n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = page(client.get(reverse("conventions:list")))
    assert html.count("Convention d'essai n°") == 6
    assert "du 01/01/2024 au 30/06/2025" in html  # fin reportée par l'avenant
    # Retenu : 1 000 + 50 % × 3 000 = 2 500 ; versé 180 000 → trop-perçu 177 500.
    assert html.count(euros("177 500,00 €")) == 6


def test_detail_page_query_count_does_not_grow_with_expenses(
    client, hand_example, admin, django_assert_max_num_queries
):
    client.force_login(admin)
    response = client.get(url("detail", hand_example))
    assert response.status_code == 200
    with django_assert_max_num_queries(25) as before:
        client.get(url("detail", hand_example))
    for i in range(10):
        record_expense(
            hand_example,
            action_sheet=sheet(hand_example, 3 + i % 5),
            nature=ExpenseNature.PARTNER_PARTICIPATION,
            label=f"Participation n° {i}",
            amount=D("100"),
            period_start=datetime.date(2024, 4, 1),
            purpose="Essai",
        )
        record_payment(
            hand_example, kind=PaymentKind.OTHER, received_on=datetime.date(2024, 6, 1), amount=D("10")
        )
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(url("detail", hand_example))


# --- convention et fiche action -------------------------------------------------------------------------------


def test_detail_shows_budget_position_schedule_and_refusals(client, hand_example, admin):
    record_payment(
        hand_example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402")
    )
    client.force_login(admin)
    html = page(client.get(url("detail", hand_example)))
    assert "État 50 % / Département 50 % du coût des actions" in html
    assert euros("624 670,00 €") in html and euros("106 000,00 €") in html
    assert euros("116 500,00 €") in html  # montant retenu au titre de l'État
    assert euros("321 902,00 €") in html  # trop-perçu
    assert "Trop-perçu à date à reverser à l'État" in html
    assert "Avance de 60 % du montant prévisionnel (" + euros("730 670,00 €") + ")" in html
    assert "Les frais de mission (déplacements, hébergement, restauration du personnel)" in html
    assert "Ajouter une dépense" in html and "Marquer transmis" in html


def test_action_sheet_page_shows_partners_budget_and_expenses(client, hand_example, manager):
    client.force_login(manager)
    html = page(client.get(url("action_sheet", hand_example, 1)))
    assert "Fiche action 1 — Accompagnement renforcé des bénéficiaires du RSA" in html
    assert "BGE Bretagne" in html
    assert euros("137 000,00 €") in html and euros("274 000,00 €") in html
    assert "Participation versée à la BGE" in html and euros("98 000,00 €") in html
    assert "Bénéficiaires touchés" in html
    refused = page(client.get(url("action_sheet", hand_example, 8)))
    assert "non éligible : Les dépenses liées aux frais généraux" in refused
    assert client.get(url("action_sheet", hand_example, 10)).status_code == 404


# --- saisie des dépenses ----------------------------------------------------------------------------------------


def test_admin_records_an_expense_from_units_and_unit_cost(client, example, admin):
    client.force_login(admin)
    form = page(client.get(url("expense_create", example)))
    assert "Fiche action 2 — Dispositif Premières Heures en Chantier" in form
    response = client.post(
        url("expense_create", example),
        {
            "action_sheet": sheet(example, 2).pk,
            "nature": ExpenseNature.STAFF,
            "label": "Encadrant technique",
            "unit": "mois",
            "quantity": "6",
            "unit_cost": "2 812,50",
            "amount": "",
            "period_start": "2024-01-01",
            "period_end": "2024-06-30",
            "purpose": "Encadrement des chantiers",
            "supporting_document": SimpleUploadedFile("bulletins.pdf", b"%PDF-1.4", "application/pdf"),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("detail", example)
    expense = Expense.objects.get()
    assert (expense.amount, expense.volet.number, expense.eligible) == (D("16875.00"), 2, True)
    assert expense.recorded_by == admin
    assert expense.supporting_document.name.endswith("bulletins.pdf")
    html = page(response)
    assert "Dépense enregistrée." in html and euros("16 875,00 €") in html
    assert ConventionLog.objects.filter(convention=example, action="expense_recorded", actor=admin).exists()


def test_an_ineligible_expense_is_kept_with_the_reason_shown(client, example, admin):
    client.force_login(admin)
    response = client.post(
        url("expense_create", example),
        {
            "volet": volet(example, 2).pk,
            "nature": ExpenseNature.TRAINING_SERVICE,
            "label": "Formation des référents",
            "amount": "4 500",
            "period_start": "2024-09-10",
            "purpose": "Formation à l'accompagnement rénové",
        },
        follow=True,
    )
    html = page(response)
    assert "Dépense enregistrée mais exclue du montant finançable par l'État" in html
    assert "Le recours à des prestations de formation n'est pas éligible au financement de l'État" in html
    expense = Expense.objects.get()
    assert not expense.eligible and expense.amount == D("4500.00")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"quantity": "12", "unit_cost": "3750", "amount": "40000"}, "ne correspond pas au nombre d'unités"),
        ({"amount": ""}, "Indiquez le montant, ou le nombre d'unités et le coût unitaire."),
        ({"amount": "100", "period_end": "2024-01-01"}, "La fin de la période précède son début."),
        ({"amount": "100", "volet": None}, "Indiquez le volet ou la fiche action de la dépense."),
    ],
)
def test_invalid_expenses_are_refused_with_a_french_message(client, example, admin, data, message):
    client.force_login(admin)
    payload = {
        "volet": volet(example, 1).pk,
        "nature": ExpenseNature.STAFF,
        "label": "Chef de projet",
        "period_start": "2024-02-01",
        "purpose": "Chefferie de projet",
        **data,
    }
    response = client.post(
        url("expense_create", example), {k: v for k, v in payload.items() if v is not None}
    )
    assert response.status_code == 200
    assert message in page(response)
    assert not Expense.objects.exists()


def test_expense_from_another_convention_sheet_is_refused(client, example, departement, admin):
    other = make_convention(departement, 1)
    client.force_login(admin)
    response = client.post(
        url("expense_create", other),
        {
            "action_sheet": sheet(example, 1).pk,
            "nature": ExpenseNature.STAFF,
            "label": "Chef de projet",
            "amount": "100",
            "period_start": "2024-02-01",
            "purpose": "Chefferie",
        },
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in page(response)
    assert other.expenses.count() == 2


def test_supporting_document_format_is_checked(client, example, admin):
    client.force_login(admin)
    response = client.post(
        url("expense_create", example),
        {
            "volet": volet(example, 1).pk,
            "nature": ExpenseNature.STAFF,
            "label": "Chef de projet",
            "amount": "100",
            "period_start": "2024-02-01",
            "purpose": "Chefferie",
            "supporting_document": SimpleUploadedFile("facture.exe", b"MZ", "application/octet-stream"),
        },
    )
    assert "Format de justificatif non accepté" in page(response)
    assert not Expense.objects.exists()


def test_admin_deletes_an_expense_by_post_only(client, hand_example, admin):
    expense = hand_example.expenses.get(label="Location de salle")
    client.force_login(admin)
    assert client.get(url("expense_delete", hand_example, expense.pk)).status_code == 405
    response = client.post(url("expense_delete", hand_example, expense.pk), follow=True)
    assert "Dépense supprimée." in page(response)
    assert not Expense.objects.filter(pk=expense.pk).exists()
    assert ConventionLog.objects.filter(action="expense_deleted", actor=admin).exists()


def test_document_of_an_expense_without_one_is_not_found(client, hand_example, admin):
    client.force_login(admin)
    expense = hand_example.expenses.first()
    assert client.get(url("expense_document", hand_example, expense.pk)).status_code == 404


# --- versements, bilans transmis, indicateurs du volet 1 --------------------------------------------------------


def test_admin_records_the_advance_then_a_refund(client, hand_example, admin):
    client.force_login(admin)
    response = client.post(
        url("payment_create", hand_example),
        {
            "kind": PaymentKind.ADVANCE,
            "received_on": "2024-05-20",
            "amount": "438 402,00",
            "reference": "EJ 2103",
        },
        follow=True,
    )
    assert "Versement enregistré." in page(response)
    payment = Payment.objects.get()
    assert (payment.amount, payment.recorded_by) == (D("438402.00"), admin)
    client.post(
        url("payment_create", hand_example),
        {"kind": PaymentKind.REFUND, "received_on": "2025-04-30", "amount": "321902"},
    )
    html = page(client.get(url("detail", hand_example)))
    assert "Reversement d'un trop-perçu" in html
    # 438 402 − 321 902 = 116 500 versés nets : ni solde ni trop-perçu.
    assert "reversé" in html
    position_row = html[html.index("Versements reçus (nets des reversements)") :]
    assert position_row.split("</tr>")[0].endswith(euros("116 500,00 €") + "</td>")


def test_payment_amount_must_be_positive(client, example, admin):
    client.force_login(admin)
    response = client.post(
        url("payment_create", example),
        {"kind": PaymentKind.ADVANCE, "received_on": "2024-05-20", "amount": "0"},
    )
    assert response.status_code == 200 and "fr-error-text" in page(response)
    assert not Payment.objects.exists()


def test_admin_marks_the_final_report_submitted(client, example, admin):
    deadline = example.report_deadlines.get(kind=ReportKind.FINAL)
    client.force_login(admin)
    response = client.post(
        url("report_submitted", example, deadline.pk), {"submitted_on": "2025-03-28"}, follow=True
    )
    assert "Bilan final marqué comme transmis." in page(response)
    deadline.refresh_from_db()
    assert deadline.submitted_on == datetime.date(2025, 3, 28)
    response = client.post(
        url("report_submitted", example, deadline.pk), {"submitted_on": "pas une date"}, follow=True
    )
    assert "Date de transmission invalide." in page(response)


def test_admin_fills_the_volet_1_indicators(client, example, admin):
    client.force_login(admin)
    response = client.post(
        url("volet1_indicators", example),
        {
            "project_management_fte": "1,5",
            "project_management_position": "Rattachée au directeur général adjoint solidarités",
            "digital_transformation_fte": "0,5",
            "roadmap_formalised": "true",
        },
        follow=True,
    )
    assert "Indicateurs du volet 1 enregistrés." in page(response)
    example.refresh_from_db()
    assert example.project_management_fte == D("1.50")
    assert example.digital_transformation_fte == D("0.50")
    assert example.roadmap_formalised is True
    report = page(client.get(url("implementation_report", example)))
    assert "Rattachée au directeur général adjoint solidarités" in report


# --- bilans et exports -------------------------------------------------------------------------------------------


def test_financial_report_page_reproduces_the_hand_computed_cells(client, hand_example, state_agent):
    record_payment(
        hand_example, kind=PaymentKind.ADVANCE, received_on=datetime.date(2024, 5, 20), amount=D("438402")
    )
    client.force_login(state_agent)
    for query in ["", "?format=print"]:
        html = page(client.get(url("financial_report", hand_example) + query))
        rows = {
            "Volet 1 — dépenses enregistrées": "45 320,50 €",
            "Volet 1 — dont dépenses non éligibles": "320,50 €",
            "Volet 1 — montant retenu au titre de l'État": "45 000,00 €",
            "Volet 2 — dépenses enregistrées": "152 200,00 €",
            "Volet 2 — dont dépenses non éligibles": "9 200,00 €",
            "Volet 2 — part de l'État appliquée aux dépenses éligibles": "71 500,00 €",
            "Montant retenu au titre de l'État (total)": "116 500,00 €",
            "Avance prévue à la signature": "438 402,00 €",
            "Solde restant dû par l'État": "0,00 €",
            "Trop-perçu à reverser à l'État": "321 902,00 €",
        }
        for label, amount in rows.items():
            assert f'<tr><td>{label}</td><td class="fr-cell--right">{euros(amount)}</td></tr>' in html, label
        assert "Sous-total — Dépenses relatives au renforcement des équipes locales CD" in html
        assert "Fiche action 1 : Participation versée à la BGE" in html


def test_xlsx_and_pdf_exports_are_downloads_named_after_the_convention(client, hand_example, state_agent):
    client.force_login(state_agent)
    response = client.get(url("financial_report_xlsx", hand_example))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="bilan-financier-35-insertion-emploi-2024.xlsx"'
    )
    wb = load_workbook(io.BytesIO(response.content))
    summary = wb["Synthèse"]
    figures = {summary[f"A{r}"].value: summary[f"B{r}"].value for r in range(1, summary.max_row + 1)}
    assert figures["Montant retenu au titre de l'État (total)"] == 116500
    assert wb["Volet 2"]["G17"].value == 143000
    pdf = client.get(url("financial_report_pdf", hand_example))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="bilan-financier-35-insertion-emploi-2024.pdf"'
    assert pdf.content.startswith(b"%PDF-")


def test_implementation_report_for_a_period(client, hand_example, departement, manager):
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 2, 3))
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 2, 20))
    BeneficiaryFactory(departement=departement, new_entrant_t0=datetime.date(2024, 7, 1))
    client.force_login(manager)
    html = page(
        client.get(url("implementation_report", hand_example), {"du": "2024-01-01", "au": "2024-03-31"})
    )
    assert "Période du 01/01/2024 au 31/03/2024." in html
    assert '<td>Nouveaux entrants (T0 dans la période)</td><td class="fr-cell--right">2</td>' in html
    assert "février 2024" in html
    # Fiche 1 : 98 000 dépensés (15/02/2024) sur 274 000 prévus → 35,8 %.
    row = html[html.index("1. Accompagnement renforcé des bénéficiaires du RSA") :].split("</tr>")[0]
    assert euros("274 000,00 €") in row and euros("98 000,00 €") in row and "35,8\u00a0%" in row
    printable = client.get(
        url("implementation_report", hand_example),
        {"du": "2024-01-01", "au": "2024-03-31", "format": "print"},
    )
    assert printable.status_code == 200


def test_implementation_report_with_an_invalid_period_falls_back_to_the_convention(client, example, manager):
    client.force_login(manager)
    response = client.get(url("implementation_report", example), {"du": "2024-06-01", "au": "2024-01-01"})
    html = page(response)
    assert "Période invalide : La fin de la période précède son début." in html
    assert "Période du 01/01/2024 au 31/12/2024." in html
