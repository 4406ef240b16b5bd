"""Reprise des événements du parcours enregistrés dans un autre logiciel (``parcours import-parcours``).

``PathwayImport`` : un fichier importé (ou refusé), qui, quand, et son rapport.
``ImportedEvent`` : un événement du fichier déjà pris en compte — la clé de l'idempotence. Il est reconnu
par (``source``, ``reference``) quand le fichier donne une référence, sinon par l'empreinte de son contenu
(personne, événement, date, parcours, structure, référent, type de contrat).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    """Les événements du fichier canonique du parcours (colonne ``evenement``)."""

    ORIENTATION = "orientation", "Orientation notifiée"
    REFERENT = "referent", "Référent désigné"
    CONTRACT = "contrat", "Contrat signé"
    FOLLOW_UP_END = "fin_suivi", "Fin du suivi"


class ImportOutcome(models.TextChoices):
    CREATED = "created", "Enregistré par l'import"
    EXISTING = "existing", "Déjà présent dans Parcours"


class PathwayImportStatus(models.TextChoices):
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    CHECKED = "checked", "Vérifié seulement (rien n'a été écrit)"
    REJECTED = "rejected", "Refusé (rien n'a été écrit)"
    FAILED = "failed", "Échec technique (rien n'a été écrit)"


class PathwayImport(models.Model):
    """Un fichier d'événements du parcours importé (ou refusé) et son rapport."""

    departement = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pathway_imports",
        verbose_name="Département",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pathway_imports",
        verbose_name="déposé par",
    )
    filename = models.CharField("fichier", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    size = models.BigIntegerField("taille (octets)", default=0)
    detected_format = models.CharField("format reconnu", max_length=10, blank=True)
    status = models.CharField(
        "statut", max_length=10, choices=PathwayImportStatus.choices, default=PathwayImportStatus.RUNNING
    )
    rows = models.PositiveIntegerField("lignes lues", default=0)
    created = models.PositiveIntegerField("événements enregistrés", default=0)
    unchanged = models.PositiveIntegerField("événements déjà connus", default=0)
    report = models.JSONField("rapport", default=dict, blank=True)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)

    class Meta:
        verbose_name = "import d'événements du parcours"
        verbose_name_plural = "imports d'événements du parcours"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class ImportedEvent(models.Model):
    """Un événement d'un fichier du parcours, pris en compte une fois pour toutes."""

    source = models.CharField("système d'origine", max_length=100, blank=True)
    reference = models.CharField("référence dans le système d'origine", max_length=100, blank=True)
    content_hash = models.CharField("empreinte du contenu", max_length=64)
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="imported_events",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField("événement", max_length=20, choices=EventType.choices)
    occurred_on = models.DateField("date")
    outcome = models.CharField(
        "résultat", max_length=10, choices=ImportOutcome.choices, default=ImportOutcome.CREATED
    )
    object_id = models.BigIntegerField(
        "objet créé",
        null=True,
        blank=True,
        help_text="Décision d'orientation, désignation de référent, contrat ou suivi clos par l'événement.",
    )
    batch = models.ForeignKey(
        PathwayImport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        verbose_name="import",
    )
    created_at = models.DateTimeField("importé le", auto_now_add=True)

    class Meta:
        verbose_name = "événement importé"
        verbose_name_plural = "événements importés"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "reference"],
                condition=~Q(reference=""),
                name="unique_imported_event_reference",
            ),
            models.UniqueConstraint(
                fields=["content_hash"],
                condition=Q(reference=""),
                name="unique_imported_event_content",
            ),
        ]
        indexes = [models.Index(fields=["beneficiary", "occurred_on"], name="imported_event_benef_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} du {self.occurred_on:%d/%m/%Y}"
