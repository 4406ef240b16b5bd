"""Le journal des parcours : chaque fait daté, écrit une fois, par la fonction qui fait le changement."""

from django.conf import settings
from django.db import models


class EventKind(models.TextChoices):
    PERSON_CREATED = "person_created", "Personne créée"
    RIGHT_OPENED = "right_opened", "Droit RSA ouvert"
    RIGHT_STATE_CHANGED = "right_state_changed", "Changement d'état du droit"
    RIGHT_CLOSED = "right_closed", "Droit clos"
    BECAME_SDD = "became_sdd", "Soumis aux droits et devoirs"
    LEFT_SDD = "left_sdd", "N'est plus soumis aux droits et devoirs"
    NEW_ENTRANT = "new_entrant", "Nouvel entrant"
    FOLLOW_UP_CLOSED = "follow_up_closed", "Suivi clos"
    CONTACT_UPDATED = "contact_updated", "Coordonnées mises à jour"
    # Orientation (étapes 3 à 5 du parcours)
    INVITATION_CREATED = "invitation_created", "Invitation préparée"
    INVITED = "invited", "Invitation envoyée"
    INVITATION_REMINDED = "invitation_reminded", "Relance d'invitation"
    INVITATION_DELIVERED = "invitation_delivered", "Invitation délivrée"
    INVITATION_FAILED = "invitation_failed", "Échec d'envoi de l'invitation"
    INVITATION_ANSWERED = "invitation_answered", "Réponse à l'invitation"
    INVITATION_EXPIRED = "invitation_expired", "Invitation expirée"
    APPOINTMENT_PLANNED = "appointment_planned", "Rendez-vous planifié"
    APPOINTMENT_HELD = "appointment_held", "Rendez-vous honoré"
    APPOINTMENT_EXCUSED = "appointment_excused", "Absence excusée"
    APPOINTMENT_NO_SHOW = "appointment_no_show", "Absence non excusée"
    APPOINTMENT_CANCELLED = "appointment_cancelled", "Rendez-vous annulé"
    APPOINTMENT_ATTENDANCE_CORRECTED = "appointment_attendance_corrected", "Présence corrigée"
    ORIENTATION_DECIDED = "orientation_decided", "Orientation décidée"
    ORIENTED = "oriented", "Orientation notifiée"
    REORIENTED = "reoriented", "Réorientation notifiée"
    ORIENTATION_CANCELLED = "orientation_cancelled", "Orientation annulée"
    ORIENTATION_EXEMPTED = "orientation_exempted", "Dispense d'orientation"
    ORIENTATION_EXEMPTION_ENDED = "orientation_exemption_ended", "Fin de dispense d'orientation"
    REORIENTATION_REQUESTED = "reorientation_requested", "Demande de réorientation"
    REORIENTATION_ACCEPTED = "reorientation_accepted", "Réorientation acceptée"
    REORIENTATION_REFUSED = "reorientation_refused", "Réorientation refusée"
    REFERENT_ASSIGNED = "referent_assigned", "Référent désigné"
    REFERENT_ENDED = "referent_ended", "Fin de désignation du référent"
    # Accompagnement (étape 6)
    DIAGNOSED = "diagnosed", "Diagnostic partagé enregistré"
    CONTRACT_SIGNED = "contract_signed", "Contrat d'engagement signé"
    CONTRACT_ENDED = "contract_ended", "Contrat clos"
    # Accompagnement intensif, revues, sanctions, sorties (étapes 7 à 10)
    ACTIVITY_PLANNED = "activity_planned", "Activité planifiée"
    ACTIVITY_STATUS_CHANGED = "activity_status_changed", "Activité : changement de statut"
    HOURS_ADJUSTED = "hours_adjusted", "Durée hebdomadaire adaptée"
    REVIEW_PLANNED = "review_planned", "Revue prévue"
    REVIEW_HELD = "review_held", "Revue tenue"
    SANCTION_STEP = "sanction_step", "Procédure de suspension-remobilisation : étape"
    EXITED = "exited", "Sortie de l'accompagnement"
    EMPLOYMENT_CHECKED = "employment_checked", "Suivi dans l'emploi"


class Event(models.Model):
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField("type", max_length=40, choices=EventKind.choices)
    occurred_on = models.DateField("date métier")
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.ForeignKey(
        "intake.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField("détails", default=dict, blank=True)

    class Meta:
        verbose_name = "événement"
        ordering = ["-occurred_on", "-pk"]
        indexes = [
            models.Index(fields=["kind", "occurred_on"], name="event_kind_date_idx"),
            models.Index(fields=["beneficiary", "occurred_on"], name="event_benef_date_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.occurred_on:%d/%m/%Y}"
