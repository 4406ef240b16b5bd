"""Formulaires des campagnes de reprise de contact du stock (critères, création, invitation)."""

from django import forms

from parcours.accounts.models import Territory

from .campaigns import PATHWAY_CHOICES, Criteria
from .models import Channel

SELECT = {"class": "fr-select"}
INPUT = {"class": "fr-input"}


class CriteriaForm(forms.Form):
    """Critères de sélection dans le stock (lus en GET : l'aperçu se partage par son adresse)."""

    departement = forms.TypedChoiceField(label="Département", coerce=int, widget=forms.Select(attrs=SELECT))
    pathway = forms.ChoiceField(
        label="Parcours", choices=PATHWAY_CHOICES, required=False, widget=forms.Select(attrs=SELECT)
    )
    no_contract = forms.BooleanField(label="Sans contrat d'engagement en cours", required=False)
    no_appointment_months = forms.IntegerField(
        label="Sans rendez-vous depuis (mois)",
        required=False,
        min_value=1,
        max_value=120,
        widget=forms.NumberInput(attrs=INPUT),
        error_messages={
            "min_value": "Le nombre de mois est au moins 1.",
            "max_value": "Le nombre de mois est au plus 120.",
            "invalid": "Saisissez un nombre de mois.",
        },
    )
    territory = forms.ModelChoiceField(
        label="Territoire",
        queryset=Territory.objects.none(),
        required=False,
        empty_label="Tous",
        widget=forms.Select(attrs=SELECT),
        error_messages={"invalid_choice": "Ce territoire n'est pas dans votre périmètre."},
    )
    right_opened_before = forms.DateField(
        label="Droit ouvert avant le",
        required=False,
        widget=forms.DateInput(attrs={**INPUT, "type": "date"}),
        error_messages={"invalid": "Saisissez une date valide (jj/mm/aaaa)."},
    )

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        self.departements = {d.pk: d for d in departements}
        self.fields["departement"].choices = [(d.pk, d.name) for d in departements]
        if len(departements) == 1:
            self.fields["departement"].initial = departements[0].pk
            self.fields["departement"].required = False
            self.fields["departement"].widget = forms.HiddenInput()
        self.fields["territory"].queryset = Territory.objects.filter(
            departement__in=list(self.departements)
        ).order_by("name")

    def clean_departement(self):
        value = self.cleaned_data.get("departement")
        if value in (None, "") and len(self.departements) == 1:
            return next(iter(self.departements))
        if value not in self.departements:
            raise forms.ValidationError("Choisissez un Département de votre équipe d'orientation.")
        return value

    def clean(self):
        cleaned = super().clean()
        territory = cleaned.get("territory")
        departement = cleaned.get("departement")
        if territory and departement and territory.departement_id != departement:
            self.add_error("territory", "Ce territoire n'appartient pas au Département choisi.")
        return cleaned

    @property
    def selected_departement(self):
        return self.departements[self.cleaned_data["departement"]]

    @property
    def criteria(self):
        data = self.cleaned_data
        return Criteria(
            pathway=data.get("pathway") or "",
            no_contract=bool(data.get("no_contract")),
            no_appointment_months=data.get("no_appointment_months"),
            territory_id=data["territory"].pk if data.get("territory") else None,
            right_opened_before=data.get("right_opened_before"),
        )


class CampaignNameForm(forms.Form):
    name = forms.CharField(
        label="Nom de la campagne",
        max_length=200,
        widget=forms.TextInput(attrs=INPUT),
        error_messages={"required": "Donnez un nom à la campagne."},
    )


class CampaignInviteForm(forms.Form):
    channel = forms.ChoiceField(
        label="Inviter par",
        choices=Channel.choices,
        widget=forms.Select(attrs=SELECT),
        error_messages={"required": "Choisissez un canal d'invitation.", "invalid_choice": "Canal inconnu."},
    )
