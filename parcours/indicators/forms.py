"""Filtres du tableau de bord : période et territoire (dans l'URL, pour partager une vue)."""

import datetime

from django import forms
from django.utils import timezone

from parcours.accounts.models import Territory
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

    def __init__(self, *args, departement_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        territories = Territory.objects.order_by("name")
        if departement_ids is not None:  # None : tous les territoires (super-utilisateur)
            territories = territories.filter(departement_id__in=list(departement_ids))
        self.fields["territoire"].queryset = territories
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
