"""Import du fichier des organisations et des agents depuis le web.

Permission : agent administrateur d'un Département (rôle ``admin`` sur une appartenance active au
Département) ou super-utilisateur ; 403 sinon. Toutes les lignes du fichier doivent concerner ce
Département. Le traitement est celui de la commande ``parcours import-organisations``
(``parcours.accounts.onboarding``) : tout ou rien, rapport rendu sur la page.
"""

from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from parcours.accounts.onboarding import (
    COLUMNS,
    OBJECT_LABELS,
    STATUS_LABELS,
    import_organisations,
)
from parcours.accounts.roles import DEPARTEMENT_ADMIN, administered_departements
from parcours.core.access import Level, access
from parcours.www.forms import DepartementUploadForm, uploads_removed

MAX_LISTED = 1000


class OrganisationImportForm(DepartementUploadForm):
    fichier = forms.FileField(
        label="Fichier des organisations",
        help_text="CSV en UTF-8, séparateur point-virgule, une ligne par agent (ou par organisation sans agent).",
    )


def _changes(changes):
    return [
        {
            **change,
            "object_label": OBJECT_LABELS.get(change["object"], change["object"]),
            "status_label": STATUS_LABELS.get(change["status"], change["status"]),
        }
        for change in changes[:MAX_LISTED]
    ]


@access(
    Level.AGENT,
    requires=DEPARTEMENT_ADMIN,
    description="Import des organisations et des agents (administrateurs d'un Département)",
)
@require_http_methods(["GET", "POST"])
def organisation_import(request):
    departements = administered_departements(request.user)
    report = None
    departement = None
    if request.method == "POST":
        with uploads_removed(request):
            form = OrganisationImportForm(request.POST, request.FILES, departements=departements)
            if form.is_valid():
                departement = form.cleaned_data["departement"]
                report = import_organisations(
                    form.cleaned_data["fichier"], scope=departement, actor=request.user
                )
    else:
        form = OrganisationImportForm(departements=departements)
    context = {
        "title": "Importer les organisations et les agents",
        "form": form,
        "columns": COLUMNS,
        "report": report,
        "departement": departement,
    }
    if report is not None:
        context.update(
            errors=report.errors[:MAX_LISTED],
            warnings=report.warnings[:MAX_LISTED],
            changes=_changes(report.changes),
            counters=[
                ("Organisations", report.organisations),
                ("Agents", report.agents),
                ("Appartenances", report.memberships),
            ],
        )
    return render(request, "www/onboarding/import.html", context)
