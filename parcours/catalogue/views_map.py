"""Pages de la cartographie parcours–offre : tableau filtré et totaux, export CSV/XLSX, carte SVG, saisie des
financements d'un service (administrateurs du Département). Les règles et les calculs sont dans
``offer_map.py``. Aucune donnée personnelle : ni journal d'accès ni périmètre de personnes."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.accounts.models import Territory
from parcours.accounts.roles import DEPARTEMENT_ADMIN, OFFER_MAP_READER
from parcours.core.csv_export import streaming_csv_response

from . import offer_map
from . import permissions as perms
from .forms import FinancingForm, OfferMapFilterForm
from .models import Service, ServiceFinancing


def _filtered(request):
    departements = offer_map.readable_departements(request.user)
    territories = Territory.objects.filter(departement__in=[d.pk for d in departements]).order_by("name")
    form = OfferMapFilterForm(
        request.GET or None, territories=territories, years=offer_map.years(departements)
    )
    filters = offer_map.Filters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = offer_map.Filters(
            pathway=data.get("pathway") or "",
            territory_id=data.get("territory"),
            funder=data.get("funder") or "",
            year=data.get("year"),
        )
    return departements, form, offer_map.financings(departements, filters)


def _context(request, form, rows, **extra):
    query = request.GET.urlencode()
    return {
        "form": form,
        "rows": rows,
        "query": query,
        "totals": offer_map.totals(rows),
        "by_pathway": offer_map.by_pathway(rows),
        "can_edit": DEPARTEMENT_ADMIN.allows(request.user),
        **extra,
    }


@perms.catalogue_required(requires=OFFER_MAP_READER, description="Cartographie de l'offre financée : tableau")
@require_GET
def offer_table(request):
    _departements, form, rows = _filtered(request)
    return render(
        request,
        "catalogue/map/table.html",
        _context(request, form, rows, title="Cartographie parcours–offre", tab="table"),
    )


@perms.catalogue_required(requires=OFFER_MAP_READER, description="Cartographie de l'offre financée : carte")
@require_GET
def offer_svg_map(request):
    _departements, form, rows = _filtered(request)
    points, missing = offer_map.map_points(rows)
    return render(
        request,
        "catalogue/map/map.html",
        _context(
            request,
            form,
            rows,
            title="Carte de l'offre financée",
            points=points,
            missing=missing,
            width=offer_map.MAP_WIDTH,
            height=offer_map.MAP_HEIGHT,
            tab="map",
        ),
    )


@perms.catalogue_required(requires=OFFER_MAP_READER, description="Cartographie de l'offre financée : export")
@require_GET
def offer_export(request, fmt):
    if fmt not in ("csv", "xlsx"):
        raise Http404("Format inconnu")
    _departements, _form, rows = _filtered(request)
    if fmt == "xlsx":
        response = HttpResponse(
            offer_map.to_xlsx(rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="cartographie-parcours-offre.xlsx"'
        return response
    return streaming_csv_response(offer_map.export_rows(rows), "cartographie-parcours-offre.csv")


def _admin_departement(request):
    departements = perms.local_data_departements(request.user)
    if not departements:
        raise PermissionDenied("Réservé aux administrateurs du Département.")
    return departements[0]


@perms.catalogue_required(requires=DEPARTEMENT_ADMIN, description="Financements d'un service (Département)")
@require_http_methods(["GET", "POST"])
def service_financings(request, pk, financing_pk=None):
    """Financements d'un service pour le Département de l'administrateur : liste, ajout, modification."""
    service = get_object_or_404(Service.objects.select_related("structure"), pk=pk)
    departement = _admin_departement(request)
    existing = offer_map.financings([departement]).filter(service=service)
    instance = get_object_or_404(existing, pk=financing_pk) if financing_pk else None
    form = FinancingForm(request.POST or None, instance=instance, service=service, departement=departement)
    if request.method == "POST" and form.is_valid():
        offer_map.save_financing(form.instance, user=request.user)
        messages.success(request, "Financement enregistré.")
        return redirect("catalogue:service_financings", pk=service.pk)
    return render(
        request,
        "catalogue/map/financings.html",
        {
            "title": f"Financements — {service.nom}",
            "service": service,
            "departement": departement,
            "rows": existing,
            "totals": offer_map.totals(existing),
            "form": form,
            "editing": instance,
        },
    )


@perms.catalogue_required(requires=DEPARTEMENT_ADMIN, description="Supprimer un financement (Département)")
@require_POST
def financing_delete(request, pk):
    departement = _admin_departement(request)
    financing = get_object_or_404(ServiceFinancing, pk=pk, departement=departement)
    service_pk = financing.service_id
    financing.delete()
    messages.success(request, "Financement supprimé.")
    return redirect(reverse("catalogue:service_financings", args=[service_pk]))
