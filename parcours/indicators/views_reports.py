"""Rapports prêts à l'emploi du pilotage : questionnaire annuel de la DREES (agrégats) et fichier de
partage de données de l'annexe 4 (une ligne par personne).

Permissions :
- questionnaire DREES (``/pilotage/drees/``, XLSX, CSV) : agent d'un Département ou d'une organisation qui
  en relève (services de l'État compris, pas le délégué à la protection des données), pour ce Département
  seulement ; les chiffres portent sur ``Beneficiary.objects.countable_by(user)``, comme le tableau de bord ;
- fichier annexe 4 (``/pilotage/annexe4.csv``) : données personnelles, réservé aux agents qui voient des
  personnes de ce Département (``Beneficiary.objects.visible_to(user)``, ni l'État ni le délégué) ; chaque
  personne exportée est inscrite au journal d'accès.
Un Département hors de ces périmètres donne 403.
"""

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import Beneficiary
from parcours.beneficiaries.queries import active_memberships
from parcours.core.access import Level, access
from parcours.core.csv_export import streaming_csv_response
from parcours.www.forms import DsfrFormMixin

from . import annex4, drees

FIRST_YEAR = 2015


class DreesForm(DsfrFormMixin, forms.Form):
    departement = forms.ModelChoiceField(
        label="Département", queryset=Organisation.objects.none(), empty_label=None
    )
    annee = forms.IntegerField(label="Année", min_value=FIRST_YEAR)

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = departements
        self.fields["annee"].max_value = timezone.localdate().year
        self.fields["annee"].widget.attrs["max"] = timezone.localdate().year
        self.apply_dsfr_classes()


class Annex4Form(DsfrFormMixin, forms.Form):
    departement = forms.ModelChoiceField(label="Département", queryset=Organisation.objects.none())
    debut = forms.DateField(label="Du", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    fin = forms.DateField(
        label="Au (inclus)", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = departements
        self.apply_dsfr_classes()

    def clean(self):
        data = super().clean()
        if data.get("debut") and data.get("fin") and data["fin"] < data["debut"]:
            self.add_error("fin", "La date de fin précède la date de début.")
        return data


def _departements(ids):
    queryset = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("name")
    return queryset if ids is None else queryset.filter(pk__in=ids)


def _requested_departement(request, allowed):
    """Refus (403) si l'adresse désigne un Département hors du périmètre de l'agent."""
    wanted = request.GET.get("departement")
    if wanted and not allowed.filter(pk=wanted if str(wanted).isdigit() else None).exists():
        raise PermissionDenied("Ce Département n'est pas dans votre périmètre.")


def _drees_context(request):
    memberships = active_memberships(request.user)
    allowed = _departements(drees.departements_for_aggregates(request.user, memberships))
    if not allowed.exists():
        raise PermissionDenied(
            "Questionnaire DREES : réservé aux agents d'un Département et de ses partenaires."
        )
    _requested_departement(request, allowed)
    data = {"departement": allowed.first().pk, "annee": timezone.localdate().year, **request.GET.dict()}
    form = DreesForm(data, departements=allowed)
    return form, memberships


def _scope_label(user, memberships, departement):
    if user.is_superuser:
        return "tout le Département"
    for m in memberships:
        if m.organisation_id == departement.pk and not m.territory_id:
            return "tout le Département"
        if m.organisation.kind == OrganisationKind.ETAT and m.organisation.departement_id == departement.pk:
            return "tout le Département"
    return "les personnes de votre périmètre"


def _report(request):
    form, memberships = _drees_context(request)
    if not form.is_valid():
        return form, None, None, None
    departement, year = form.cleaned_data["departement"], form.cleaned_data["annee"]
    tables = drees.drees_report(departement, year, base=Beneficiary.objects.countable_by(request.user))
    return form, tables, departement, _scope_label(request.user, memberships, departement)


def _display(value, rate):
    if value is None:
        return "—"
    if rate and isinstance(value, (int, float)):
        return f"{value * 100:.1f}".replace(".", ",").removesuffix(",0") + "\u202f%"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",").removesuffix(",0")
    return value


@access(Level.AGENT, description="Questionnaire annuel DREES (agrégats du Département)")
@require_GET
def drees_page(request):
    form, tables, departement, scope_label = _report(request)
    shown = []
    for table in tables or []:
        rows = [
            [_display(v, table.is_rate(r, i)) for i, v in enumerate(row)] for r, row in enumerate(table.rows)
        ]
        shown.append({"table": table, "rows": rows})
    people_departements = _departements(
        annex4.departements_for_people(request.user, active_memberships(request.user))
    )
    can_export = departement is not None and people_departements.filter(pk=departement.pk).exists()
    year = form.cleaned_data.get("annee") if form.is_valid() else None
    context = {
        "title": "Questionnaire DREES",
        "form": form,
        "tables": shown,
        "departement": departement,
        "year": year,
        "scope_label": scope_label,
        "query_string": request.GET.urlencode()
        or (f"departement={departement.pk}&annee={year}" if departement else ""),
        "can_export_annex4": can_export,
        "annex4_start": datetime.date(year, 1, 1) if year else None,
        "annex4_end": datetime.date(year, 12, 31) if year else None,
        "annex4_columns": annex4.COLUMNS,
    }
    return render(request, "indicators/drees.html", context)


def _file_report(request):
    form, tables, departement, scope_label = _report(request)
    if tables is None:
        errors = "; ".join(
            f"{form.fields[k].label if k in form.fields else k} : {', '.join(v)}"
            for k, v in form.errors.items()
        )
        return None, HttpResponseBadRequest(
            f"Paramètres invalides — {errors}", content_type="text/plain; charset=utf-8"
        )
    return (tables, departement, form.cleaned_data["annee"], scope_label), None


@access(Level.AGENT, description="Questionnaire DREES en classeur XLSX (agrégats)")
@require_GET
def drees_xlsx(request):
    report, refusal = _file_report(request)
    if refusal:
        return refusal
    tables, departement, year, scope_label = report
    response = HttpResponse(
        drees.to_xlsx(tables, departement, year, scope_label),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="drees-{departement.departement_code}-{year}.xlsx"'
    )
    return response


@access(Level.AGENT, description="Questionnaire DREES en CSV (agrégats)")
@require_GET
def drees_csv(request):
    report, refusal = _file_report(request)
    if refusal:
        return refusal
    tables, departement, year, scope_label = report
    response = HttpResponse(
        drees.to_csv(tables, departement, year, scope_label), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="drees-{departement.departement_code}-{year}.csv"'
    )
    return response


@access(
    Level.AGENT, description="Fichier de partage de données annexe 4 (une ligne par personne, journalisé)"
)
@require_GET
def annex4_csv(request):
    memberships = active_memberships(request.user)
    allowed = _departements(annex4.departements_for_people(request.user, memberships))
    if not allowed.exists():
        raise PermissionDenied(
            "Fichier annexe 4 : réservé aux agents qui voient les personnes d'un Département."
        )
    _requested_departement(request, allowed)
    form = Annex4Form(request.GET, departements=allowed)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label or k} : {', '.join(v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(
            f"Paramètres invalides — {errors}", content_type="text/plain; charset=utf-8"
        )
    departement, start, end = (form.cleaned_data[k] for k in ("departement", "debut", "fin"))
    export = annex4.annex4_export(departement, start, end, base=Beneficiary.objects.visible_to(request.user))
    annex4.record_export(
        export, user=request.user, view="indicators:annex4_csv", departement=departement, request=request
    )
    return streaming_csv_response(
        export.rows(), f"annexe4-{departement.departement_code}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv"
    )
