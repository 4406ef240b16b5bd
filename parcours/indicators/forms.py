"""Filtres du tableau de bord : période, territoire et organisation (dans l'URL, pour partager une vue)."""

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind, Territory
from parcours.www.forms import DsfrFormMixin

DEFAULT_MONTHS = 12


def default_period(today=None):
    """Les 12 derniers mois, du premier jour du mois il y a 11 mois à aujourd'hui."""
    today = today or timezone.localdate()
    month = today.month - (DEFAULT_MONTHS - 1)
    year = today.year
    while month < 1:
        month += 12
        year -= 1
    return datetime.date(year, month, 1), today


class DashboardFilterForm(DsfrFormMixin, forms.Form):
    debut = forms.DateField(
        label="Du", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    fin = forms.DateField(
        label="Au (inclus)", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    territoire = forms.ModelChoiceField(
        label="Territoire", queryset=Territory.objects.none(), required=False, empty_label="Tous"
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="Toutes",
        help_text="Personnes suivies par l'organisation ou orientées vers elle pendant la période.",
    )

    def __init__(self, *args, departement_ids=(), organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        territories = Territory.objects.order_by("name")
        if departement_ids is not None:  # None : tous les territoires (super-utilisateur)
            territories = territories.filter(departement_id__in=list(departement_ids))
        self.fields["territoire"].queryset = territories
        if organisations is None:  # défaut : les organisations des Départements de l'agent
            organisations = followable_organisations(departement_ids)
        self.fields["organisation"].queryset = organisations
        self.apply_dsfr_classes()

    def clean(self):
        data = super().clean()
        start, end = data.get("debut"), data.get("fin")
        if start and end and end < start:
            self.add_error("fin", "La date de fin précède la date de début.")
        return data

    def criteria(self, today=None):
        """(début, fin, territoire) valides ; la période par défaut remplace ce qui manque ou est erroné."""
        default_start, default_end = default_period(today)
        if not self.is_bound or not self.is_valid():
            territory = self.cleaned_data.get("territoire") if self.is_bound else None
            return default_start, default_end, territory
        data = self.cleaned_data
        return data.get("debut") or default_start, data.get("fin") or default_end, data.get("territoire")

    def selected_organisation(self):
        """L'organisation choisie, si elle fait partie des choix permis (sinon aucune)."""
        if not self.is_bound or not self.is_valid():
            return self.cleaned_data.get("organisation") if self.is_bound else None
        return self.cleaned_data.get("organisation")


def followable_organisations(departement_ids):
    """Organisations qui suivent des personnes (pas les services de l'État ni les structures) des
    Départements donnés (``None`` : toutes)."""
    organisations = Organisation.objects.exclude(
        kind__in=[OrganisationKind.ETAT, OrganisationKind.STRUCTURE]
    ).order_by("name")
    if departement_ids is None:
        return organisations
    ids = list(departement_ids)
    return organisations.filter(Q(pk__in=ids) | Q(departement_id__in=ids))
