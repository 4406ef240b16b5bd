"""Pages du diagnostic partagé et du contrat d'engagement.

Permissions (une seule mécanique, ``permissions.access_for``) : toute lecture part de
``Beneficiary.objects.visible_to(user)`` (hors périmètre : 404) ; modifier demande un rôle référent,
chargé d'orientation ou administrateur dans une organisation qui suit la personne (sinon 403) ; les
données de santé ne sont montrées qu'à ces mêmes rôles.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access, person_of
from parcours.core.forms import add_validation_errors
from parcours.pathway import worklists

# Listes de travail (revues, contrats en retard, procédures, vérifications à 6 mois) : filtre, contexte et export
# partagés avec l'agenda et les prescriptions (``pathway.worklists``).
from parcours.pathway.worklists import (
    PERSON_HEADER,
    csv_date,
    export_work_list,
    person_cells,
    wants_csv,
    work_list,
    work_list_context,
)

from . import services
from .forms import ContractForm, DiagnosticForm, LateContractsForm, TransitionForm
from .models import Contract, ContractKind, ContractStatus
from .permissions import access_for

PAGE_SIZE = 50


def _beneficiary(request, pk):
    scope = Beneficiary.objects.visible_to(request.user).select_related("departement", "territory")
    return get_object_or_404(scope, pk=pk)


def _contract(request, contract_pk):
    contract = get_object_or_404(
        Contract.objects.select_related("organisation", "referent", "created_by", "diagnostic"),
        pk=contract_pk,
    )
    beneficiary = _beneficiary(request, contract.beneficiary_id)
    contract.beneficiary = beneficiary
    return contract, beneficiary


def _require_edit(access):
    if not access.can_edit:
        raise PermissionDenied(
            "Seuls les référents, chargés d'orientation et administrateurs d'une organisation qui suit "
            "la personne peuvent modifier son diagnostic ou son contrat."
        )


# --- diagnostic -----------------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Diagnostic partagé d'une personne suivie")
@require_GET
def diagnostic_detail(request, pk, number=None):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    history = list(services.diagnostic_history(beneficiary))
    if number is None:
        version = history[0] if history else None
    else:
        version = next((v for v in history if v.number == number), None)
        if version is None:
            raise Http404("Version du diagnostic introuvable.")
    context = {
        "title": f"Diagnostic — {beneficiary.full_name}",
        "beneficiary": beneficiary,
        "access": access,
        "version": version,
        "is_latest": version is not None and version is history[0],
        "history": history,
    }
    if version is not None:
        context["groups"] = services.grouped_situations(version, can_see_sensitive=access.can_see_sensitive)
        if not access.can_see_sensitive:
            context["hidden_sensitive"] = services.hidden_sensitive_count(version)
    return render(request, "accompaniment/diagnostic_detail.html", context)


@access(Level.AUTHENTICATED, person="pk", description="Modification du diagnostic")
@require_http_methods(["GET", "POST"])
def diagnostic_edit(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    _require_edit(access)
    initial, previous = services.prefill_diagnostic(beneficiary, can_see_sensitive=access.can_see_sensitive)
    if request.method == "POST":
        form = DiagnosticForm(request.POST, can_see_sensitive=access.can_see_sensitive)
        if form.is_valid():
            data = dict(form.cleaned_data)
            situations = data.pop("situations")
            try:
                version = services.save_diagnostic(
                    beneficiary,
                    author=request.user,
                    organisation=access.organisation,
                    can_see_sensitive=access.can_see_sensitive,
                    situations=situations,
                    **data,
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, f"Diagnostic enregistré (version {version.number}).")
                return redirect("accompaniment:diagnostic", pk=beneficiary.pk)
    else:
        form = DiagnosticForm(initial=initial, can_see_sensitive=access.can_see_sensitive)
    context = {
        "title": f"Diagnostic — {beneficiary.full_name}",
        "beneficiary": beneficiary,
        "access": access,
        "form": form,
        "previous": previous,
        "known_facts": services.known_facts(beneficiary),
        "groups": services.situations_by_theme(include_sensitive=access.can_see_sensitive),
        "selected": form.selected_situation_ids(),
    }
    return render(request, "accompaniment/diagnostic_form.html", context)


# --- contrats -------------------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Contrats d'une personne suivie")
@require_GET
def contract_list(request, pk):
    beneficiary = _beneficiary(request, pk)
    contracts = list(
        Contract.objects.filter(beneficiary=beneficiary)
        .select_related("organisation", "referent")
        .order_by("-created_at", "-pk")
    )
    context = {
        "title": f"Contrats — {beneficiary.full_name}",
        "beneficiary": beneficiary,
        "access": access_for(request.user, beneficiary),
        "contracts": contracts,
    }
    return render(request, "accompaniment/contract_list.html", context)


def _hours_text(hours):
    return f"{hours.normalize():f}".replace(".", ",")


def _contract_form_context(request, beneficiary, form, contract=None):
    hours = form.action_hours()
    action_groups = services.actions_by_theme()
    for _, items in action_groups:
        for item in items:
            item.hours = hours.get(item.pk, "")
    return {
        "title": "Contrat d'engagement — " + beneficiary.full_name,
        "beneficiary": beneficiary,
        "contract": contract,
        "form": form,
        "objective_groups": services.objectives_by_theme(),
        "action_groups": action_groups,
        "selected_objectives": form.selected_objective_ids(),
        "selected_actions": form.selected_action_ids(),
        "min_hours": services.min_weekly_hours(),
        "diagnostic": services.latest_diagnostic(beneficiary),
    }


@access(Level.AUTHENTICATED, person="pk", description="Nouveau contrat")
@require_http_methods(["GET", "POST"])
def contract_new(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    _require_edit(access)
    if request.method == "POST":
        form = ContractForm(request.POST, beneficiary=beneficiary)
        if form.is_valid():
            try:
                contract = services.create_contract(
                    beneficiary,
                    author=request.user,
                    kind=form.cleaned_data["kind"],
                    objectives=form.cleaned_data["objectives"],
                    actions=form.plan_actions(),
                    **form.service_fields(),
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Contrat enregistré en brouillon.")
                return redirect("accompaniment:contract_detail", contract_pk=contract.pk)
    else:
        form = ContractForm(
            beneficiary=beneficiary,
            initial={
                "kind": ContractKind.CONTRAT_ENGAGEMENT,
                "organisation": access.organisation,
                "referent": request.user,
                "rights_and_appeals": services.default_rights_and_appeals(beneficiary.departement),
            },
        )
    return render(
        request, "accompaniment/contract_form.html", _contract_form_context(request, beneficiary, form)
    )


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.Contract", "contract_pk"),
    description="Modification d'un contrat",
)
@require_http_methods(["GET", "POST"])
def contract_edit(request, contract_pk):
    contract, beneficiary = _contract(request, contract_pk)
    access = access_for(request.user, beneficiary)
    _require_edit(access)
    if not contract.is_editable:
        messages.error(
            request, "Un contrat signé ou terminé ne se modifie plus : rédigez un nouveau contrat."
        )
        return redirect("accompaniment:contract_detail", contract_pk=contract.pk)
    if request.method == "POST":
        form = ContractForm(request.POST, beneficiary=beneficiary)
        if form.is_valid():
            try:
                services.update_contract(
                    contract,
                    author=request.user,
                    objectives=form.cleaned_data["objectives"],
                    actions=form.plan_actions(),
                    **form.service_fields(),
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Contrat mis à jour.")
                return redirect("accompaniment:contract_detail", contract_pk=contract.pk)
    else:
        actions = list(contract.actions.all())
        initial = {
            name: getattr(contract, name) for name in ContractForm.base_fields if hasattr(contract, name)
        }
        initial["objectives"] = list(contract.objectives.values_list("pk", flat=True))
        initial["actions"] = [a.action_id for a in actions if a.action_id]
        initial["action_hours"] = {
            a.action_id: _hours_text(a.weekly_hours)
            for a in actions
            if a.action_id and a.weekly_hours is not None
        }
        initial["other_actions"] = "\n".join(
            f"{a.label} ; {_hours_text(a.weekly_hours)}" if a.weekly_hours is not None else a.label
            for a in actions
            if not a.action_id
        )
        form = ContractForm(beneficiary=beneficiary, initial=initial)
    context = _contract_form_context(request, beneficiary, form, contract)
    return render(request, "accompaniment/contract_form.html", context)


def _contract_context(contract, beneficiary):
    return {
        "contract": contract,
        "beneficiary": beneficiary,
        "objectives": list(
            contract.objectives.select_related("theme").order_by("theme__position", "position")
        ),
        "actions": list(contract.actions.select_related("action__theme")),
    }


@access(Level.AUTHENTICATED, person=person_of("accompaniment.Contract", "contract_pk"), description="Contrat")
@require_GET
def contract_detail(request, contract_pk):
    contract, beneficiary = _contract(request, contract_pk)
    access = access_for(request.user, beneficiary)
    context = _contract_context(contract, beneficiary)
    context.update(
        {
            "title": f"{contract.get_kind_display()} — {beneficiary.full_name}",
            "access": access,
            "changes": list(contract.status_changes.select_related("actor")),
            "transition_form": TransitionForm(initial={"on": timezone.localdate()}),
        }
    )
    return render(request, "accompaniment/contract_detail.html", context)


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.Contract", "contract_pk"),
    description="Changement de statut d'un contrat",
)
@require_POST
def contract_transition(request, contract_pk):
    contract, beneficiary = _contract(request, contract_pk)
    _require_edit(access_for(request.user, beneficiary))
    targets = {"signer": ContractStatus.SIGNED, "terminer": ContractStatus.ENDED}
    target = targets.get(request.POST.get("action"))
    form = TransitionForm(request.POST)
    if target is None:
        messages.error(request, "Action inconnue.")
    elif not form.is_valid():
        messages.error(request, "Date invalide : indiquez une date au format JJ/MM/AAAA.")
    else:
        try:
            services.transition_contract(
                contract,
                target,
                actor=request.user,
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, "Contrat signé." if target == ContractStatus.SIGNED else "Contrat terminé."
            )
    return redirect("accompaniment:contract_detail", contract_pk=contract.pk)


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.Contract", "contract_pk"),
    description="Contrat imprimable",
)
@require_GET
def contract_print(request, contract_pk):
    contract, beneficiary = _contract(request, contract_pk)
    context = _contract_context(contract, beneficiary)
    context["title"] = contract.get_kind_display()
    context["printed_on"] = timezone.localdate()
    return render(request, "accompaniment/contract_print.html", context)


# --- contrats en retard ---------------------------------------------------------------------------------


LATE_CONTRACTS_HEADER = [*PERSON_HEADER, "Orientation notifiée le", "Échéance", "Jours de retard"]


@access(Level.AUTHENTICATED, description="Contrats en retard du périmètre")
@require_GET
def late_contracts(request):
    form = LateContractsForm(request.GET or None)
    on = timezone.localdate()
    if form.is_bound and form.is_valid() and form.cleaned_data["on"]:
        on = form.cleaned_data["on"]
    work_filter, scope = work_list(request)
    late = services.late_contracts(scope, on)
    people = (
        worklists.with_referent_name(late)
        .select_related("departement", "territory")
        .order_by("orientation_notified_on", "last_name", "pk")
    )
    if wants_csv(request):

        def row(person):
            _person, notified_on, deadline, days_late = services.contract_deadline_row(person, on)
            return [
                *person_cells(person, person.referent_name),
                csv_date(notified_on),
                csv_date(deadline),
                days_late,
            ]

        return export_work_list(
            request,
            people,
            people=late.values_list("pk", "departement_id"),
            header=LATE_CONTRACTS_HEADER,
            row=row,
            filename="contrats-en-retard",
            reason="Export CSV des contrats d'engagement en retard",
        )
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "title": "Contrats d'engagement en retard",
        "form": form,
        "on": on,
        "rows": services.contract_deadline_rows(page.object_list, on),
        "list_url": reverse("accompaniment:late_contracts"),
        **work_list_context(work_filter, page, on=on.isoformat()),
    }
    return render(request, "accompaniment/late_contracts.html", context)
