"""Formulaires des pages d'orientation (la validation métier reste dans ``services.py``)."""

from django import forms
from django.utils import timezone

from parcours.accounts.models import Membership, Role
from parcours.core.forms import LongSelect, LongSelectMultiple

from . import services
from .models import AppointmentKind, Attendance, Channel, ExemptionReason, Pathway

DATE = forms.DateInput(attrs={"type": "date", "class": "fr-input"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "fr-input"}, format="%Y-%m-%dT%H:%M")
TEXTAREA = forms.Textarea(attrs={"class": "fr-input", "rows": 3})
INPUT = forms.TextInput(attrs={"class": "fr-input"})
SELECT = forms.Select(attrs={"class": "fr-select"})


def _select(choices=()):
    return forms.Select(attrs={"class": "fr-select"}, choices=choices)


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.get_kind_display()})"


class InviteForm(forms.Form):
    channel = forms.ChoiceField(label="Canal", choices=Channel.choices, widget=SELECT)
    appointment = forms.ModelChoiceField(
        label="Convocation au rendez-vous",
        queryset=None,
        required=False,
        empty_label="— aucune : simple invitation à prendre rendez-vous —",
        widget=SELECT,
        help_text="Faute de réponse à l'invitation, convoquez la personne à un rendez-vous fixé.",
    )

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment"].queryset = beneficiary.appointments.filter(
            attendance=Attendance.PLANNED, starts_at__gte=timezone.now()
        )


class AppointmentForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=AppointmentKind.choices, widget=SELECT)
    starts_at = forms.DateTimeField(label="Date et heure", widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"])
    duration_minutes = forms.IntegerField(
        label="Durée (minutes)",
        initial=60,
        min_value=5,
        max_value=480,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )
    place = forms.CharField(label="Lieu", max_length=300, widget=INPUT)
    organisations = forms.ModelMultipleChoiceField(
        label="Organisations présentes",
        queryset=None,
        required=False,
        widget=LongSelectMultiple(attrs={"class": "fr-select", "size": 4}),
        help_text="Deux organisations ou plus : rendez-vous conjoint (« double regard »).",
    )
    professionals = forms.ModelMultipleChoiceField(
        label="Professionnels",
        queryset=None,
        required=False,
        widget=LongSelectMultiple(attrs={"class": "fr-select", "size": 4}),
    )

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = services.orientation_organisations(beneficiary.departement)
        self.fields["organisations"].queryset = organisations
        from parcours.accounts.models import User

        self.fields["professionals"].queryset = (
            User.objects.filter(memberships__organisation__in=organisations, memberships__is_active=True)
            .distinct()
            .order_by("last_name", "first_name")
        )


class AttendanceForm(forms.Form):
    appointment = forms.IntegerField(widget=forms.HiddenInput)
    attendance = forms.ChoiceField(label="Présence", choices=Attendance.choices, widget=SELECT)
    notes = forms.CharField(label="Observations", required=False, widget=TEXTAREA)


class DecisionForm(forms.Form):
    pathway = forms.ChoiceField(label="Parcours", choices=Pathway.choices, widget=SELECT)
    organisation = OrganisationChoiceField(label="Organisme d'orientation", queryset=None, widget=SELECT)
    decided_on = forms.DateField(label="Décidée le", widget=DATE)
    notified_on = forms.DateField(
        label="Notifiée le",
        required=False,
        widget=DATE,
        help_text="Date d'envoi du courrier de notification ; à laisser vide si elle n'est pas encore partie.",
    )
    reason = forms.CharField(label="Motif", required=False, widget=TEXTAREA)
    proposal_rule = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = services.orientation_organisations(
            beneficiary.departement
        ).order_by("name")
        self.fields["decided_on"].initial = timezone.localdate()


class NotifyForm(forms.Form):
    notified_on = forms.DateField(label="Notifiée le", widget=DATE)


class CancelDecisionForm(forms.Form):
    reason = forms.CharField(label="Motif de l'annulation", widget=INPUT)


class EndFollowUpForm(forms.Form):
    ended_on = forms.DateField(label="Fin du suivi le", widget=DATE)
    reason = forms.CharField(label="Motif de fin du suivi", widget=INPUT)


def referent_choices(departement, organisations=None):
    """Choix « organisation-agent » des référents du Département et de ses partenaires (ou des seules
    ``organisations`` données : l'organisation en charge qui désigne parmi ses agents), avec leur charge."""
    if organisations is None:
        organisations = services.orientation_organisations(departement)
    memberships = (
        Membership.objects.filter(organisation__in=organisations, is_active=True, role=Role.REFERENT)
        .select_related("user", "organisation")
        .order_by("organisation__name", "user__last_name", "user__first_name")
    )
    memberships = list(memberships)
    # Charges et tailles cibles lues en deux requêtes, quel que soit le nombre d'organisations et d'agents.
    loads = services.open_loads({m.user_id for m in memberships})
    caps = services.portfolio_caps({m.organisation_id for m in memberships})
    choices = []
    for m in memberships:
        load, cap = loads.get(m.user_id, 0), caps[m.organisation_id]
        label = f"{m.user} — {m.organisation.name} ({load}/{cap})"
        choices.append((f"{m.organisation_id}-{m.user_id}", label))
    return choices


class AssignReferentForm(forms.Form):
    referent = forms.ChoiceField(
        label="Référent (portefeuille actuel / taille cible)", widget=LongSelect(attrs={"class": "fr-select"})
    )
    started_on = forms.DateField(label="Début", widget=DATE)
    reason = forms.CharField(label="Motif (en cas de transfert)", required=False, widget=INPUT)

    def __init__(self, *args, beneficiary, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referent"].choices = referent_choices(beneficiary.departement, organisations)
        self.fields["started_on"].initial = timezone.localdate()

    def referent_ids(self):
        organisation_id, user_id = self.cleaned_data["referent"].split("-")
        return int(organisation_id), int(user_id)


class ExemptionForm(forms.Form):
    reason = forms.ChoiceField(label="Motif de dispense", choices=ExemptionReason.choices, widget=SELECT)
    details = forms.CharField(label="Précisions", required=False, widget=INPUT)
    starts_on = forms.DateField(label="Début", widget=DATE)
    ends_on = forms.DateField(label="Fin", required=False, widget=DATE)


class ReorientationRequestForm(forms.Form):
    pathway = forms.ChoiceField(label="Parcours demandé", choices=Pathway.choices, widget=SELECT)
    organisation = OrganisationChoiceField(
        label="Organisme souhaité", queryset=None, required=False, widget=SELECT
    )
    reason = forms.CharField(label="Motif de la demande", widget=TEXTAREA)

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = services.orientation_organisations(
            beneficiary.departement
        ).order_by("name")


class ReorientationDecisionForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.TypedChoiceField(
        label="Décision",
        choices=[("1", "Accepter la réorientation"), ("0", "Refuser")],
        coerce=lambda v: v == "1",
        widget=SELECT,
    )
    organisation = OrganisationChoiceField(
        label="Organisme d'orientation", queryset=None, required=False, widget=SELECT
    )
    notified_on = forms.DateField(label="Notifiée le", required=False, widget=DATE)
    reason = forms.CharField(label="Motif de la décision", required=False, widget=INPUT)

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = services.orientation_organisations(
            beneficiary.departement
        ).order_by("name")


class BulkInviteForm(forms.Form):
    channel = forms.ChoiceField(label="Canal", choices=Channel.choices, widget=SELECT)
    people = forms.CharField(widget=forms.HiddenInput, required=False)


class AgendaForm(forms.Form):
    """Semaine affichée par l'agenda (n'importe quel jour de la semaine ; par défaut, celle du jour)."""

    semaine = forms.DateField(label="Semaine du", required=False, widget=DATE)


class PortfolioForm(forms.Form):
    """Ordre du portefeuille : la prochaine échéance la plus proche d'abord, ou par nom."""

    BY_DEADLINE = "echeance"
    BY_NAME = "nom"

    tri = forms.ChoiceField(
        label="Trier par",
        required=False,
        choices=[(BY_DEADLINE, "Prochaine échéance"), (BY_NAME, "Nom")],
        widget=SELECT,
    )
