"""Orientation des nouveaux entrants : invitations, rendez-vous, décisions d'orientation, référent unique.

Les tables de ce module sont l'**état courant** que lisent les écrans ; chaque changement d'état passe par
une fonction de ``services.py`` qui vérifie la transition et écrit, dans la même transaction, un
événement daté et signé dans le journal des parcours (``parcours.journal.Event``), que lisent
l'historique et les indicateurs.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "email", "Courriel"
    SMS = "sms", "SMS"
    POSTAL = "postal", "Courrier postal"


class InvitationStatus(models.TextChoices):
    CREATED = "created", "Créée"
    SENT = "sent", "Envoyée"
    DELIVERED = "delivered", "Distribuée"
    FAILED = "failed", "Échec de l'envoi"
    ANSWERED = "answered", "Rendez-vous pris"
    EXPIRED = "expired", "Expirée sans réponse"


# Transitions autorisées (état de départ → états d'arrivée possibles).
INVITATION_TRANSITIONS = {
    InvitationStatus.CREATED: {InvitationStatus.SENT, InvitationStatus.FAILED},
    InvitationStatus.SENT: {
        InvitationStatus.DELIVERED,
        InvitationStatus.FAILED,
        InvitationStatus.ANSWERED,
        InvitationStatus.EXPIRED,
    },
    InvitationStatus.DELIVERED: {InvitationStatus.ANSWERED, InvitationStatus.EXPIRED},
    InvitationStatus.FAILED: set(),
    InvitationStatus.ANSWERED: set(),
    InvitationStatus.EXPIRED: set(),
}
OPEN_INVITATION_STATUSES = (InvitationStatus.CREATED, InvitationStatus.SENT, InvitationStatus.DELIVERED)


class Invitation(models.Model):
    """Invitation (ou convocation) d'une personne à prendre rendez-vous, par un canal donné."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name="bénéficiaire",
    )
    channel = models.CharField("canal", max_length=10, choices=Channel.choices)
    is_convocation = models.BooleanField(
        "convocation", default=False, help_text="Convocation à un rendez-vous fixé (faute de réponse)."
    )
    appointment = models.ForeignKey(
        "Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="convocations",
        verbose_name="rendez-vous fixé",
    )
    status = models.CharField(
        "statut", max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.CREATED
    )
    recipient = models.CharField("destinataire", max_length=300, blank=True)
    created_on = models.DateField("créée le")
    sent_on = models.DateField("envoyée le", null=True, blank=True)
    delivered_on = models.DateField("distribuée le", null=True, blank=True)
    reminded_on = models.DateField("relancée le", null=True, blank=True)
    expires_on = models.DateField("expire le", null=True, blank=True)
    answered_on = models.DateField("réponse le", null=True, blank=True)
    expired_on = models.DateField("expirée le", null=True, blank=True)
    failure_reason = models.CharField("motif de l'échec", max_length=300, blank=True)
    provider_reference = models.CharField("référence du prestataire", max_length=100, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="envoyée par",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "invitation"
        ordering = ["-created_on", "-pk"]
        indexes = [
            models.Index(fields=["beneficiary", "created_on"], name="invit_benef_created_idx"),
            models.Index(fields=["status", "expires_on"], name="invit_status_expiry_idx"),
            models.Index(fields=["status", "sent_on"], name="invit_status_sent_idx"),
            # File « invitations en cours » : lue dans l'ordre de l'expiration, sans trier toutes les invitations.
            models.Index(
                fields=["expires_on", "id"],
                condition=models.Q(status__in=OPEN_INVITATION_STATUSES),
                name="invit_open_expiry_idx",
            ),
        ]

    def __str__(self):
        kind = "Convocation" if self.is_convocation else "Invitation"
        return f"{kind} par {self.get_channel_display().lower()} de {self.beneficiary}"

    @property
    def is_open(self):
        return self.status in OPEN_INVITATION_STATUSES


class AppointmentKind(models.TextChoices):
    ORIENTATION = "orientation", "Rendez-vous d'orientation"
    ACCOMPANIMENT = "accompaniment", "Rendez-vous d'accompagnement"


class Attendance(models.TextChoices):
    PLANNED = "planned", "Prévu"
    SEEN = "seen", "Venu"
    EXCUSED = "excused", "Absence excusée"
    NO_SHOW = "no_show", "Absent non excusé"
    CANCELLED = "cancelled", "Annulé"


ATTENDANCE_TRANSITIONS = {
    Attendance.PLANNED: {Attendance.SEEN, Attendance.EXCUSED, Attendance.NO_SHOW, Attendance.CANCELLED},
    # Correction d'une saisie erronée le jour même ou après : on repasse par « prévu ».
    Attendance.SEEN: {Attendance.PLANNED},
    Attendance.EXCUSED: {Attendance.PLANNED},
    Attendance.NO_SHOW: {Attendance.PLANNED},
    Attendance.CANCELLED: set(),
}


# Rendez-vous manqué : la personne n'est pas venue (excusée ou non) ou le rendez-vous a été annulé ; en
# orientation, elle revient dans la file « à convoquer ».
MISSED_ATTENDANCES = (Attendance.NO_SHOW, Attendance.EXCUSED, Attendance.CANCELLED)


class Appointment(models.Model):
    """Rendez-vous d'orientation ou d'accompagnement, éventuellement conjoint (« double regard »)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="appointments",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField(
        "type", max_length=15, choices=AppointmentKind.choices, default=AppointmentKind.ORIENTATION
    )
    starts_at = models.DateTimeField("date et heure")
    duration_minutes = models.PositiveSmallIntegerField("durée (minutes)", default=60)
    place = models.CharField("lieu", max_length=300)
    professionals = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="orientation_appointments",
        verbose_name="professionnels",
    )
    organisations = models.ManyToManyField(
        "accounts.Organisation",
        blank=True,
        related_name="orientation_appointments",
        verbose_name="organisations présentes",
        help_text="Plusieurs organisations pour un rendez-vous conjoint (ex. Département + France Travail).",
    )
    attendance = models.CharField(
        "présence", max_length=10, choices=Attendance.choices, default=Attendance.PLANNED
    )
    attendance_recorded_on = models.DateField("présence saisie le", null=True, blank=True)
    notes = models.TextField("observations", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="créé par",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)  # synchronisation des partenaires (API)

    class Meta:
        verbose_name = "rendez-vous"
        verbose_name_plural = "rendez-vous"
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["attendance", "starts_at"], name="appt_attendance_start_idx"),
            models.Index(fields=["beneficiary", "starts_at"], name="appt_benef_start_idx"),
            models.Index(fields=["updated_at", "id"], name="appt_updated_idx"),
            # File « à orienter » : les personnes vues en rendez-vous d'orientation (section lue en premier).
            models.Index(
                fields=["beneficiary", "starts_at"],
                condition=Q(kind=AppointmentKind.ORIENTATION, attendance=Attendance.SEEN),
                name="appt_orientation_seen_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} de {self.beneficiary} le {self.starts_at:%d/%m/%Y}"

    @property
    def is_upcoming(self):
        """Rendez-vous prévu, pas encore commencé (il peut être rappelé à la personne)."""
        from django.utils import timezone

        return self.attendance == Attendance.PLANNED and self.starts_at > timezone.now()

    @property
    def is_joint(self):
        """Rendez-vous « double regard » : au moins deux organisations présentes."""
        return len(self.organisations.all()) > 1


class Pathway(models.TextChoices):
    EMPLOI = "emploi", "Emploi"
    SOCIO_PROFESSIONNEL = "socio_professionnel", "Socio-professionnel"
    SOCIAL = "social", "Social"


# Codes d'échange France Travail des parcours.
FRANCE_TRAVAIL_CODES = {
    Pathway.EMPLOI: "PED",
    Pathway.SOCIO_PROFESSIONNEL: "PSP",
    Pathway.SOCIAL: "PSO",
}


class DecisionStatus(models.TextChoices):
    DECIDED = "decided", "Décidée"
    NOTIFIED = "notified", "Notifiée"
    CANCELLED = "cancelled", "Annulée"


DECISION_TRANSITIONS = {
    DecisionStatus.DECIDED: {DecisionStatus.NOTIFIED, DecisionStatus.CANCELLED},
    DecisionStatus.NOTIFIED: {DecisionStatus.CANCELLED},
    DecisionStatus.CANCELLED: set(),
}


class OrientationDecision(models.Model):
    """Décision d'orientation du Département (historique complet ; ``is_current`` marque la décision en vigueur)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="orientation_decisions",
        verbose_name="bénéficiaire",
    )
    pathway = models.CharField("parcours", max_length=20, choices=Pathway.choices)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="orientation_decisions",
        verbose_name="organisme d'orientation",
    )
    status = models.CharField(
        "statut", max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.DECIDED
    )
    is_current = models.BooleanField("en vigueur", default=True)
    is_reorientation = models.BooleanField("réorientation", default=False)
    decided_on = models.DateField("décidée le")
    notified_on = models.DateField("notifiée le", null=True, blank=True)
    reason = models.TextField("motif", blank=True)
    proposal_rule = models.CharField("critère de proposition retenu", max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="décidée par",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)  # synchronisation des partenaires (API)

    class Meta:
        verbose_name = "décision d'orientation"
        verbose_name_plural = "décisions d'orientation"
        ordering = ["-decided_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"], condition=Q(is_current=True), name="one_current_orientation"
            )
        ]
        indexes = [
            models.Index(fields=["beneficiary", "decided_on"], name="orient_benef_decided_idx"),
            models.Index(fields=["pathway", "notified_on"], name="orient_pathway_notified_idx"),
            models.Index(fields=["updated_at", "id"], name="orient_updated_idx"),
        ]

    def __str__(self):
        return f"Orientation {self.get_pathway_display()} de {self.beneficiary} ({self.organisation})"

    @property
    def france_travail_code(self):
        return FRANCE_TRAVAIL_CODES[self.pathway]


class ExemptionReason(models.TextChoices):
    """Motifs légitimes de dispense temporaire d'orientation et d'accompagnement."""

    HEALTH = "sante", "Raisons de santé"
    DISABILITY = "handicap", "Situation de handicap ou invalidité"
    SINGLE_PARENT = "parent_isole", "Parent isolé sans solution de garde (enfant de moins de 12 ans)"
    CAREGIVER = "aidant", "Aidant d'un proche dépendant"
    STUDIES = "etudes", "Études ou formation en cours"
    EMPLOYED = "emploi", "En emploi au-delà du seuil de revenus"
    OTHER = "autre", "Autre motif légitime (à préciser)"


class OrientationExemption(models.Model):
    """Dispense temporaire : la personne sort des files « à inviter » et « à orienter » tant qu'elle court."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="orientation_exemptions",
        verbose_name="bénéficiaire",
    )
    reason = models.CharField("motif", max_length=15, choices=ExemptionReason.choices)
    details = models.CharField("précisions", max_length=300, blank=True)
    starts_on = models.DateField("début")
    ends_on = models.DateField("fin", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="décidée par",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "dispense d'orientation"
        verbose_name_plural = "dispenses d'orientation"
        ordering = ["-starts_on", "-pk"]
        indexes = [models.Index(fields=["beneficiary", "starts_on"], name="exempt_benef_start_idx")]

    def __str__(self):
        return f"Dispense ({self.get_reason_display()}) de {self.beneficiary}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"


class ReorientationRequest(models.Model):
    """Demande de réorientation (d'un référent ou de la personne), décidée par un chargé d'orientation."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="reorientation_requests",
        verbose_name="bénéficiaire",
    )
    requested_pathway = models.CharField("parcours demandé", max_length=20, choices=Pathway.choices)
    requested_organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="organisme demandé",
    )
    reason = models.TextField("motif de la demande")
    requested_on = models.DateField("demandée le")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="demandée par",
    )
    status = models.CharField(
        "statut", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_on = models.DateField("décidée le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField("motif de la décision", blank=True)
    resulting_decision = models.ForeignKey(
        OrientationDecision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "demande de réorientation"
        verbose_name_plural = "demandes de réorientation"
        ordering = ["-requested_on", "-pk"]
        indexes = [models.Index(fields=["status", "requested_on"], name="reorient_status_idx")]

    def __str__(self):
        return f"Demande de réorientation de {self.beneficiary} ({self.get_status_display()})"


class CapPolicy(models.TextChoices):
    WARN = "warn", "Avertir"
    REFUSE = "refuse", "Refuser"


class PortfolioCap(models.Model):
    """Taille cible du portefeuille de chaque référent d'une organisation (défaut : réglage, 60)."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="portfolio_cap"
    )
    cap = models.PositiveIntegerField("nombre maximal de personnes par référent")
    policy = models.CharField("au-delà", max_length=10, choices=CapPolicy.choices, default=CapPolicy.WARN)

    class Meta:
        verbose_name = "taille cible des portefeuilles"
        verbose_name_plural = "tailles cibles des portefeuilles"

    def __str__(self):
        return f"{self.organisation} : {self.cap} ({self.get_policy_display().lower()})"


class ReferentAssignment(models.Model):
    """Désignation du référent unique ; une ligne par période (les transferts ferment la précédente)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="referent_assignments",
        verbose_name="bénéficiaire",
    )
    referent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referent_assignments",
        verbose_name="référent",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="referent_assignments",
        verbose_name="organisation du référent",
    )
    started_on = models.DateField("début")
    ended_on = models.DateField("fin", null=True, blank=True)
    end_reason = models.CharField("motif de fin", max_length=300, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="désigné par",
    )
    over_cap = models.BooleanField("désigné au-delà de la taille cible", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "désignation de référent"
        verbose_name_plural = "désignations de référents"
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"], condition=Q(ended_on__isnull=True), name="one_current_referent"
            )
        ]
        indexes = [
            models.Index(fields=["referent", "ended_on"], name="refassign_referent_open_idx"),
            models.Index(fields=["organisation", "ended_on"], name="refassign_org_open_idx"),
            # Désignations en cours par ancienneté (revues de 2e année, propositions d'accompagnement global) :
            # la base suit l'ordre de l'index et s'arrête à la page.
            models.Index(
                fields=["started_on", "id"],
                condition=Q(ended_on__isnull=True),
                name="refassign_open_started_idx",
            ),
        ]

    def __str__(self):
        return f"{self.referent} référent de {self.beneficiary}"


class ProposalRule(models.Model):
    """Règle ordonnée de la grille d'orientation d'un Département (la première règle vérifiée l'emporte).

    ``criteria`` (toutes les conditions présentes doivent être vraies) : vocabulaire de
    ``proposal.CRITERIA`` — freins (``barriers_min``, ``barriers_any``), situations du diagnostic
    (``situations_any``), disponibilité (``available_now``, ``weekly_hours_min``), projet professionnel
    (``has_project``, ``rome_any``), âge (``age_min``, ``age_max``), ``rqth``, ``france_travail_registered``.
    Sans règle active pour le Département, la grille par défaut ``proposal.DEFAULT_PROPOSAL_RULES``
    s'applique. Modifiée par les administrateurs du Département (``grid.py``, pages « Grille d'orientation »).
    """

    departement = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="orientation_rules"
    )
    position = models.PositiveIntegerField("ordre", default=0)
    label = models.CharField("libellé", max_length=200)
    criteria = models.JSONField("conditions", default=dict, blank=True)
    pathway = models.CharField("parcours proposé", max_length=20, choices=Pathway.choices)
    organisation_kind = models.CharField(
        "type d'organisme proposé",
        max_length=20,
        blank=True,
        help_text="ex. france_travail, mission_locale, departement, ccas, association",
    )
    is_active = models.BooleanField("active", default=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True, null=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="modifiée par",
    )

    class Meta:
        verbose_name = "critère de proposition d'orientation"
        verbose_name_plural = "critères de proposition d'orientation"
        ordering = ["departement", "position", "pk"]

    def __str__(self):
        return f"{self.position}. {self.label}"


class MessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Confirmation du rendez-vous"
    MOVED = "moved", "Rendez-vous déplacé"
    CANCELLED = "cancelled", "Rendez-vous annulé"
    REMINDER = "reminder", "Rappel du rendez-vous"
    CONVOCATION = "convocation", "Convocation"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "En attente d'envoi"
    SENT = "sent", "Envoyé"
    DELIVERED = "delivered", "Distribué"
    FAILED = "failed", "Échec de l'envoi"
    CANCELLED = "cancelled", "Annulé avant l'envoi"


class AppointmentMessage(models.Model):
    """Un message (courriel ou SMS) au sujet d'un rendez-vous : confirmation, déplacement, annulation, rappel,
    convocation. La ligne est écrite avant l'envoi (« en attente », heure d'envoi prévue dans la plage
    autorisée), puis porte le statut de distribution et la référence du prestataire.

    ``key`` rend l'envoi unique : un message d'une sorte, par canal, pour un rendez-vous et une même clé
    (l'heure du rendez-vous concernée, le rang du rappel ou le jour d'un rappel manuel) n'est jamais envoyé
    deux fois, même si deux processus le préparent en même temps."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="messages", verbose_name="rendez-vous"
    )
    kind = models.CharField("sorte", max_length=15, choices=MessageKind.choices)
    channel = models.CharField("canal", max_length=10, choices=Channel.choices)
    key = models.CharField("clé d'unicité", max_length=60)
    recipient = models.CharField("destinataire", max_length=300)
    subject = models.CharField("objet", max_length=300, blank=True)
    body = models.TextField("texte")
    status = models.CharField(
        "statut", max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    scheduled_for = models.DateTimeField("envoi prévu le")
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)
    delivered_at = models.DateTimeField("distribué le", null=True, blank=True)
    provider_reference = models.CharField("référence du prestataire", max_length=100, blank=True)
    failure_reason = models.CharField("motif de l'échec", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="demandé par",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "message de rendez-vous"
        verbose_name_plural = "messages de rendez-vous"
        ordering = ["scheduled_for", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel", "key"], name="unique_appointment_message"
            ),
        ]
        indexes = [
            # Tâche d'envoi : les messages en attente dont l'heure est venue.
            models.Index(
                fields=["scheduled_for", "id"],
                condition=Q(status="queued"),
                name="appt_message_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} par {self.get_channel_display().lower()} ({self.get_status_display()})"


class StockCampaign(models.Model):
    """Campagne de reprise de contact du « stock » (convention État–Département 001, art. 1 : « reprise de
    contact avec l'ensemble des personnes en stock » ; livrable « Reprise de stock » de l'annexe A).

    Les critères sont gardés tels que choisis ; la liste des personnes est figée à la création
    (``StockCampaignMember``). Les résultats (invitées, réponses, rendez-vous honorés, orientées, contrats
    signés) ne sont pas recopiés ici : ils se lisent dans le journal des parcours depuis ``created_on``
    (``campaigns.results``)."""

    departement = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="stock_campaigns",
        limit_choices_to={"kind": "departement"},
        verbose_name="Département",
    )
    name = models.CharField("nom de la campagne", max_length=200)
    criteria = models.JSONField("critères de sélection", default=dict, blank=True)
    created_on = models.DateField("créée le")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="créée par",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "campagne de reprise de contact"
        verbose_name_plural = "campagnes de reprise de contact"
        ordering = ["-created_on", "-pk"]
        indexes = [models.Index(fields=["departement", "created_on"], name="campaign_dep_created_idx")]

    def __str__(self):
        return f"{self.name} ({self.created_on:%d/%m/%Y})"


class StockCampaignMember(models.Model):
    """Une personne de la liste figée d'une campagne de reprise de contact."""

    campaign = models.ForeignKey(
        StockCampaign, on_delete=models.CASCADE, related_name="members", verbose_name="campagne"
    )
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="stock_campaign_memberships",
        verbose_name="bénéficiaire",
    )

    class Meta:
        verbose_name = "personne d'une campagne"
        verbose_name_plural = "personnes d'une campagne"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "beneficiary"], name="campaign_member_unique")
        ]
        indexes = [models.Index(fields=["beneficiary"], name="campaign_member_benef_idx")]

    def __str__(self):
        return f"{self.beneficiary} — {self.campaign}"
