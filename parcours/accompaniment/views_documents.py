"""Documents en PDF de l'accompagnement : contrat d'engagement (un contrat, ou une sélection de la liste des
contrats du périmètre en un seul PDF) et courrier de l'étape d'une procédure de sanction (un, ou une
sélection des procédures en cours).

Périmètre : ``Beneficiary.objects.visible_to`` (un document demandé hors périmètre refuse tout le PDF : 404).
Un PDF contient au plus ``MAX_LETTERS`` documents (message en français au-delà). Chaque téléchargement est
inscrit au journal d'accès, une entrée par personne (``audit.record_export``). Le texte des documents est dans
``documents`` ; les vues lisent, vérifient et renvoient.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from parcours.audit.services import record_export
from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access
from parcours.core.pdf import MAX_LETTERS, pdf_response, selected_ids, too_many_message
from parcours.pathway import worklists

from . import documents, sanctions
from .forms import SELECT
from .models import Contract, ContractKind, ContractStatus, SanctionCase

PAGE_SIZE = 50


def _scope(request):
    return Beneficiary.objects.visible_to(request.user)


def _record(request, objects, reason):
    record_export(request, [(o.beneficiary_id, o.beneficiary.departement_id) for o in objects], reason=reason)


def _selection(request, queryset, *, back, empty, ordering):
    """Les objets cochés (``ids``) lus dans ``queryset`` (périmètre de l'agent) ; une réponse de redirection
    avec un message si la sélection est vide ou trop grande ; 404 si un objet est hors périmètre."""
    ids = selected_ids(request.POST.getlist("ids"))
    if request.POST.get("retour"):
        back += "?" + request.POST["retour"]
    if not ids:
        messages.error(request, empty)
        return None, redirect(back)
    if message := too_many_message(len(ids)):
        messages.error(request, message)
        return None, redirect(back)
    objects = list(queryset.filter(pk__in=ids).order_by(*ordering))
    if len(objects) != len(ids):
        raise Http404("Un document demandé n'existe pas ou n'est pas dans votre périmètre.")
    return objects, None


# --- contrats -------------------------------------------------------------------------------------------


class ContractFilterForm(forms.Form):
    statut = forms.ChoiceField(
        label="Statut", choices=[("", "Tous"), *ContractStatus.choices], required=False, widget=SELECT
    )
    type = forms.ChoiceField(
        label="Type de contrat", choices=[("", "Tous"), *ContractKind.choices], required=False, widget=SELECT
    )


def contracts_of(request, work_filter, form):
    """Les contrats de la liste : personnes du périmètre (ou « mes personnes », ou les contrats dont l'agent
    est le référent), filtrés par statut et type ; les plus récents d'abord."""
    contracts = worklists.objects(
        Contract.objects.all(), request.user, work_filter, own=Q(referent_id=request.user.pk)
    )
    if form.is_valid():
        if form.cleaned_data["statut"]:
            contracts = contracts.filter(status=form.cleaned_data["statut"])
        if form.cleaned_data["type"]:
            contracts = contracts.filter(kind=form.cleaned_data["type"])
    return documents.printable_contracts(contracts).order_by("-created_at", "-pk")


@access(Level.AGENT, description="Contrats du périmètre (impression en nombre)")
@require_GET
def contract_index(request):
    own = Contract.objects.filter(referent_id=request.user.pk)
    work_filter = worklists.read_filter(request.user, request.GET, own=own)
    form = ContractFilterForm(request.GET)
    contracts = contracts_of(request, work_filter, form).select_related("beneficiary__territory")
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    extra = {key: request.GET.get(key) for key in ("statut", "type")}
    context = {
        "title": "Contrats d'engagement",
        "form": form,
        "max_letters": MAX_LETTERS,
        **worklists.work_list_context(
            work_filter,
            page,
            who_choices=((worklists.MINE, "Mes contrats"), (worklists.ALL, "Tout mon périmètre")),
            **extra,
        ),
    }
    return render(request, "accompaniment/contract_index.html", context)


@access(Level.AGENT, description="Contrats sélectionnés (PDF)")
@require_POST
def contracts_pdf(request):
    """Un seul PDF des contrats cochés, chacun sur une nouvelle page, par nom de la personne."""
    queryset = documents.printable_contracts(Contract.objects.filter(beneficiary__in=_scope(request)))
    contracts, refusal = _selection(
        request,
        queryset,
        back=reverse("accompaniment:contract_index"),
        empty="Cochez au moins un contrat à imprimer.",
        ordering=("beneficiary__last_name", "beneficiary__first_name", "pk"),
    )
    if refusal:
        return refusal
    pdf = documents.contracts_pdf(contracts)
    _record(request, contracts, "Contrats d'engagement (PDF, sélection)")
    return pdf_response(pdf, "contrats")


@access(Level.AUTHENTICATED, description="Contrat en PDF")
@require_GET
def contract_pdf(request, contract_pk):
    queryset = documents.printable_contracts(Contract.objects.filter(beneficiary__in=_scope(request)))
    contract = get_object_or_404(queryset, pk=contract_pk)
    pdf = documents.contracts_pdf([contract])
    _record(request, [contract], "Contrat d'engagement (PDF)")
    return pdf_response(pdf, f"contrat-{contract.pk}")


# --- procédures de sanction -----------------------------------------------------------------------------


@access(Level.AUTHENTICATED, description="Courrier de procédure en PDF")
@require_GET
def case_pdf(request, case_pk):
    queryset = documents.printable_cases(SanctionCase.objects.filter(beneficiary__in=_scope(request)))
    case = get_object_or_404(queryset, pk=case_pk)
    if sanctions.letter(case) is None:
        raise Http404("Aucun courrier à cette étape de la procédure.")
    pdf = documents.cases_pdf([case])
    _record(request, [case], "Courrier de procédure de sanction (PDF)")
    return pdf_response(pdf, f"courrier-procedure-{case.pk}")


@access(Level.AGENT, description="Courriers des procédures sélectionnées (PDF)")
@require_POST
def cases_pdf(request):
    """Un seul PDF des courriers des procédures cochées (celles sans courrier à leur étape sont omises)."""
    queryset = documents.printable_cases(SanctionCase.objects.filter(beneficiary__in=_scope(request)))
    cases, refusal = _selection(
        request,
        queryset,
        back=reverse("accompaniment:cases_in_progress"),
        empty="Cochez au moins une procédure.",
        ordering=("beneficiary__last_name", "beneficiary__first_name", "pk"),
    )
    if refusal:
        return refusal
    printed = [case for case in cases if sanctions.letter(case) is not None]
    if not printed:
        messages.error(request, "Aucune des procédures cochées n'a de courrier à son étape.")
        return redirect(reverse("accompaniment:cases_in_progress"))
    pdf = documents.cases_pdf(printed)
    _record(request, printed, "Courriers de procédure de sanction (PDF, sélection)")
    return pdf_response(pdf, "courriers-procedures")
