"""Import des événements du parcours enregistrés dans un autre logiciel, depuis le web.

Permission : agent administrateur d'un Département (rôle ``admin`` sur une appartenance active au
Département) ou super-utilisateur ; 403 sinon. Les personnes sont cherchées dans ce Département. Le
traitement est celui de la commande ``parcours import-parcours`` (``parcours.pathway.imports``) : tout ou
rien, rapport rendu sur la page ; l'agent qui dépose le fichier est l'auteur des décisions et du journal.
"""

from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from parcours.accounts.roles import DEPARTEMENT_ADMIN, administered_departements
from parcours.core.access import Level, access
from parcours.pathway.imports import COLUMNS, PathwayImportError, import_pathway
from parcours.pathway.models import EventType, PathwayImport
from parcours.www.forms import DepartementUploadForm, uploads_removed

MAX_LISTED = 1000
RECENT_IMPORTS = 10


class PathwayImportForm(DepartementUploadForm):
    fichier = forms.FileField(
        label="Fichier des événements du parcours",
        help_text="CSV en UTF-8 (séparateur point-virgule) ou classeur XLSX, une ligne par événement.",
    )
    format = forms.ChoiceField(
        label="Format",
        choices=[("auto", "Détection automatique"), ("csv", "CSV"), ("xlsx", "Classeur Excel (XLSX)")],
        initial="auto",
    )
    field_order = ["fichier", "format", "departement"]


def _counters(report):
    return [
        (
            kind.label,
            report.events.get(kind.value, {}).get("created", 0),
            report.events.get(kind.value, {}).get("unchanged", 0),
        )
        for kind in EventType
    ]


@access(
    Level.AGENT,
    requires=DEPARTEMENT_ADMIN,
    description="Import des événements du parcours (administrateurs d'un Département)",
)
@require_http_methods(["GET", "POST"])
def pathway_import(request):
    departements = administered_departements(request.user)
    report = None
    departement = None
    if request.method == "POST":
        with uploads_removed(request):
            form = PathwayImportForm(request.POST, request.FILES, departements=departements)
            if form.is_valid():
                departement = form.cleaned_data["departement"]
                try:
                    report = import_pathway(
                        form.cleaned_data["fichier"],
                        departement=departement,
                        fmt=form.cleaned_data["format"],
                        actor=request.user,
                    )
                except PathwayImportError as exc:
                    form.add_error("fichier", str(exc))
    else:
        form = PathwayImportForm(departements=departements)
    context = {
        "title": "Importer des événements du parcours",
        "form": form,
        "columns": COLUMNS,
        "report": report,
        "departement": departement,
        "recent": PathwayImport.objects.filter(departement__in=departements).select_related(
            "departement", "created_by"
        )[:RECENT_IMPORTS],
    }
    if report is not None:
        context.update(
            errors=report.errors[:MAX_LISTED],
            errors_total=report.error_count,
            warnings=report.warnings[:MAX_LISTED],
            warnings_total=len(report.warnings) + report.warnings_omitted,
            counters=_counters(report),
        )
    return render(request, "www/pathway_imports/import.html", context)
