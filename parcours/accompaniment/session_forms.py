"""Formulaires des séances de l'équipe pluridisciplinaire : lecture et contrôle de forme, rien de plus (les
règles sont dans ``sessions.py`` et ``sanctions.py``)."""

from django import forms

from parcours.accounts.models import User

from .forms import DATE_WIDGET, INPUT, SELECT, TEXTAREA
from .models import GuestQuality, SanctionDecision, TeamSession

LEVELS = [(1, "Niveau 1 (local)"), (2, "Niveau 2 (départemental)")]


class SessionForm(forms.Form):
    departement = forms.ModelChoiceField(label="Département", queryset=None, widget=SELECT, empty_label=None)
    territory = forms.ModelChoiceField(
        label="Territoire",
        queryset=None,
        required=False,
        widget=SELECT,
        empty_label="Séance départementale (tous les territoires)",
    )
    level = forms.TypedChoiceField(label="Niveau", choices=LEVELS, coerce=int, widget=SELECT)
    held_on = forms.DateField(label="Date de la séance", widget=DATE_WIDGET)
    starts_at = forms.TimeField(
        label="Heure de début",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time", "class": "fr-input"}, format="%H:%M"),
    )
    place = forms.CharField(label="Lieu", required=False, max_length=300, widget=INPUT)
    members = forms.ModelMultipleChoiceField(
        label="Agents convoqués",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Agents du Département et de ses partenaires ; les membres sans compte (représentants "
        "des bénéficiaires, d'une association…) s'ajoutent sur la page de la séance.",
    )

    def __init__(self, *args, departements, territories, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = departements
        self.fields["territory"].queryset = territories
        self.fields["members"].queryset = members
        self.fields["members"].label_from_instance = lambda user: user.get_full_name() or user.email

    @staticmethod
    def initial_for(session: TeamSession):
        return {
            "departement": session.departement_id,
            "territory": session.territory_id,
            "level": session.level,
            "held_on": session.held_on,
            "starts_at": session.starts_at,
            "place": session.place,
            "members": list(session.members.values_list("pk", flat=True)),
        }


class GuestForm(forms.Form):
    name = forms.CharField(label="Nom", max_length=200, widget=INPUT)
    quality = forms.ChoiceField(label="Qualité", choices=GuestQuality.choices, widget=SELECT)
    organisation = forms.CharField(
        label="Organisme (facultatif)", required=False, max_length=200, widget=INPUT
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "membre-%s")
        super().__init__(*args, **kwargs)


OPINIONS = [("favorable", "Favorable à la sanction envisagée"), ("defavorable", "Défavorable")]


class OpinionForm(forms.Form):
    on = forms.DateField(label="Date de l'avis", widget=DATE_WIDGET)
    favourable = forms.ChoiceField(label="Avis", choices=OPINIONS, widget=forms.RadioSelect)
    proposed_decision = forms.ChoiceField(
        label="Sanction proposée par l'équipe", choices=SanctionDecision.choices, widget=SELECT
    )
    team_opinion = forms.CharField(label="Motivation de l'avis", widget=TEXTAREA)

    def service_data(self):
        data = dict(self.cleaned_data)
        data["favourable"] = data["favourable"] == "favorable"
        return data
