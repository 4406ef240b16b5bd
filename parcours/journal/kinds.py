"""Les types d'événements du journal des parcours : déclarés une fois, ici.

Chaque type a une charge déclarée (clés, types, libellés) dans ``payload.py`` ; ``record`` (``services.py``)
refuse un type ou une clé qui n'y est pas. Ce module ne dépend d'aucun modèle : on peut l'importer partout.
"""

from django.db import models


class EventKind(models.TextChoices):
    PERSON_CREATED = "person_created", "Personne créée"
    RIGHT_OPENED = "right_opened", "Droit RSA ouvert"
    RIGHT_STATE_CHANGED = "right_state_changed", "Changement d'état du droit"
    RIGHT_CLOSED = "right_closed", "Droit clos"
    BECAME_SDD = "became_sdd", "Soumis aux droits et devoirs"
    LEFT_SDD = "left_sdd", "N'est plus soumis aux droits et devoirs"
    NEW_ENTRANT = "new_entrant", "Nouvel entrant"
    FOLLOW_UP_OPENED = "follow_up_opened", "Suivi ouvert"
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
    BARRIER_LIFTED = "barrier_lifted", "Frein périphérique levé"
    CONTRACT_SIGNED = "contract_signed", "Contrat d'engagement signé"
    CONTRACT_ENDED = "contract_ended", "Contrat clos"
    # Accompagnement intensif, revues, sanctions, sorties (étapes 7 à 10)
    ACTIVITY_PLANNED = "activity_planned", "Activité planifiée"
    ACTIVITY_STARTED = "activity_started", "Activité commencée"
    ACTIVITY_STATUS_CHANGED = "activity_status_changed", "Activité : changement de statut"
    HOURS_ADJUSTED = "hours_adjusted", "Durée hebdomadaire adaptée"
    REVIEW_PLANNED = "review_planned", "Revue prévue"
    REVIEW_HELD = "review_held", "Revue tenue"
    SANCTION_STEP = "sanction_step", "Procédure de suspension-remobilisation : étape"
    SANCTION_NOTICE = "sanction_notice", "Mesure de sanction : échange avec l'organisme payeur"
    EXITED = "exited", "Sortie de l'accompagnement"
    EMPLOYMENT_CHECKED = "employment_checked", "Suivi dans l'emploi"
    # Catalogue : prescriptions vers un service
    PRESCRIPTION_SENT = "prescription_sent", "Prescription envoyée"
    PRESCRIPTION_ACCEPTED = "prescription_accepted", "Prescription acceptée"
    PRESCRIPTION_REFUSED = "prescription_refused", "Prescription refusée"
    PRESCRIPTION_EXPIRED = "prescription_expired", "Prescription expirée"

    @property
    def schema(self):
        """La charge déclarée de ce type (``payload.SCHEMAS``)."""
        from .payload import SCHEMAS

        return SCHEMAS[self]
