"""Historique des imports de flux et correspondances de colonnes enregistrées."""

from django.conf import settings
from django.db import models


class FluxFormat(models.TextChoices):
    AUTO = "auto", "Détection automatique"
    CSV = "csv", "CSV (canonique ou tableur)"
    XLSX = "xlsx", "Classeur Excel (XLSX)"
    CNAF_XML = "cnaf-xml", "Flux XML CNAF/MSA (vrsb0801)"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    REJECTED = "rejected", "Refusé (rien n'a été écrit)"
    FAILED = "failed", "Échec technique (rien n'a été écrit)"


class ImportBatch(models.Model):
    """Un fichier importé (ou refusé) : qui, quand, quoi, et son rapport."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    filename = models.CharField("fichier", max_length=255)
    stored_path = models.CharField("chemin du fichier conservé", max_length=500, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, db_index=True)
    size = models.BigIntegerField("taille (octets)", default=0)
    requested_format = models.CharField(
        "format demandé", max_length=20, choices=FluxFormat.choices, default="auto"
    )
    detected_format = models.CharField("format reconnu", max_length=40, blank=True)
    mapping_name = models.CharField("correspondance de colonnes", max_length=100, blank=True)
    received_on = models.DateField("reçu par le Département le")
    received_on_given = models.BooleanField("date de réception indiquée par l'agent", default=True)
    initial_stock = models.BooleanField("chargement initial du stock", default=False)
    reference_date = models.DateField("date de référence du flux", null=True, blank=True)
    flux_created_on = models.DateField("date de création du flux (DTCREAFLUX)", null=True, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField("lignes lues", default=0)
    created = models.PositiveIntegerField("créés", default=0)
    updated = models.PositiveIntegerField("mis à jour", default=0)
    unchanged = models.PositiveIntegerField("inchangés", default=0)
    new_entrants = models.PositiveIntegerField("nouveaux entrants", default=0)
    report = models.JSONField("rapport", default=dict, blank=True)
    error_message = models.TextField("erreur", blank=True)
    started_at = models.DateTimeField("débuté le", null=True, blank=True)
    worker = models.CharField(
        "processus d'import",
        max_length=200,
        blank=True,
        help_text="machine:pid du processus qui applique le lot (reconnaître un import interrompu)",
    )
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    # Progression d'un import en cours, lue par la page de suivi de tout processus web (services.get_progress).
    progress_done = models.PositiveIntegerField("lignes traitées", default=0)
    progress_total = models.PositiveIntegerField("lignes à traiter", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "import de flux"
        verbose_name_plural = "imports de flux"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class ColumnMapping(models.Model):
    """Correspondance enregistrée entre les colonnes d'un tableur et les champs de Parcours.

    ``columns`` associe un champ canonique (``nom``, ``prenom``, ``matricule``…) à l'en-tête du fichier.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="mappings"
    )
    name = models.CharField("nom", max_length=100)
    columns = models.JSONField("colonnes", default=dict)
    sheet_name = models.CharField("onglet", max_length=100, blank=True)
    header_row = models.PositiveSmallIntegerField("ligne d'en-tête", default=1)
    organism = models.CharField("organisme par défaut", max_length=3, blank=True)

    class Meta:
        verbose_name = "correspondance de colonnes"
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="unique_mapping_name")]

    def __str__(self):
        return self.name
