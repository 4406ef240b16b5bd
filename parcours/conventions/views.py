"""Pages des conventions : réservées aux administrateurs et responsables du Département (et, en lecture
seule, à ceux des services de l'État rattachés au Département) ; seuls les administrateurs du Département
modifient. Les vues lisent la saisie, vérifient le droit, appellent un service."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.accounts.roles import CONVENTION_READER
from parcours.core.access import Level, access

from .forms import ExpenseForm, PaymentForm, PeriodForm, ReportSubmittedForm, Volet1IndicatorsForm
from .models import ZERO, Convention
from .reports import financial_report, financial_report_pdf, financial_report_xlsx, summary_rows
from .services import (
    ConventionError,
    beneficiaries_reached,
    budget_table,
    delete_expense,
    financial_position,
    financial_positions,
    implementation_report,
    mark_report_submitted,
    payment_schedule,
    record_expense,
    record_payment,
    update_volet1_indicators,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ_DENIED = CONVENTION_READER.message
EDIT_DENIED = "Seuls les administrateurs du Département modifient les conventions."


def convention_view(edit=False):
    """Permission des pages d'une convention : lecture (admin, responsable) ou écriture (admin)."""

    def decorator(view):
        @access(Level.AUTHENTICATED, description="Convention visible (Département, État rattaché)")
        @wraps(view)
        def wrapper(request, pk, *args, **kwargs):
            convention = get_object_or_404(
                Convention.objects.visible_to(request.user).select_related("departement"), pk=pk
            )
            can_edit = Convention.objects.editable_by(request.user).filter(pk=pk).exists()
            if edit and not can_edit:
                raise PermissionDenied(EDIT_DENIED)
            request.can_edit_convention = can_edit
            return view(request, convention, *args, **kwargs)

        return wrapper

    return decorator


@access(
    Level.AUTHENTICATED,
    requires=CONVENTION_READER,
    description="Conventions des Départements lisibles par l'agent",
)
@require_GET
def convention_list(request):
    visible = list(
        Convention.objects.visible_to(request.user)
        .select_related("departement")
        .prefetch_related("amendments")
    )
    conventions = list(zip(visible, financial_positions(visible), strict=True))
    return render(request, "conventions/list.html", {"title": "Conventions", "conventions": conventions})


@convention_view()
@require_GET
def convention_detail(request, convention):
    position = financial_position(convention)
    context = {
        "title": convention.title,
        "convention": convention,
        "can_edit": request.can_edit_convention,
        "budget": budget_table(convention),
        "position": position,
        "schedule": payment_schedule(convention, position),
        "expenses": convention.expenses.select_related("volet", "action_sheet").order_by(
            "volet__number", "period_start", "pk"
        ),
        "payments": convention.payments.all(),
        "deadlines": convention.report_deadlines.all(),
        "amendments": convention.amendments.all(),
        "rules": convention.eligibility_rules.all(),
        "today": timezone.localdate(),
    }
    return render(request, "conventions/detail.html", context)


@convention_view()
@require_GET
def action_sheet_detail(request, convention, number):
    sheet = get_object_or_404(convention.action_sheets.select_related("volet", "section"), number=number)
    lines = list(sheet.budget_lines.select_related("partner__organisation").order_by("order", "pk"))
    state_total = sum((line.state_amount for line in lines), ZERO)
    departement_total = sum((line.departement_amount for line in lines), ZERO)
    context = {
        "title": f"Fiche action {sheet.number}",
        "convention": convention,
        "sheet": sheet,
        "can_edit": request.can_edit_convention,
        "partners": sheet.partners.select_related("organisation"),
        "lines": lines,
        "state_total": state_total,
        "departement_total": departement_total,
        "sheet_total": state_total + departement_total,
        "services": sheet.services.select_related("structure"),
        "beneficiaries": beneficiaries_reached(sheet, convention.starts_on, convention.effective_ends_on),
        "expenses": sheet.expenses.order_by("period_start", "pk"),
    }
    return render(request, "conventions/action_sheet.html", context)


@convention_view(edit=True)
@require_http_methods(["GET", "POST"])
def expense_create(request, convention):
    form = ExpenseForm(request.POST or None, request.FILES or None, convention=convention)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            expense = record_expense(
                convention,
                actor=request.user,
                action_sheet=data["action_sheet"],
                volet=data["volet"],
                nature=data["nature"],
                label=data["label"],
                unit=data["unit"],
                quantity=data["quantity"],
                unit_cost=data["unit_cost"],
                amount=data["amount"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                purpose=data["purpose"],
                supporting_document=data["supporting_document"],
            )
        except ConventionError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if expense.eligible:
                messages.success(request, "Dépense enregistrée.")
            else:
                messages.warning(
                    request,
                    "Dépense enregistrée mais exclue du montant finançable par l'État : "
                    f"{expense.ineligibility_reason}",
                )
            return redirect("conventions:detail", pk=convention.pk)
    return render(
        request,
        "conventions/form.html",
        {"title": "Nouvelle dépense", "convention": convention, "form": form, "multipart": True},
    )


@convention_view(edit=True)
@require_POST
def expense_delete(request, convention, expense_pk):
    expense = get_object_or_404(convention.expenses, pk=expense_pk)
    delete_expense(expense, actor=request.user)
    messages.success(request, "Dépense supprimée.")
    return redirect("conventions:detail", pk=convention.pk)


@convention_view()
@require_GET
def expense_document(request, convention, expense_pk):
    expense = get_object_or_404(convention.expenses, pk=expense_pk)
    if not expense.supporting_document:
        raise Http404("Aucun justificatif.")
    return FileResponse(
        expense.supporting_document.open("rb"),
        as_attachment=True,
        filename=expense.supporting_document.name.rsplit("/", 1)[-1],
    )


@convention_view(edit=True)
@require_http_methods(["GET", "POST"])
def payment_create(request, convention):
    form = PaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record_payment(convention, actor=request.user, **form.cleaned_data)
        except ConventionError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Versement enregistré.")
            return redirect("conventions:detail", pk=convention.pk)
    return render(
        request,
        "conventions/form.html",
        {"title": "Nouveau versement", "convention": convention, "form": form},
    )


@convention_view(edit=True)
@require_POST
def report_submitted(request, convention, deadline_pk):
    deadline = get_object_or_404(convention.report_deadlines, pk=deadline_pk)
    form = ReportSubmittedForm(request.POST)
    if form.is_valid():
        mark_report_submitted(deadline, form.cleaned_data["submitted_on"], actor=request.user)
        messages.success(request, f"{deadline.get_kind_display()} marqué comme transmis.")
    else:
        messages.error(request, "Date de transmission invalide.")
    return redirect("conventions:detail", pk=convention.pk)


@convention_view(edit=True)
@require_http_methods(["GET", "POST"])
def volet1_indicators(request, convention):
    initial = {
        "project_management_fte": convention.project_management_fte,
        "project_management_position": convention.project_management_position,
        "digital_transformation_fte": convention.digital_transformation_fte,
        "roadmap_formalised": convention.roadmap_formalised,
    }
    form = Volet1IndicatorsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        update_volet1_indicators(convention, actor=request.user, **form.cleaned_data)
        messages.success(request, "Indicateurs du volet 1 enregistrés.")
        return redirect("conventions:detail", pk=convention.pk)
    return render(
        request,
        "conventions/form.html",
        {"title": "Indicateurs qualitatifs du volet 1", "convention": convention, "form": form},
    )


@convention_view()
@require_GET
def financial_report_view(request, convention):
    report = financial_report(convention)
    context = {
        "title": "Bilan financier",
        "report": report,
        "convention": convention,
        "summary": summary_rows(report),
    }
    if request.GET.get("format") == "print":
        return render(request, "conventions/financial_report_print.html", context)
    return render(request, "conventions/financial_report.html", context)


def _export_name(convention, suffix):
    return f"bilan-financier-{convention.departement.departement_code or convention.departement_id}-{convention.code}.{suffix}"


@convention_view()
@require_GET
def financial_report_xlsx_view(request, convention):
    response = HttpResponse(financial_report_xlsx(convention), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_export_name(convention, "xlsx")}"'
    return response


@convention_view()
@require_GET
def financial_report_pdf_view(request, convention):
    response = HttpResponse(financial_report_pdf(convention), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(convention, "pdf")}"'
    return response


@convention_view()
@require_GET
def implementation_report_view(request, convention):
    period = PeriodForm(request.GET or {"du": convention.starts_on, "au": convention.effective_ends_on})
    if not period.is_valid():
        messages.error(
            request, "Période invalide : " + " ".join(period.errors.get("__all__", ["dates attendues"]))
        )
        period = PeriodForm({"du": convention.starts_on, "au": convention.effective_ends_on})
        period.is_valid()
    report = implementation_report(convention, period.cleaned_data["du"], period.cleaned_data["au"])
    context = {
        "title": "Bilan de mise en œuvre",
        "convention": convention,
        "report": report,
        "period": period,
    }
    if request.GET.get("format") == "print":
        return render(request, "conventions/implementation_report_print.html", context)
    return render(request, "conventions/implementation_report.html", context)
