"""Tableau de bord de pilotage et exports des indicateurs.

Permission : agent rattaché à une organisation (``@access(Level.AGENT)``) ; les indicateurs portent sur les bénéficiaires que l'agent a le droit de voir
(``Beneficiary.objects.countable_by(user)`` : le périmètre de la liste des bénéficiaires, plus tout le
Département pour les services de l'État qui lui sont rattachés — agrégats seulement), restreints au territoire et
à la période choisis. Les exports sont agrégés (aucune ligne par personne).
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from parcours.beneficiaries.models import Beneficiary
from parcours.beneficiaries.queries import active_memberships, departement_ids
from parcours.core.access import Level, access

from . import exports
from .definitions import (
    DEFINITIONS,
    DELAY_BUCKET_LABELS,
    analytics_session,
    beneficiary_scope,
    compute_indicators,
    monthly_series,
    new_entrant_cohort,
)
from .forms import DashboardFilterForm

PATHWAY_LABELS = {
    "emploi": "Emploi",
    "socio_professionnel": "Socio-professionnel",
    "social": "Social",
    "non_oriente": "Non orienté",
}
CONTRACT_LABELS = {"cer": "CER", "ppae": "PPAE", "contrat_engagement": "Contrat d'engagement"}


def _number(value, decimals=1):
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    if decimals and text.endswith(",0"):
        text = text[:-2]
    return text


def display(definition, value):
    """Valeur lisible ; « — » quand la population est vide (taux ou délai non calculable)."""
    if value is None:
        return "—"
    if definition.kind == "rate":
        return f"{_number(value * 100)}\u202f%"
    if definition.kind == "delay":
        return f"{_number(value)}\u202fj"
    return _number(value, 0)


def _share(count, total):
    return None if not total else count / total


def _breakdown(values, labels):
    total = sum(values.values())
    return [
        {"key": key, "label": labels.get(key, key), "count": count, "percent": _percent(_share(count, total))}
        for key, count in values.items()
    ]


def _percent(value):
    return None if value is None else round(value * 100, 1)


def _context(request):
    memberships = active_memberships(request.user)
    ids = None if request.user.is_superuser else departement_ids(memberships)
    form = DashboardFilterForm(request.GET or None, departement_ids=ids)
    start, end, territory = form.criteria()
    scope = beneficiary_scope(territory=territory, base=Beneficiary.objects.countable_by(request.user))
    return form, start, end, territory, scope, memberships


def _scope_label(territory):
    return territory.name if territory else "tout le périmètre"


@access(Level.AGENT, description="Tableau de bord de pilotage (indicateurs agrégés du périmètre)")
@require_GET
def dashboard(request):
    form, start, end, territory, scope, memberships = _context(request)
    with analytics_session():
        entries = new_entrant_cohort(scope, start, end)
        values = compute_indicators(scope, start, end, entries=entries)
    figures = [
        {"definition": d, "value": values[d.id], "display": display(d, values[d.id])}
        for d in DEFINITIONS
        if d.kind != "breakdown"
    ]
    series = monthly_series(entries, start, end)
    for month in series:
        month["percent"] = _percent(month["taux_orientation_15j"])
    context = {
        "title": "Pilotage",
        "form": form,
        "start": start,
        "end": end,
        "territory": territory,
        "no_scope": not memberships and not request.user.is_superuser,
        "figures": figures,
        "pathways": _breakdown(values["repartition_parcours"], PATHWAY_LABELS),
        "delays": _breakdown(values["distribution_delai_t0_orientation"], DELAY_BUCKET_LABELS),
        "contracts": _breakdown(values["contrats_signes"], CONTRACT_LABELS),
        "series": series,
        "definitions": {d.id: d for d in DEFINITIONS},
        "query_string": request.GET.urlencode(),
    }
    return render(request, "indicators/dashboard.html", context)


def _attachment(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@access(Level.AGENT, description="Export CSV des indicateurs agrégés")
@require_GET
def export_csv(request):
    _form, start, end, territory, scope, _m = _context(request)
    values = compute_indicators(scope, start, end)
    return _attachment(
        exports.to_csv(values, start, end, _scope_label(territory)),
        "text/csv; charset=utf-8",
        f"indicateurs-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv",
    )


@access(Level.AGENT, description="Export XLSX des indicateurs agrégés")
@require_GET
def export_xlsx(request):
    _form, start, end, territory, scope, _m = _context(request)
    values = compute_indicators(scope, start, end)
    return _attachment(
        exports.to_xlsx(values, start, end, _scope_label(territory)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"indicateurs-{start:%Y-%m-%d}-{end:%Y-%m-%d}.xlsx",
    )


@access(Level.AGENT, description="Export CSV agrégé par territoire")
@require_GET
def export_territories(request):
    """Tableau agrégé : une ligne par territoire du périmètre de l'agent (aucune donnée personnelle)."""
    _form, start, end, _territory, scope, _m = _context(request)
    return _attachment(
        exports.territory_csv(scope, start, end),
        "text/csv; charset=utf-8",
        f"indicateurs-territoires-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv",
    )
