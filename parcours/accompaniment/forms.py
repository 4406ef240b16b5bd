"""Formulaires du diagnostic et du contrat : lecture et contrôle de forme de la saisie, rien de plus.

Les règles (15 h, transitions, données sensibles) sont dans ``services.py``.
"""

from django import forms

from parcours.accounts.models import Organisation, OrganisationKind, User
from parcours.beneficiaries.models import FollowUp

from .models import Action, ContractKind, HoursExemption, Intensity, Objective, Situation
from .permissions import EDIT_ROLES

DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "fr-input"}, format="%Y-%m-%d")
TEXTAREA = forms.Textarea(attrs={"class": "fr-input", "rows": 3})
INPUT = forms.TextInput(attrs={"class": "fr-input"})
NUMBER = forms.NumberInput(attrs={"class": "fr-input", "min": 0, "step": "0.5"})
SELECT = forms.Select(attrs={"class": "fr-select"})


class DiagnosticForm(forms.Form):
    conducted_on = forms.DateField(label="Date de l'entretien de diagnostic", widget=DATE_WIDGET)
    joint = forms.BooleanField(
        label="Diagnostic conjoint avec France Travail (« double regard »)",
        required=False,
        widget=forms.CheckboxInput(),
    )
    situations = forms.ModelMultipleChoiceField(
        label="Situations", queryset=Situation.objects.none(), required=False
    )
    skills = forms.CharField(label="Compétences et savoir-faire", required=False, widget=TEXTAREA)
    professional_project = forms.CharField(label="Projet professionnel", required=False, widget=TEXTAREA)
    rome_code = forms.RegexField(
        label="Métier recherché (code ROME)",
        regex=r"^[A-Na-n]\d{4}$",
        required=False,
        max_length=5,
        widget=INPUT,
        help_text="Une lettre et quatre chiffres, ex. N1103",
        error_messages={"invalid": "Code ROME invalide : une lettre et quatre chiffres, ex. N1103."},
    )
    available_from = forms.DateField(label="Disponible à partir du", required=False, widget=DATE_WIDGET)
    weekly_availability_hours = forms.IntegerField(
        label="Disponibilité hebdomadaire (heures)",
        required=False,
        min_value=0,
        max_value=48,
        widget=forms.NumberInput(attrs={"class": "fr-input", "min": 0, "max": 48}),
    )
    availability_notes = forms.CharField(
        label="Contraintes de disponibilité", required=False, widget=TEXTAREA
    )
    health_notes = forms.CharField(
        label="Précisions sur la santé (données sensibles)", required=False, widget=TEXTAREA
    )
    notes = forms.CharField(label="Observations", required=False, widget=TEXTAREA)

    def __init__(self, *args, can_see_sensitive, **kwargs):
        super().__init__(*args, **kwargs)
        situations = Situation.objects.filter(active=True, theme__active=True)
        if not can_see_sensitive:
            situations = situations.filter(theme__sensitive=False)
            del self.fields["health_notes"]
        self.fields["situations"].queryset = situations

    def clean_rome_code(self):
        return (self.cleaned_data.get("rome_code") or "").upper()

    def selected_situation_ids(self):
        if self.is_bound:
            return {int(v) for v in self.data.getlist("situations") if str(v).isdigit()}
        return set(self.initial.get("situations") or [])


def referent_choices(beneficiary):
    """Organisations qui suivent la personne (son Département + suivis en cours) et leurs agents habilités."""
    following = FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True).values("organisation")
    organisations = Organisation.objects.filter(pk__in=following) | Organisation.objects.filter(
        pk=beneficiary.departement_id
    )
    users = (
        User.objects.filter(
            memberships__organisation__in=organisations,
            memberships__is_active=True,
            memberships__role__in=EDIT_ROLES,
        )
        .distinct()
        .order_by("last_name", "first_name", "email")
    )
    return organisations.exclude(kind=OrganisationKind.ETAT).order_by("name"), users


class ContractForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type de contrat",
        choices=ContractKind.choices,
        initial=ContractKind.CONTRAT_ENGAGEMENT,
        widget=SELECT,
        help_text="Le CER et le PPAE ne servent plus qu'à reprendre l'historique.",
    )
    organisation = forms.ModelChoiceField(
        label="Organisme référent", queryset=Organisation.objects.none(), required=False, widget=SELECT
    )
    referent = forms.ModelChoiceField(
        label="Référent unique", queryset=User.objects.none(), required=False, widget=SELECT
    )
    referent_commitments = forms.CharField(label="Engagements du référent", required=False, widget=TEXTAREA)
    person_commitments = forms.CharField(label="Engagements de la personne", required=False, widget=TEXTAREA)
    objectives = forms.ModelMultipleChoiceField(
        label="Objectifs", queryset=Objective.objects.filter(active=True), required=False
    )
    other_actions = forms.CharField(
        label="Autres actions (une par ligne : libellé ; heures par semaine)",
        required=False,
        widget=forms.Textarea(attrs={"class": "fr-input", "rows": 3}),
        help_text="ex. Immersion en entrepôt logistique ; 12",
    )
    intensity = forms.ChoiceField(
        label="Intensité de l'accompagnement",
        choices=[("", "— choisir —"), *Intensity.choices],
        required=False,
        widget=SELECT,
    )
    weekly_hours = forms.DecimalField(
        label="Durée hebdomadaire d'activité (heures)",
        required=False,
        min_value=0,
        max_digits=4,
        decimal_places=1,
        widget=NUMBER,
        help_text="Au moins 15 heures, sauf motif d'adaptation. Vide : somme des heures des actions.",
    )
    hours_exemption = forms.ChoiceField(
        label="Motif d'adaptation de la durée",
        choices=[("", "— aucun —"), *HoursExemption.choices],
        required=False,
        widget=SELECT,
    )
    hours_exemption_details = forms.CharField(
        label="Précisions sur l'adaptation", required=False, widget=TEXTAREA
    )
    rights_and_appeals = forms.CharField(
        label="Droits et voies de recours",
        required=False,
        widget=forms.Textarea(attrs={"class": "fr-input", "rows": 8}),
    )
    starts_on = forms.DateField(label="Début", required=False, widget=DATE_WIDGET)
    ends_on = forms.DateField(label="Fin prévue", required=False, widget=DATE_WIDGET)
    review_on = forms.DateField(
        label="Date de révision prévue",
        required=False,
        widget=DATE_WIDGET,
        help_text="Vide : fixée à la signature (6 mois par défaut).",
    )

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        organisations, users = referent_choices(beneficiary)
        self.fields["organisation"].queryset = organisations
        self.fields["referent"].queryset = users
        self.actions_by_pk = None

    def selected_objective_ids(self):
        if self.is_bound:
            return {int(v) for v in self.data.getlist("objectives") if str(v).isdigit()}
        return {getattr(o, "pk", o) for o in self.initial.get("objectives") or []}

    def action_hours(self):
        """{pk de l'action du référentiel: heures saisies (texte)} pour réafficher le formulaire."""
        if self.is_bound:
            return {
                int(key.split("_")[1]): value
                for key, value in self.data.items()
                if key.startswith("action_") and key.endswith("_hours") and key.split("_")[1].isdigit()
            }
        return self.initial.get("action_hours") or {}

    def selected_action_ids(self):
        if self.is_bound:
            return {int(v) for v in self.data.getlist("actions") if str(v).isdigit()}
        return set(self.initial.get("actions") or [])

    def clean_other_actions(self):
        rows = []
        for number, line in enumerate((self.cleaned_data.get("other_actions") or "").splitlines(), start=1):
            if not line.strip():
                continue
            label, _, hours = line.partition(";")
            label, hours = label.strip(), hours.strip()
            if not label:
                raise forms.ValidationError(f"Ligne {number} : libellé de l'action manquant.")
            rows.append({"label": label, "weekly_hours": hours or None})
        return rows

    def plan_actions(self):
        """Actions du plan pour le service : celles du référentiel cochées (avec heures), puis les libres."""
        hours = self.action_hours()
        selected = self.selected_action_ids()
        actions = {a.pk: a for a in Action.objects.filter(pk__in=selected)}
        rows = [
            {"action": actions[pk], "weekly_hours": (hours.get(pk) or "").strip() or None}
            for pk in sorted(actions, key=lambda pk: (actions[pk].theme_id, actions[pk].position))
        ]
        return rows + self.cleaned_data.get("other_actions", [])

    def service_fields(self):
        data = dict(self.cleaned_data)
        for name in ("objectives", "other_actions", "kind"):
            data.pop(name, None)
        return data


class TransitionForm(forms.Form):
    on = forms.DateField(label="Date", widget=DATE_WIDGET)
    reason = forms.CharField(label="Motif", required=False, max_length=300, widget=INPUT)


class LateContractsForm(forms.Form):
    on = forms.DateField(label="À la date du", required=False, widget=DATE_WIDGET)
