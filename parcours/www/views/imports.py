"""Imports de flux depuis le web : historique, dépôt, suivi de la progression et rapport.

Permissions : l'historique et les rapports montrent les imports des organisations de l'agent (404
sinon) ; le dépôt est réservé aux administrateurs et chargés d'orientation d'un Département (403 sinon).
Le traitement lui-même est celui du moteur d'import (``parcours.intake.services``), commun à la ligne de
commande.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.accounts.roles import DEPARTEMENT_ADMIN, FLUX_IMPORTER
from parcours.beneficiaries.nir import mask_nir
from parcours.beneficiaries.queries import PRIVILEGED_ROLES, active_memberships
from parcours.core.access import Level, access
from parcours.intake.models import ImportBatch, ImportStatus
from parcours.intake.records import FileRejected
from parcours.www.forms import ImportUploadForm, uploads_removed

PAGE_SIZE = 50
IN_PROGRESS = {ImportStatus.PENDING, ImportStatus.RUNNING}
MAX_LISTED_ISSUES = 1000

ISSUE_LABELS = {
    "row": "Ligne",
    "line": "Ligne",
    "field": "Champ",
    "message": "Message",
    "nir": "NIR",
    "name": "Personne",
    "full_name": "Personne",
    "last_name": "Nom",
    "first_name": "Prénom",
    "organism": "Organisme",
    "matricule": "Matricule",
    "role": "Rôle",
    "cnaf": "Top entrant CNAF",
    "cnaf_flag": "Top entrant CNAF",
    "cnaf_new_entrant": "Top entrant CNAF",
    "rule": "Règle de l'annexe 4",
    "rule_new_entrant": "Règle de l'annexe 4",
    "computed": "Règle de l'annexe 4",
    "reason": "Motif",
    "beneficiary_id": "Fiche",
    "person": "Personne",
    "regle": "Règle de l'annexe 4",
}


def importable_organisations(user, memberships):
    """Organisations dans lesquelles l'agent peut déposer un flux."""
    if user.is_superuser:
        return list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT))
    return [
        m.organisation
        for m in memberships
        if m.organisation.kind == OrganisationKind.DEPARTEMENT and m.role in PRIVILEGED_ROLES
    ]


def visible_batches(user, memberships):
    batches = ImportBatch.objects.select_related("organisation", "created_by")
    if user.is_superuser:
        return batches
    return batches.filter(organisation_id__in=[m.organisation_id for m in memberships])


@access(Level.AUTHENTICATED, description="Historique des imports des organisations de l'agent")
@require_GET
def import_list(request):
    memberships = active_memberships(request.user)
    paginator = Paginator(visible_batches(request.user, memberships), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    page.pages_list = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    context = {
        "title": "Imports de flux",
        "page_obj": page,
        "can_import": bool(importable_organisations(request.user, memberships)),
        # Reprises (administrateurs d'un Département) : événements du parcours, organisations et agents.
        "can_import_pathway": DEPARTEMENT_ADMIN.allows(request.user),
        "can_import_organisations": DEPARTEMENT_ADMIN.allows(request.user),
    }
    return render(request, "www/imports/list.html", context)


@access(
    Level.AUTHENTICATED,
    requires=FLUX_IMPORTER,
    description="Dépôt d'un flux (administrateurs et chargés d'orientation)",
)
@require_http_methods(["GET", "POST"])
def import_new(request):
    organisations = importable_organisations(request.user, active_memberships(request.user))
    if not organisations:
        raise PermissionDenied(
            "Seuls les administrateurs et chargés d'orientation d'un Département peuvent importer un flux."
        )
    if request.method == "POST":
        with uploads_removed(request):
            form = ImportUploadForm(request.POST, request.FILES, organisations=organisations)
            if form.is_valid():
                from parcours.intake.services import create_batch, run_batch_in_background

                data = form.cleaned_data
                upload = data["fichier"]
                try:
                    batch = create_batch(
                        upload,
                        organisation=data["organisation"],
                        user=request.user,
                        fmt=data["format"],
                        mapping_name=data["correspondance"] or "",
                        received_on=data["recu_le"],
                        filename=upload.name,
                    )
                except FileRejected as exc:
                    form.add_error("fichier", exc.message)
                else:
                    run_batch_in_background(batch)
                    messages.info(request, f"Le fichier « {batch.filename} » a été déposé.")
                    return redirect("import_detail", pk=batch.pk)
    else:
        form = ImportUploadForm(organisations=organisations)
    return render(request, "www/imports/new.html", {"title": "Importer un flux", "form": form})


def _visible_batch(request, pk):
    return get_object_or_404(visible_batches(request.user, active_memberships(request.user)), pk=pk)


def _progress(batch):
    from parcours.intake.services import get_progress

    progress = dict(get_progress(batch))
    done, total = progress.get("done") or 0, progress.get("total")
    progress["percent"] = min(100, round(100 * done / total)) if total else None
    return progress


def _cell(key, value):
    if isinstance(value, bool):
        return "oui" if value else "non"
    if value is None:
        return "—"
    if key == "nir":
        return mask_nir(str(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _table(items):
    """Transforme une liste de dictionnaires en tableau (en-têtes en français, valeurs lisibles)."""
    items = [item for item in items or [] if item is not None]
    keys = []
    for item in items:
        if isinstance(item, dict):
            keys.extend(key for key in item if key not in keys)
    if not keys:
        return {"headers": ["Détail"], "rows": [[str(item)] for item in items]}
    rows = [
        [_cell(key, item.get(key)) for key in keys] if isinstance(item, dict) else [str(item)]
        for item in items
    ]
    return {"headers": [ISSUE_LABELS.get(key, key.replace("_", " ")) for key in keys], "rows": rows}


def _columns(columns):
    """Colonnes reconnues : liste de couples (en-tête du fichier, champ Parcours).

    Le moteur les donne sous la forme {en-tête: champ} ; une liste (d'en-têtes ou de dictionnaires) est
    aussi acceptée.
    """
    if isinstance(columns, dict):
        return [(str(header), _cell("", field)) for header, field in columns.items()]
    pairs = []
    for item in columns or []:
        if isinstance(item, dict):
            header = item.get("header") or item.get("column") or item.get("colonne") or ""
            field = item.get("field") or item.get("champ") or item.get("name") or ""
            pairs.append((str(header), str(field)))
        else:
            pairs.append((str(item), ""))
    return pairs


def _int(value):
    return value if isinstance(value, int) else 0


def report_context(batch):
    report = batch.report if isinstance(batch.report, dict) else {}
    errors = list(report.get("errors") or [])
    warnings = list(report.get("warnings") or [])
    disagreements = list(report.get("disagreements") or [])
    return {
        "batch": batch,
        "in_progress": batch.status in IN_PROGRESS,
        "message": report.get("message") or batch.error_message,
        "errors": errors[:MAX_LISTED_ISSUES],
        "errors_total": len(errors) + _int(report.get("errors_omitted")),
        # Erreurs de lignes à corriger, ou refus du fichier entier (ordre des flux, format) sans ligne à citer.
        "line_errors": any(isinstance(e, dict) and e.get("row") for e in errors),
        "warnings": warnings[:MAX_LISTED_ISSUES],
        "warnings_total": len(warnings) + _int(report.get("warnings_omitted")),
        "disagreements": _table(disagreements[:MAX_LISTED_ISSUES]),
        "disagreements_total": len(disagreements),
        "columns": _columns(report.get("columns")),
        "detected_format": batch.detected_format or report.get("format") or "",
    }


@access(Level.AUTHENTICATED, description="Rapport d'un import visible")
@require_GET
def import_detail(request, pk):
    batch = _visible_batch(request, pk)
    context = report_context(batch)
    context["title"] = f"Import {batch.filename}"
    if context["in_progress"]:
        context["progress"] = _progress(batch)
    return render(request, "www/imports/detail.html", context)


@access(Level.AUTHENTICATED, description="Progression d'un import visible")
@require_GET
def import_progress(request, pk):
    """Fragment interrogé chaque seconde : la barre de progression, puis le rapport une fois terminé."""
    batch = _visible_batch(request, pk)
    context = report_context(batch)
    if context["in_progress"]:
        context["progress"] = _progress(batch)
    response = render(request, "www/imports/_state.html", context)
    response["Cache-Control"] = "no-store"
    return response
