"""Traces des connecteurs : chaque exécution (avec son rapport) et le lien entre un objet reçu d'un
système externe (identifiant chez lui) et l'objet de Parcours qu'il a créé — ce lien rend les
synchronisations idempotentes (une deuxième exécution met à jour, ne crée pas de doublon)."""

from django.conf import settings
from django.db import models


class Connector(models.TextChoices):
    DATAINCLUSION = "datainclusion", "data·inclusion (catalogue)"
    FRANCE_TRAVAIL = "francetravail", "France Travail (orientations, rendez-vous)"
    FRANCE_TRAVAIL_OFFERS = "francetravail_offres", "France Travail (offres d'emploi)"
    EXPORT_ORIENTATIONS = "export_orientations", "Échange : liste des orientations (export)"
    IMPORT_ABSENCES = "import_absences", "Échange : liste des absences (import)"


class ConnectorRun(models.Model):
    """Une exécution d'un connecteur ou d'un échange de fichier, et son rapport (compteurs, erreurs)."""

    class Status(models.TextChoices):
        DONE = "done", "Terminé"
        PARTIAL = "partial", "Terminé avec des éléments rejetés"
        FAILED = "failed", "Échec (rien n'a été écrit)"

    connector = models.CharField("connecteur", max_length=30, choices=Connector.choices)
    departement = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="Département",
    )
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DONE)
    started_at = models.DateTimeField("début", auto_now_add=True)
    finished_at = models.DateTimeField("fin", null=True, blank=True)
    filename = models.CharField("fichier", max_length=300, blank=True)
    file_sha256 = models.CharField("empreinte du fichier", max_length=64, blank=True)
    report = models.JSONField("rapport", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "exécution d'un connecteur"
        verbose_name_plural = "exécutions des connecteurs"
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.get_connector_display()} — {self.started_at:%d/%m/%Y %H:%M}"


class ExternalRecord(models.Model):
    """Objet reçu d'un système externe (ex. une orientation France Travail ``ORI-…``) et son pendant dans
    Parcours. ``fingerprint`` : empreinte de la dernière version appliquée (inchangée → rien à faire)."""

    class Kind(models.TextChoices):
        ORIENTATION = "orientation", "Résultat d'orientation"
        APPOINTMENT = "appointment", "Rendez-vous"

    system = models.CharField("système", max_length=30, choices=Connector.choices)
    departement = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+", verbose_name="Département"
    )
    kind = models.CharField("type", max_length=15, choices=Kind.choices)
    external_id = models.CharField("identifiant chez le partenaire", max_length=100)
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="+", verbose_name="bénéficiaire"
    )
    decision = models.ForeignKey(
        "orientation.OrientationDecision", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    appointment = models.ForeignKey(
        "orientation.Appointment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    fingerprint = models.CharField("empreinte de la dernière version appliquée", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "objet reçu d'un partenaire"
        verbose_name_plural = "objets reçus des partenaires"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "departement", "kind", "external_id"], name="unique_external_record"
            )
        ]

    def __str__(self):
        return f"{self.get_system_display()} {self.external_id}"
