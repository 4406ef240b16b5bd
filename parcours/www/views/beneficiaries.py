"""Liste, recherche, export et fiche des bénéficiaires (périmètre de l'agent uniquement).

Permission : agent connecté ; chaque lecture part de ``Beneficiary.objects.visible_to(user)``, une
personne hors périmètre donne 404 (jamais 403, qui révélerait son existence). Le NIR en clair est
réservé aux administrateurs et chargés d'orientation du Département de la personne.
"""

import itertools

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import F
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from parcours.beneficiaries.models import Beneficiary
from parcours.beneficiaries.queries import (
    active_memberships,
    can_reveal_nir,
    departement_ids,
    filter_beneficiaries,
    followed_people,
    for_list,
    household_members,
    list_page,
)
from parcours.beneficiaries.scope import followed_only
from parcours.core.access import Level, access
from parcours.core.csv_export import streaming_csv_response
from parcours.core.pagination import AFTER, BEFORE, query_without_cursor
from parcours.orientation import permissions as orientation_permissions
from parcours.pathway.worklists import csv_date
from parcours.www import story
from parcours.www.forms import BeneficiaryFilterForm

RESULTS_TARGET = "resultats"


# --- liste ----------------------------------------------------------------------------------------------


def _filter_form(request, memberships):
    ids = None if request.user.is_superuser else departement_ids(memberships)
    return BeneficiaryFilterForm(request.GET, departement_ids=ids)


def _filtered(request, memberships, form):
    scope = Beneficiary.objects.visible_to(request.user)
    return for_list(filter_beneficiaries(scope, **form.criteria()))


@access(Level.AUTHENTICATED, description="Liste des bénéficiaires du périmètre de l'agent")
@require_GET
def beneficiary_list(request):
    memberships = active_memberships(request.user)
    form = _filter_form(request, memberships)
    queryset = _filtered(request, memberships, form)
    # Liste sans filtre d'un partenaire : son total se compte depuis ses suivis (même ensemble).
    partners = None if form.is_filtered else followed_only(request.user)
    page = list_page(
        queryset,
        after=request.GET.get(AFTER),
        before=request.GET.get(BEFORE),
        counted_as=followed_people(partners) if partners else None,
    )
    context = {
        "title": "Bénéficiaires",
        "form": form,
        "page_obj": page,
        "no_scope": not memberships and not request.user.is_superuser,
        "query_string": query_without_cursor(request.GET, "page"),
        "results_target": RESULTS_TARGET,
    }
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request and htmx.target == RESULTS_TARGET
    template = "www/beneficiaries/_results.html" if partial else "www/beneficiaries/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- export CSV -----------------------------------------------------------------------------------------


def _labels(name):
    """Libellé d'une valeur codée (comme ``get_FOO_display`` : la valeur elle-même si elle n'est pas listée)."""
    labels = dict(Beneficiary._meta.get_field(name).flatchoices)
    return lambda value: labels.get(value, value)


# (en-tête, champ lu, mise en forme) : l'export lit ces seules colonnes (``values_list``), sans instancier de
# personne ni déchiffrer de NIR (jamais exporté) : 150 000 lignes en flux sans modèle par ligne.
EXPORT_COLUMNS = [
    ("Nom", "last_name", None),
    ("Nom de naissance", "birth_name", None),
    ("Prénom", "first_name", None),
    ("Civilité", "civility", _labels("civility")),
    ("Date de naissance", "birth_date", csv_date),
    ("Organisme", "household__organism", None),
    ("Matricule", "household__matricule", None),
    ("Rôle dans le foyer", "role", _labels("role")),
    ("Identifiant Département", "departement_internal_id", None),
    ("Identifiant France Travail", "france_travail_id", None),
    ("Adresse électronique", "email", None),
    ("Téléphone", "phone", None),
    ("Adresse", "address", None),
    ("Code postal", "postal_code", None),
    ("Commune", "city", None),
    ("Territoire", "territory__name", None),
    ("État du droit", "rsa_state", _labels("rsa_state")),
    ("Soumis aux droits et devoirs", "is_sdd", {True: "oui", False: "non"}.get),
    ("Nouvel entrant — T0", "new_entrant_t0", csv_date),
    ("Dernier flux", "last_flux_on", csv_date),
]


@access(Level.AUTHENTICATED, description="Export CSV de la liste filtrée (sans NIR)")
@require_GET
def beneficiary_export(request):
    """Export CSV (point-virgule, UTF-8 avec BOM) de la liste filtrée ; jamais de NIR."""
    memberships = active_memberships(request.user)
    form = _filter_form(request, memberships)
    queryset = _filtered(request, memberships, form)
    from parcours.audit.services import record_export

    record_export(
        request, queryset.values_list("pk", "departement_id"), reason="Export CSV de la liste des personnes"
    )
    formats = [(index, fmt) for index, (_, _, fmt) in enumerate(EXPORT_COLUMNS) if fmt is not None]

    def formatted(values):
        row = list(values)
        for index, fmt in formats:
            if row[index] is not None:
                row[index] = fmt(row[index])
        return row

    columns = queryset.values_list(*(name for _, name, _ in EXPORT_COLUMNS))
    rows = (formatted(values) for values in columns.iterator(chunk_size=2000))
    header = [label for label, _, _ in EXPORT_COLUMNS]
    return streaming_csv_response(
        itertools.chain([header], rows), f"beneficiaires-{timezone.localdate():%Y-%m-%d}.csv"
    )


# --- fiche ----------------------------------------------------------------------------------------------


def _visible_beneficiary(request, pk):
    scope = Beneficiary.objects.visible_to(request.user)
    beneficiary = get_object_or_404(
        scope.select_related("household", "household__right", "territory", "departement"), pk=pk
    )
    return beneficiary, scope


@access(Level.AUTHENTICATED, person="pk", description="Fiche d'une personne du périmètre")
@require_GET
def beneficiary_detail(request, pk):
    beneficiary, scope = _visible_beneficiary(request, pk)
    memberships = active_memberships(request.user)
    may_reveal = can_reveal_nir(request.user, memberships, beneficiary)
    try:
        right = beneficiary.household.right if beneficiary.household else None
    except ObjectDoesNotExist:
        right = None
    own_organisations = {m.organisation_id for m in memberships}
    snapshots = []
    for snapshot in beneficiary.snapshots.select_related("batch"):
        snapshot.suspension_label = story.code_label("MOTISUSVERSRSA", snapshot.suspension_reason)
        snapshot.closure_label = story.code_label("MOTICLORSA", snapshot.closure_reason)
        snapshot.batch_visible = snapshot.batch is not None and (
            request.user.is_superuser or snapshot.batch.organisation_id in own_organisations
        )
        snapshots.append(snapshot)
    timeline = story.timeline(beneficiary.events.select_related("actor", "organisation", "batch"))
    context = {
        "title": beneficiary.full_name,
        "beneficiary": beneficiary,
        "right": right,
        "suspension_label": story.code_label("MOTISUSVERSRSA", right.suspension_reason) if right else "",
        "closure_label": story.code_label("MOTICLORSA", right.closure_reason) if right else "",
        "may_reveal_nir": may_reveal,
        "show_full_nir": may_reveal and request.GET.get("nir") == "afficher",
        "members": list(household_members(beneficiary, scope).select_related("territory")),
        "snapshots": snapshots,
        "timeline": timeline,
        "situation": story.situation(beneficiary),
        "household": story.household(beneficiary),
        # Le volet d'orientation : équipe d'orientation, organisation qui suit la personne ou portefeuille.
        "may_open_orientation": orientation_permissions.panel_scope(request.user)
        .filter(pk=beneficiary.pk)
        .exists(),
        "follow_ups": list(
            beneficiary.follow_ups.select_related("organisation", "referent").order_by(
                F("ended_on").asc(nulls_first=True), "-started_on", "-pk"
            )
        ),
    }
    return render(request, "www/beneficiaries/detail.html", context)


@access(Level.AUTHENTICATED, person="pk", description="NIR en clair (Département : admin, orientation)")
@require_GET
def beneficiary_nir(request, pk):
    """Fragment : le NIR en clair, pour les rôles habilités du Département de la personne."""
    beneficiary, _ = _visible_beneficiary(request, pk)
    if not can_reveal_nir(request.user, active_memberships(request.user), beneficiary):
        raise PermissionDenied(
            "Seuls les administrateurs et chargés d'orientation du Département voient le NIR."
        )
    response = render(request, "www/beneficiaries/_nir.html", {"beneficiary": beneficiary})
    response["Cache-Control"] = "no-store"
    return response
