"""Tableau de bord de pilotage et exports des indicateurs.

Permission : agent rattaché à une organisation (``@access(Level.AGENT)``) ; les indicateurs portent sur les bénéficiaires que l'agent a le droit de voir
(``Beneficiary.objects.countable_by(user)`` : le périmètre de la liste des bénéficiaires, plus tout le
Département pour les services de l'État qui lui sont rattachés — agrégats seulement), restreints au territoire et
à la période choisis, et à l'organisation choisie (``attachments.py``). Les exports et graphiques sont
agrégés (aucune ligne par personne). Seule la liste des personnes derrière un chiffre (``people``) est
nominative : elle part de ``Beneficiary.objects.visible_to(user)`` et est refusée (403) aux agents qui ne
voient que des agrégats (services de l'État).
"""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from parcours.accompaniment.surveys import professional_survey_due
from parcours.accounts.roles import PEOPLE_READER
from parcours.beneficiaries.models import Beneficiary
from parcours.beneficiaries.queries import active_memberships, departement_ids
from parcours.core.access import Level, access

from . import charts, exports
from . import cohort as cohort_table
from .breakdowns import (
    BREAKDOWN_DEFINITIONS,
    breakdown_table,
    dashboard_breakdowns,
    organisation_breakdown,
    own_organisations,
    referent_breakdown,
    visible_organisations,
)
from .cohort_figures import FIGURES_BY_KEY, PATHWAY_LABELS, counted_conditions
from .definitions import (
    DEFINITIONS,
    DELAY_BUCKET_LABELS,
    EMPLOYABILITY_KEYS,
    EMPLOYABILITY_LABELS,
    ENTRY_FIELDS,
    analytics_session,
    beneficiary_scope,
    cohort_aggregate,
    cohort_queryset,
    compute_indicators,
    entry_of,
    indicators_and_series,
)
from .formatting import CONTRACT_LABELS, display
from .forms import DashboardFilterForm

SCORE_LABELS = {
    "1": "1 — pas du tout satisfait",
    "2": "2",
    "3": "3",
    "4": "4",
    "5": "5 — tout à fait satisfait",
}


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


@dataclass
class Filters:
    """Filtres du tableau de bord appliqués au périmètre de l'agent."""

    form: DashboardFilterForm
    start: object
    end: object
    territory: object
    organisation: object
    organisations: object  # organisations proposées dans le filtre
    scope: object
    memberships: list
    can_list: bool  # l'agent voit des personnes nominativement (listes derrière les chiffres)


def can_list_people(user, memberships):
    """Vrai si l'agent voit des personnes (pas les services de l'État, qui ne voient que des agrégats, ni le
    délégué à la protection des données)."""
    return user.is_superuser or any(PEOPLE_READER.grants(m) for m in memberships)


def _filters(request, *, base=None):
    memberships = active_memberships(request.user)
    ids = None if request.user.is_superuser else departement_ids(memberships)
    organisations = visible_organisations(request.user, memberships)
    form = DashboardFilterForm(request.GET or None, departement_ids=ids, organisations=organisations)
    start, end, territory = form.criteria()
    organisation = form.selected_organisation()
    if base is None:
        base = Beneficiary.objects.countable_by(request.user)
    scope = beneficiary_scope(territory=territory, organisation=organisation, period=(start, end), base=base)
    return Filters(
        form,
        start,
        end,
        territory,
        organisation,
        organisations,
        scope,
        memberships,
        can_list_people(request.user, memberships),
    )


def _context(request):
    f = _filters(request)
    return f.form, f.start, f.end, f.territory, f.scope, f.memberships


def _scope_label(territory, organisation=None):
    parts = [territory.name if territory else "tout le périmètre"]
    if organisation is not None:
        parts.append(organisation.name)
    return " — ".join(parts)


def _cohort(f):
    """Les nouveaux entrants de la période (``cohort_queryset``), lus dans la table de la cohorte tenue à jour
    (``cohort.refresh`` : les événements écrits depuis la dernière lecture y sont reportés d'abord)."""
    return cohort_queryset(f.scope, f.start, f.end, table=True)


def _cohort_counts(f):
    """``(valeurs, série, effectifs des chiffres et graphiques)`` des nouveaux entrants, en une requête."""
    return cohort_aggregate(_cohort(f), f.start, f.end, counted_conditions())


def _query(request, **changes):
    """Les filtres de la page (sans pagination), avec ``changes`` en plus."""
    query = request.GET.copy()
    for key in ("page", "figure"):
        query.pop(key, None)
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


def _people_url(request, figure, **changes):
    return f"{reverse('indicators:people')}?{_query(request, figure=figure, **changes)}"


def _can_drees(user):
    from .drees import departements_for_aggregates

    ids = departements_for_aggregates(user, active_memberships(user))
    return ids is None or bool(ids)


@access(Level.AGENT, description="Tableau de bord de pilotage (indicateurs agrégés du périmètre)")
@require_GET
def dashboard(request):
    f = _filters(request)
    start, end = f.start, f.end
    with cohort_table.reading(), analytics_session():
        # La cohorte est comptée une fois, dans la table de la cohorte : figures, série, graphiques. Les tableaux
        # par organisation et par référent (une requête sur toutes les personnes suivies et leurs
        # rattachements de la période, la plus longue de la page à grande échelle) arrivent ensuite, par
        # ``dashboard_tables`` : les chiffres s'affichent sans les attendre.
        cohort_values, series, counts = _cohort_counts(f)
        values, series = indicators_and_series(
            f.scope, start, end, cohort=(cohort_values, series), table=True
        )
        data = charts.chart_data(series, counts)
    drill = {"nouveaux_entrants": "nouveaux_entrants", "nouveaux_entrants_orientes_15j": "orientes_15j"}
    figures = [
        {
            "definition": d,
            "value": values[d.id],
            "display": display(d, values[d.id]),
            "people_url": _people_url(request, drill[d.id]) if f.can_list and d.id in drill else None,
        }
        for d in DEFINITIONS
        if d.kind != "breakdown"
    ]
    charts_context = []
    for chart, title in charts.CHARTS.items():
        rows = data[chart]
        if f.can_list and chart != "serie-mensuelle" and chart != "delais-semaines":
            for r in rows:
                r["people_url"] = _people_url(request, r["figure"])
        charts_context.append(
            {
                "id": chart,
                "title": title,
                "svg": charts.render_chart(chart, rows),
                "rows": rows,
                "svg_url": f"{reverse('indicators:chart_svg', args=[chart])}?{_query(request)}",
                "csv_url": f"{reverse('indicators:chart_csv', args=[chart])}?{_query(request)}",
            }
        )
    context = {
        "title": "Pilotage",
        "form": f.form,
        "start": start,
        "end": end,
        "territory": f.territory,
        "organisation": f.organisation,
        "no_scope": not f.memberships and not request.user.is_superuser,
        "figures": figures,
        "figures_by_id": {f["definition"].id: f for f in figures},
        "pathways": data["parcours"],
        "delays": data["delais"],
        "contracts": _breakdown(values["contrats_signes"], CONTRACT_LABELS),
        # Volet 3 : progression dans l'employabilité (part = rapportée aux personnes accompagnées) et
        # satisfaction (répartition des notes).
        "employability": [
            {
                "key": key,
                "label": EMPLOYABILITY_LABELS[key],
                "count": values["progression_employabilite"][key],
                "percent": _percent(values["taux_progression_employabilite"][key]),
            }
            for key in EMPLOYABILITY_KEYS
        ],
        "person_scores": _breakdown(values["satisfaction_personnes_repartition"], SCORE_LABELS),
        "professional_survey_due": professional_survey_due(request.user),
        "professional_scores": _breakdown(values["satisfaction_professionnels_repartition"], SCORE_LABELS),
        "series": data["serie-mensuelle"],
        "charts": {c["id"].replace("-", "_"): c for c in charts_context},
        # Lien vers le questionnaire DREES : seulement pour qui peut l'ouvrir (pas le délégué à la protection
        # des données, qui n'a aucun Département d'agrégats).
        "can_drees": _can_drees(request.user),
        "referent_organisations": _referent_organisations(request, f),
        "can_list": f.can_list,
        "definitions": {d.id: d for d in DEFINITIONS},
        "query_string": _query(request),
    }
    return render(request, "indicators/dashboard.html", context)


def _referent_organisations(request, f):
    """Les organisations détaillées par référent : celle choisie dans les filtres, sinon celles de l'agent."""
    return [f.organisation] if f.organisation is not None else own_organisations(request.user, f.memberships)


@access(Level.AGENT, description="Tableaux par organisation et par référent du tableau de bord de pilotage")
@require_GET
def dashboard_tables(request):
    """Les deux tableaux du tableau de bord (chargés par la page après ses chiffres ; page à part sans
    JavaScript), mêmes filtres que la page."""
    f = _filters(request)
    referent_orgs = _referent_organisations(request, f)
    with cohort_table.reading(), analytics_session():
        # Tableau par organisation : sur le territoire choisi, toutes les organisations permises. Les deux
        # tableaux en une requête, sur le périmètre du territoire : le tableau par référent y garde les
        # personnes rattachées aux organisations détaillées, soit celles de la page quand une organisation est
        # choisie (c'est alors la seule détaillée).
        territory_scope = beneficiary_scope(
            territory=f.territory, base=Beneficiary.objects.countable_by(request.user)
        )
        by_organisation, by_referent = dashboard_breakdowns(
            territory_scope,
            f.start,
            f.end,
            organisations=f.organisations,
            referent_organisations=referent_orgs,
        )
    for r in [*by_organisation, *by_referent]:
        r.cells = [
            {"value": r.values[d.id], "display": display(d, r.values[d.id])} for d in BREAKDOWN_DEFINITIONS
        ]
    for r in by_organisation:
        if r.organisation_id is not None:
            r.extra["filter_url"] = (
                f"{reverse('indicators:dashboard')}?{_query(request, organisation=r.organisation_id)}"
            )
            if f.can_list:
                r.extra["people_url"] = _people_url(
                    request, "nouveaux_entrants", organisation=r.organisation_id
                )
    context = {
        "title": "Pilotage — par organisation et par référent",
        "start": f.start,
        "end": f.end,
        "territory": f.territory,
        "organisation": f.organisation,
        "by_organisation": by_organisation,
        "by_referent": by_referent,
        "referent_organisations": referent_orgs,
        "breakdown_definitions": BREAKDOWN_DEFINITIONS,
        "query_string": _query(request),
    }
    template = "indicators/_tables.html" if request.htmx else "indicators/tables.html"
    return render(request, template, context)


def _attachment(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@access(Level.AGENT, description="Export CSV des indicateurs agrégés")
@require_GET
def export_csv(request):
    f = _filters(request)
    start, end = f.start, f.end
    with cohort_table.reading():
        values = compute_indicators(f.scope, start, end, table=True)  # les chiffres de la page
    return _attachment(
        exports.to_csv(values, start, end, _scope_label(f.territory, f.organisation)),
        "text/csv; charset=utf-8",
        f"indicateurs-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv",
    )


@access(Level.AGENT, description="Export XLSX des indicateurs agrégés")
@require_GET
def export_xlsx(request):
    f = _filters(request)
    start, end = f.start, f.end
    with cohort_table.reading():
        values = compute_indicators(f.scope, start, end, table=True)  # les chiffres de la page
    return _attachment(
        exports.to_xlsx(values, start, end, _scope_label(f.territory, f.organisation)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"indicateurs-{start:%Y-%m-%d}-{end:%Y-%m-%d}.xlsx",
    )


@access(Level.AGENT, description="Export CSV agrégé par territoire")
@require_GET
def export_territories(request):
    """Tableau agrégé : une ligne par territoire du périmètre de l'agent (aucune donnée personnelle)."""
    _form, start, end, _territory, scope, _m = _context(request)
    with cohort_table.reading():
        content = exports.territory_csv(scope, start, end, table=True)
    return _attachment(
        content,
        "text/csv; charset=utf-8",
        f"indicateurs-territoires-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv",
    )


@access(Level.AGENT, description="Export CSV agrégé par organisation")
@require_GET
def export_organisations(request):
    """Tableau agrégé : une ligne par organisation (territoire et période choisis ; aucune donnée personnelle)."""
    f = _filters(request)
    scope = beneficiary_scope(territory=f.territory, base=Beneficiary.objects.countable_by(request.user))
    with cohort_table.reading(), analytics_session():
        rows = organisation_breakdown(scope, f.start, f.end, organisations=f.organisations)
    return _attachment(
        exports._csv_text(breakdown_table(rows, "organisation")),
        "text/csv; charset=utf-8",
        f"indicateurs-organisations-{f.start:%Y-%m-%d}-{f.end:%Y-%m-%d}.csv",
    )


@access(Level.AGENT, description="Export CSV agrégé par référent")
@require_GET
def export_referents(request):
    """Tableau agrégé : une ligne par référent de l'organisation choisie (ou de celles de l'agent)."""
    f = _filters(request)
    organisations = (
        [f.organisation] if f.organisation is not None else own_organisations(request.user, f.memberships)
    )
    with cohort_table.reading(), analytics_session():
        rows = referent_breakdown(f.scope, f.start, f.end, organisations)
    return _attachment(
        exports._csv_text(breakdown_table(rows, "référent")),
        "text/csv; charset=utf-8",
        f"indicateurs-referents-{f.start:%Y-%m-%d}-{f.end:%Y-%m-%d}.csv",
    )


def _chart(request, chart):
    if chart not in charts.CHARTS:
        raise Http404("Graphique inconnu.")
    f = _filters(request)
    with cohort_table.reading(), analytics_session():
        _values, series, counts = _cohort_counts(f)
    return f, charts.chart_data(series, counts)[chart]


@access(Level.AGENT, description="Graphique du tableau de bord en image SVG (agrégats)")
@require_GET
def chart_svg(request, chart):
    f, rows = _chart(request, chart)
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + charts.render_chart(chart, rows)
    return _attachment(
        svg, "image/svg+xml; charset=utf-8", f"{chart}-{f.start:%Y-%m-%d}-{f.end:%Y-%m-%d}.svg"
    )


@access(Level.AGENT, description="Données d'un graphique du tableau de bord en CSV (agrégats)")
@require_GET
def chart_csv(request, chart):
    f, rows = _chart(request, chart)
    return _attachment(
        exports._csv_text(charts.chart_table(chart, rows)),
        "text/csv; charset=utf-8",
        f"{chart}-{f.start:%Y-%m-%d}-{f.end:%Y-%m-%d}.csv",
    )


PEOPLE_PAGE_SIZE = 50


@access(
    Level.AGENT,
    requires=PEOPLE_READER,
    description="Personnes derrière un chiffre du tableau de bord (périmètre nominatif)",
)
@require_GET
def people(request):
    """Liste des nouveaux entrants qui composent un chiffre du tableau de bord (mêmes filtres, mêmes
    définitions). Réservée aux agents qui voient des personnes : calculée sur
    ``Beneficiary.objects.visible_to(user)`` ; les services de l'État (agrégats seulement) reçoivent 403.
    Comme la liste des bénéficiaires, la page n'est pas journalisée : la fiche de chaque personne l'est."""
    figure = FIGURES_BY_KEY.get(request.GET.get("figure", ""))
    if figure is None:
        raise Http404("Chiffre inconnu.")
    f = _filters(request, base=Beneficiary.objects.visible_to(request.user))
    with cohort_table.reading(), analytics_session():
        # Les entrées du chiffre, triées par T0 : la base compte et découpe la page (50 lignes lues).
        chosen = (
            _cohort(f)
            .filter(figure.condition)
            .order_by("occurred_on", "beneficiary_id", "pk")
            .values_list(*ENTRY_FIELDS)
        )
        paginator = Paginator(chosen, PEOPLE_PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        entries = [entry_of(r) for r in page.object_list]
    page.pages_list = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    persons = (
        Beneficiary.objects.filter(pk__in=[e.beneficiary_id for e in entries])
        .select_related("territory")
        .in_bulk()
    )
    rows = [
        {
            "entry": e,
            "person": persons[e.beneficiary_id],
            "bucket_label": DELAY_BUCKET_LABELS[e.bucket],
            "pathway_label": PATHWAY_LABELS[e.pathway_key],
        }
        for e in entries
        if e.beneficiary_id in persons
    ]
    context = {
        "title": f"Pilotage — {figure.label}",
        "figure": figure,
        "form": f.form,
        "start": f.start,
        "end": f.end,
        "territory": f.territory,
        "organisation": f.organisation,
        "page_obj": page,
        "rows": rows,
        "query_string": _query(request, figure=figure.key),
        "dashboard_query": _query(request),
    }
    return render(request, "indicators/people.html", context)
