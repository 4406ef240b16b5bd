"""Notifications d'orientation en PDF : liste des décisions à notifier (ou notifiées), sélection de lignes
imprimée en un seul PDF (un courrier par page, ``MAX_LETTERS`` au plus), PDF d'une décision.

Réservé à l'équipe d'orientation (``ORIENTATION_TEAM`` : 403 sinon) ; périmètre de ses files
(``permissions.team_scope``) : une décision demandée hors périmètre refuse tout le PDF (404). Chaque PDF est
inscrit au journal d'accès (une entrée par personne, ``audit.record_export``). Le texte des courriers est
dans ``documents`` (et ``decisions.render_decision_letter``).
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from parcours.accounts.roles import ORIENTATION_TEAM
from parcours.audit.services import record_export
from parcours.core.access import Level, access
from parcours.core.pdf import MAX_LETTERS, pdf_response, selected_ids, too_many_message

from . import documents, permissions
from .forms import SELECT
from .models import OrientationDecision

PAGE_SIZE = 50
TEAM = {"requires": ORIENTATION_TEAM}


class NotificationFilterForm(forms.Form):
    etat = forms.ChoiceField(label="Décisions", choices=documents.STATES, required=False, widget=SELECT)
    depuis = forms.DateField(
        label="Notifiées depuis le",
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "fr-input"}, format="%Y-%m-%d"),
    )


def _filters(request):
    form = NotificationFilterForm(request.GET or None)
    state, since = documents.TO_NOTIFY, documents.default_since()
    if form.is_bound and form.is_valid():
        state = form.cleaned_data["etat"] or state
        since = form.cleaned_data["depuis"] or since
    return form, state, since


def _record(request, decisions, kind):
    record_export(
        request,
        [(d.beneficiary_id, d.beneficiary.departement_id) for d in decisions],
        reason=f"Notifications d'orientation ({kind})",
    )


@access(Level.AUTHENTICATED, description="Notifications d'orientation à imprimer", **TEAM)
@require_GET
def notification_list(request):
    """Décisions à notifier (ou notifiées depuis une date) : cocher des lignes, puis « imprimer la sélection »."""
    form, state, since = _filters(request)
    decisions = documents.notification_decisions(
        permissions.team_scope(request.user), state=state, since=since
    )
    page = Paginator(decisions, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "title": "Notifications d'orientation à imprimer",
        "form": form,
        "state": state,
        "since": since,
        "page_obj": page,
        "query_string": params.urlencode(),
        "max_letters": MAX_LETTERS,
    }
    return render(request, "orientation/notification_list.html", context)


@access(Level.AUTHENTICATED, description="Notifications d'orientation sélectionnées (PDF)", **TEAM)
@require_POST
def notifications_pdf(request):
    """Un seul PDF des notifications cochées, une par page, dans l'ordre de la liste."""
    ids = selected_ids(request.POST.getlist("ids"))
    back = reverse("orientation:notification_list") + (
        "?" + request.POST["retour"] if request.POST.get("retour") else ""
    )
    if not ids:
        messages.error(request, "Cochez au moins une décision à imprimer.")
        return redirect(back)
    if message := too_many_message(len(ids)):
        messages.error(request, message)
        return redirect(back)
    scope = permissions.team_scope(request.user)
    decisions = list(
        documents.printable_decisions(
            OrientationDecision.objects.filter(pk__in=ids, beneficiary__in=scope.values("pk"))
        ).order_by("beneficiary__last_name", "beneficiary__first_name", "pk")
    )
    if len(decisions) != len(ids):
        raise Http404("Une décision demandée n'existe pas ou n'est pas dans votre périmètre.")
    pdf = documents.decisions_pdf(decisions)
    _record(request, decisions, "PDF, sélection")
    return pdf_response(pdf, "notifications-orientation")


@access(Level.AUTHENTICATED, description="Notification d'une décision d'orientation (PDF)", **TEAM)
@require_GET
def decision_pdf(request, decision_pk):
    queryset = documents.printable_decisions(
        OrientationDecision.objects.filter(beneficiary__in=permissions.team_scope(request.user).values("pk"))
    )
    decision = get_object_or_404(queryset, pk=decision_pk)
    pdf = documents.decisions_pdf([decision])
    _record(request, [decision], "PDF")
    return pdf_response(pdf, f"notification-orientation-{decision.pk}")
