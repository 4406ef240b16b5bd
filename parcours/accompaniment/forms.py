"""Formulaires du diagnostic et du contrat : lecture et contrôle de forme de la saisie, rien de plus.

Les règles (15 h, transitions, données sensibles) sont dans ``services.py``.
"""

from django import forms

from parcours.accounts.models import Organisation, OrganisationKind, User
from parcours.accounts.roles import EDITING
from parcours.beneficiaries.models import FollowUp
from parcours.core.forms import LongSelect

from .models import (
    Action,
    ActivityKind,
    ActivityStatus,
    ContractKind,
    EmploymentContract,
    ExitReason,
    HoursExemption,
    HoursTargetKind,
    Intensity,
    Objective,
    ReviewKind,
    SanctionDecision,
    SanctionGround,
    SanctionStatus,
    Situation,
    TeamSession,
)

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
            memberships__role__in=EDITING,
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
        label="Référent unique",
        queryset=User.objects.none(),
        required=False,
        widget=LongSelect(attrs={"class": "fr-select"}),
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
        help_text=(
            "Au moins 15 heures, sauf motif d'adaptation ; 0 heure seulement pour raison de santé, de handicap, "
            "d'invalidité ou pour un parent isolé sans solution de garde (Code du travail, art. L5411-6). "
            "Vide : somme des heures des actions."
        ),
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


# --- accompagnement intensif, revues, sanctions, sorties (étapes 7 à 10) -------------------------------


def _choices(enum, blank=False):
    return ([("", "—")] if blank else []) + list(enum.choices)


DECIMAL = forms.DecimalField


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label="Type d'activité", choices=_choices(ActivityKind), widget=SELECT)
    label = forms.CharField(label="Intitulé", required=False, max_length=255, widget=INPUT)
    service_q = forms.CharField(
        label="Service du catalogue",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "fr-input", "type": "search", "autocomplete": "off"}),
        help_text="Facultatif : tapez le nom du service ou de la structure, puis choisissez le service ; "
        "il apporte son nom, ses heures et ses semaines.",
    )
    # Choisi dans la liste des résultats (boutons radio) ; vérifié ici parmi les services du catalogue.
    service = forms.IntegerField(required=False, widget=forms.HiddenInput())
    provider = forms.CharField(
        label="Prestataire (texte libre)", required=False, max_length=255, widget=INPUT
    )
    weekly_hours = DECIMAL(label="Heures par semaine", required=False, min_value=0, widget=NUMBER)
    weeks = forms.IntegerField(
        label="Nombre de semaines",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )
    starts_on = forms.DateField(label="Début", widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        from django.urls import reverse

        kwargs.setdefault("auto_id", "activite-%s")
        super().__init__(*args, **kwargs)
        # Résultats pendant la saisie (htmx) ; sans JavaScript, le bouton « Rechercher le service ».
        self.fields["service_q"].widget.attrs.update(
            {
                "hx-get": reverse("accompaniment:service_search"),
                "hx-trigger": "input changed delay:300ms, search",
                "hx-target": "#activite-service-resultats",
                "hx-sync": "this:replace",
                "aria-controls": "activite-service-resultats",
            }
        )

    def clean_service(self):
        from .activities import visible_services

        pk = self.cleaned_data.get("service")
        if not pk:
            return None
        service = visible_services().filter(pk=pk).first()
        if service is None:
            raise forms.ValidationError("Service inconnu du catalogue, ou qui n'est plus proposé.")
        return service

    def selected_service(self):
        """Le service choisi (pour le réafficher avec le formulaire), sans requête s'il est validé."""
        if self.is_bound and hasattr(self, "cleaned_data") and self.cleaned_data.get("service"):
            return self.cleaned_data["service"]
        return None

    def service_fields(self):
        data = dict(self.cleaned_data)
        data.pop("service_q", None)
        return data


class ActivityStatusForm(forms.Form):
    """Un formulaire par activité sur la page du plan : ``auto_id`` propre à l'activité (identifiants uniques)."""

    status = forms.ChoiceField(label="Nouveau statut", choices=_choices(ActivityStatus), widget=SELECT)
    on = forms.DateField(label="Date", widget=DATE_WIDGET)
    actual_hours = DECIMAL(label="Heures réalisées (total)", required=False, min_value=0, widget=NUMBER)
    outcome = forms.CharField(label="Ce qui s'est passé", required=False, widget=TEXTAREA)

    def __init__(self, *args, activity=None, **kwargs):
        if activity is not None:
            kwargs.setdefault("auto_id", f"statut-{activity.pk}-%s")
        super().__init__(*args, **kwargs)


class AdjustmentForm(forms.Form):
    kind = forms.ChoiceField(label="Adaptation", choices=_choices(HoursTargetKind), widget=SELECT)
    reason = forms.ChoiceField(label="Motif", choices=_choices(HoursExemption), widget=SELECT)
    target_hours = DECIMAL(label="Objectif hebdomadaire (heures)", required=False, min_value=0, widget=NUMBER)
    requested_by_person = forms.BooleanField(label="À la demande de la personne", required=False)
    starts_on = forms.DateField(label="Début", widget=DATE_WIDGET)
    ends_on = forms.DateField(label="Fin", widget=DATE_WIDGET)
    details = forms.CharField(label="Précisions", required=False, widget=TEXTAREA)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "adaptation-%s")
        super().__init__(*args, **kwargs)


class ReviewPlanForm(forms.Form):
    kind = forms.ChoiceField(label="Type de revue", choices=_choices(ReviewKind), widget=SELECT)
    due_on = forms.DateField(label="Échéance", required=False, widget=DATE_WIDGET)
    session = forms.ModelChoiceField(
        label="Séance de l'équipe pluridisciplinaire (facultatif)",
        queryset=TeamSession.objects.none(),
        required=False,
        widget=SELECT,
        help_text="Pour une analyse de situation ou une réorientation examinée en séance.",
    )

    def __init__(self, *args, departement=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = TeamSession.objects.filter(departement=departement).order_by(
            "-held_on"
        )


class ReviewHoldForm(forms.Form):
    on = forms.DateField(label="Tenue le", widget=DATE_WIDGET)
    minutes = forms.CharField(label="Compte rendu", widget=TEXTAREA)
    decisions = forms.CharField(label="Décisions", required=False, widget=TEXTAREA)


class OpenCaseForm(forms.Form):
    ground = forms.ChoiceField(label="Manquement", choices=_choices(SanctionGround), widget=SELECT)
    facts = forms.CharField(label="Faits reprochés", widget=TEXTAREA)
    on = forms.DateField(label="Constaté le", widget=DATE_WIDGET)


class CaseStepForm(forms.Form):
    """Tous les champs possibles d'une étape ; le service dit lesquels sont requis pour l'étape choisie."""

    to_status = forms.ChoiceField(label="Étape suivante", choices=_choices(SanctionStatus), widget=SELECT)
    on = forms.DateField(label="Date", widget=DATE_WIDGET)
    reason = forms.CharField(label="Motif", widget=TEXTAREA)
    observations = forms.CharField(label="Observations de la personne", required=False, widget=TEXTAREA)
    assisted_by = forms.CharField(label="Assistée par", required=False, max_length=200, widget=INPUT)
    session = forms.ModelChoiceField(
        label="Séance de l'équipe pluridisciplinaire",
        queryset=TeamSession.objects.none(),
        required=False,
        widget=SELECT,
    )
    team_opinion = forms.CharField(label="Avis de l'équipe", required=False, widget=TEXTAREA)
    proposed_decision = forms.ChoiceField(
        label="Sanction proposée par l'équipe",
        choices=_choices(SanctionDecision, blank=True),
        required=False,
        widget=SELECT,
    )
    decision = forms.ChoiceField(
        label="Décision du Président",
        choices=_choices(SanctionDecision, blank=True),
        required=False,
        widget=SELECT,
    )
    reduction_percent = forms.IntegerField(
        label="Taux de réduction (%)", required=False, widget=forms.NumberInput(attrs={"class": "fr-input"})
    )
    duration_months = forms.IntegerField(
        label="Durée (mois)", required=False, widget=forms.NumberInput(attrs={"class": "fr-input"})
    )
    monthly_amount = DECIMAL(label="Montant mensuel retenu (€)", required=False, widget=NUMBER)
    repaid_amount = DECIMAL(label="Sommes restituées (€)", required=False, widget=NUMBER)

    def __init__(self, *args, departement=None, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(SanctionStatus.choices)
        self.fields["to_status"].choices = [(s, labels[s]) for s in allowed]
        self.fields["session"].queryset = TeamSession.objects.filter(departement=departement).order_by(
            "-held_on"
        )

    def service_data(self):
        data = dict(self.cleaned_data)
        for name in ("to_status", "on", "reason"):
            data.pop(name)
        return {k: v for k, v in data.items() if v not in (None, "")}


class ExitForm(forms.Form):
    reason = forms.ChoiceField(label="Motif de sortie", choices=_choices(ExitReason), widget=SELECT)
    exited_on = forms.DateField(label="Date de sortie", widget=DATE_WIDGET)
    details = forms.CharField(label="Précisions", required=False, widget=TEXTAREA)
    employer = forms.CharField(label="Employeur", required=False, max_length=255, widget=INPUT)
    job_title = forms.CharField(label="Poste", required=False, max_length=255, widget=INPUT)
    contract_type = forms.ChoiceField(
        label="Type de contrat",
        choices=_choices(EmploymentContract, blank=True),
        required=False,
        widget=SELECT,
    )
    contract_months = forms.IntegerField(
        label="Durée du contrat (mois)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )
    weekly_hours = DECIMAL(label="Heures par semaine", required=False, min_value=0, widget=NUMBER)
    job_started_on = forms.DateField(label="Prise de poste le", required=False, widget=DATE_WIDGET)


class EmploymentCheckForm(forms.Form):
    on = forms.DateField(label="Vérifié le", widget=DATE_WIDGET)
    still_employed = forms.BooleanField(label="Toujours en emploi", required=False)
    contract_type = forms.ChoiceField(
        label="Type de contrat",
        choices=_choices(EmploymentContract, blank=True),
        required=False,
        widget=SELECT,
    )
    contract_months = forms.IntegerField(
        label="Durée du contrat (mois)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )
    six_month = forms.BooleanField(label="Vérification de l'emploi durable à 6 mois", required=False)
    notes = forms.CharField(label="Observations", required=False, widget=TEXTAREA)
