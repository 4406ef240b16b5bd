"""Pages des sanctions transmises à l'organisme payeur (CAF, MSA) : mois × organismes et nombre de mesures par
statut, fichier du mois (produit par ``sanction_exchange.transmit_month``, téléchargement inscrit au journal
d'accès), mesures d'un mois, fichier d'accusés de réception, nouvelle transmission d'une mesure rejetée.

Réservées aux chargés d'orientation et administrateurs du Département (``SANCTION_TRANSMITTER``), pour les
Départements où leur appartenance n'est pas limitée à un territoire (404 sinon).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.core.access import Level, access
from parcours.www.forms import DepartementUploadForm, uploads_removed

from . import sanction_exchange as exchange
from .models import NoticeStatus, SanctionNotice
from .permissions import SANCTION_TRANSMITTER, sanction_departements

MANAGE = {"requires": SANCTION_TRANSMITTER}
MAX_ERRORS = 200


class AcknowledgementForm(DepartementUploadForm):
    fichier = forms.FileField(
        label="Fichier d'accusés de réception de l'organisme payeur",
        help_text="CSV (« ; » ou « , »), colonnes reference ; statut (accuse ou rejete) ; motif ; date.",
    )


def _departement(request, pk=None):
    departements = sanction_departements(request.user)
    if not departements:
        raise Http404("Aucun Département dont vous transmettez les sanctions.")
    if pk is None:
        pk = request.GET.get("departement")
    if pk in (None, ""):
        return departements[0], departements
    for departement in departements:
        if str(departement.pk) == str(pk):
            return departement, departements
    raise Http404("Département introuvable.")


def _month(text):
    try:
        return exchange.parse_month(text)
    except ValidationError as error:
        raise Http404(error.messages[0]) from error


def _organism(organism):
    if organism not in exchange.ORGANISMS:
        raise Http404("Organisme inconnu.")
    return organism


def _page(request, departement, departements, form, report=None):
    context = {
        "title": "Sanctions transmises à l'organisme payeur",
        "departement": departement,
        "departements": departements,
        "rows": exchange.month_table(departement),
        "rejected": SanctionNotice.objects.filter(departement=departement, status=NoticeStatus.REJECTED)
        .select_related("beneficiary")
        .order_by("-answered_on", "pk")[:100],
        "form": form,
        "report": report,
        "report_errors": report.errors[:MAX_ERRORS] if report else [],
        "columns": exchange.COLUMNS,
    }
    return render(request, "accompaniment/exchange/transmissions.html", context)


@access(Level.AGENT, description="Sanctions transmises à l'organisme payeur (CAF, MSA)", **MANAGE)
@require_http_methods(["GET", "POST"])
def transmissions(request):
    """Mois × organismes ; en POST, le fichier d'accusés de réception de l'organisme."""
    if request.method == "POST":
        departements = sanction_departements(request.user)
        if not departements:
            raise Http404("Aucun Département dont vous transmettez les sanctions.")
        report = None
        with uploads_removed(request):
            form = AcknowledgementForm(request.POST, request.FILES, departements=departements)
            if form.is_valid():
                departement = form.cleaned_data["departement"]
                try:
                    report = exchange.import_acknowledgements(
                        form.cleaned_data["fichier"].read(), departement, actor=request.user
                    )
                except ValidationError as error:
                    form.add_error("fichier", error.messages[0])
        if report is not None:
            messages.success(
                request,
                f"Accusés : {report.acknowledged} ; rejets : {report.rejected} ; inchangées : "
                f"{report.unchanged} ; lignes refusées : {len(report.errors)}.",
            )
            return _page(
                request, departement, departements, AcknowledgementForm(departements=departements), report
            )
        departement = departements[0]
        if form.is_bound and form.cleaned_data.get("departement"):
            departement = form.cleaned_data["departement"]
        return _page(request, departement, departements, form)
    departement, departements = _departement(request)
    return _page(request, departement, departements, AcknowledgementForm(departements=departements))


@access(Level.AGENT, description="Mesures d'un mois pour un organisme payeur", **MANAGE)
@require_GET
def month_detail(request, departement_pk, organism, month):
    departement, _departements = _departement(request, departement_pk)
    month = _month(month)
    organism = _organism(organism)
    context = {
        "title": f"Sanctions pour la {organism} — {month:%m/%Y}",
        "departement": departement,
        "organism": organism,
        "month": month,
        "notices": exchange.notices_of(departement, organism, month),
        "file_name": exchange.file_name(departement, organism, month),
    }
    return render(request, "accompaniment/exchange/month.html", context)


@access(Level.AGENT, description="Fichier mensuel des sanctions pour l'organisme payeur", **MANAGE)
@require_POST
def month_file(request, departement_pk, organism, month):
    """Produit le fichier du mois (les mesures à transmettre deviennent transmises) et le télécharge ;
    téléchargement inscrit au journal d'accès, une entrée par personne du fichier."""
    departement, _departements = _departement(request, departement_pk)
    produced = exchange.transmit_month(departement, _organism(organism), _month(month), actor=request.user)
    if produced.people:
        exchange.audit_file(produced, departement, request=request)
    response = HttpResponse(produced.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{produced.name}"'
    return response


@access(Level.AGENT, description="Nouvelle transmission d'une mesure rejetée", **MANAGE)
@require_POST
def notice_resend(request, notice_pk):
    departements = sanction_departements(request.user)
    notice = get_object_or_404(SanctionNotice, pk=notice_pk, departement__in=departements)
    try:
        notice = exchange.resend(notice, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            f"La mesure {notice.reference} sera transmise dans le fichier de {notice.month:%m/%Y}.",
        )
    return redirect(f"{reverse('accompaniment:sanction_transmissions')}?departement={notice.departement_id}")
