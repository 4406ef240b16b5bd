"""Systèmes partenaires, jetons d'API, clés d'idempotence, abonnements et livraisons de webhooks."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Scope(models.TextChoices):
    PEOPLE_READ = "personnes:lecture", "Lire les personnes"
    ORIENTATIONS_READ = "orientations:lecture", "Lire les orientations"
    ORIENTATIONS_WRITE = "orientations:ecriture", "Transmettre les orientations notifiées"
    REFERENTS_WRITE = "referents:ecriture", "Désigner le référent unique des personnes suivies"
    FOLLOW_UPS_WRITE = "suivis:ecriture", "Mettre fin au suivi des personnes suivies"
    APPOINTMENTS_READ = "rendez-vous:lecture", "Lire les rendez-vous"
    APPOINTMENTS_WRITE = "rendez-vous:ecriture", "Saisir la présence aux rendez-vous"
    CONTRACTS_READ = "contrats:lecture", "Lire les contrats"
    CONTRACTS_WRITE = "contrats:ecriture", "Transmettre les contrats signés chez le partenaire"
    RIGHTS_READ = "droits:lecture", "Lire les droits RSA des foyers"
    DIAGNOSTICS_READ = "diagnostics:lecture", "Lire les diagnostics (thèmes et freins, sans texte libre)"
    ACTIVITIES_READ = "activites:lecture", "Lire les activités du plan d'accompagnement"
    PRESCRIPTIONS_READ = "prescriptions:lecture", "Lire les prescriptions vers le catalogue"
    EXITS_READ = "sorties:lecture", "Lire les sorties et le suivi dans l'emploi"
    INDICATORS_READ = "indicateurs:lecture", "Lire les indicateurs agrégés du Département"
    SANCTIONS_READ = (
        "sanctions:lecture",
        "Lire les manquements et décisions de sanction, et les mesures transmises à l'organisme payeur",
    )


class PartnerSystem(models.Model):
    """Logiciel d'une organisation (France Travail, Mission locale, logiciel social du Département…)."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="partner_systems",
        verbose_name="organisation",
    )
    name = models.CharField("nom du système", max_length=150)
    scopes = models.JSONField("droits (portées)", default=list, blank=True)
    active = models.BooleanField("actif", default=True)
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partner_system",
        verbose_name="compte technique",
        help_text="Auteur, dans le journal des parcours, des écritures faites par ce système (sans connexion).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "système partenaire"
        verbose_name_plural = "systèmes partenaires"
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="unique_partner_name")]

    def __str__(self):
        return f"{self.name} ({self.organisation})"

    def has_scope(self, scope):
        return scope in (self.scopes or [])


class ApiToken(models.Model):
    """Jeton d'API : seule son empreinte SHA-256 est conservée (le jeton n'est montré qu'à sa création)."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField("début du jeton (pour le reconnaître)", max_length=12)
    digest = models.CharField("empreinte SHA-256", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)

    class Meta:
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"

    def __str__(self):
        return f"{self.prefix}… ({self.partner})"


class IdempotencyRecord(models.Model):
    """Réponse mémorisée d'une écriture, rejouée à l'identique si la même clé revient."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField("clé d'idempotence", max_length=200)
    request_hash = models.CharField("empreinte de la requête", max_length=64)
    status_code = models.PositiveSmallIntegerField("code de réponse")
    response = models.JSONField("réponse", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "clé d'idempotence"
        verbose_name_plural = "clés d'idempotence"
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="unique_idempotency_key")]

    def __str__(self):
        return f"{self.key} ({self.partner})"


class EventType(models.TextChoices):
    ORIENTATION_DECIDED = "orientation.decidee", "Orientation décidée"
    APPOINTMENT_CREATED = "rendez-vous.cree", "Rendez-vous créé"
    APPOINTMENT_UPDATED = "rendez-vous.modifie", "Rendez-vous modifié (annulation, correction)"
    APPOINTMENT_ATTENDANCE = "rendez-vous.presence", "Présence au rendez-vous saisie"
    CONTRACT_SIGNED = "contrat.signe", "Contrat signé"
    EXITED = "sortie.enregistree", "Sortie de l'accompagnement"
    SANCTION_STEP = "sanction.etape", "Procédure de sanction : manquement, décision, notification, levée"
    SANCTION_NOTICE = (
        "sanction.mesure",
        "Mesure de sanction pour l'organisme payeur (et son accusé de réception)",
    )


class WebhookSubscription(models.Model):
    """Abonnement d'un système partenaire : une URL, un secret de signature, des types d'événements."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="subscriptions")
    url = models.URLField("adresse de réception", max_length=500)
    secret = models.CharField("secret de signature (HMAC-SHA256)", max_length=100)
    event_types = models.JSONField("types d'événements", default=list, blank=True)
    active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "abonnement aux événements"
        verbose_name_plural = "abonnements aux événements"

    def __str__(self):
        return f"{self.url} ({self.partner})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "À envoyer"
    DELIVERED = "delivered", "Livré"
    FAILED = "failed", "Abandonné après plusieurs essais"


class Delivery(models.Model):
    """Une livraison d'un événement à un abonné, avec ses essais (journal des livraisons)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField("identifiant de l'événement", default=uuid.uuid4, db_index=True)
    event_type = models.CharField("type d'événement", max_length=40, choices=EventType.choices)
    journal_event = models.ForeignKey(
        "journal.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField("contenu", default=dict)
    status = models.CharField(
        "statut", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField("essais", default=0)
    next_try_at = models.DateTimeField("prochain essai", null=True, blank=True)
    last_attempt_at = models.DateTimeField("dernier essai", null=True, blank=True)
    response_code = models.PositiveSmallIntegerField("code de réponse", null=True, blank=True)
    last_error = models.CharField("dernière erreur", max_length=500, blank=True)
    delivered_at = models.DateTimeField("livré le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "livraison d'événement"
        verbose_name_plural = "livraisons d'événements"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["next_try_at"], condition=Q(status="pending"), name="delivery_due_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id} → {self.subscription.url} ({self.get_status_display()})"
