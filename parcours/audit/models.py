"""Journal d'accès aux dossiers des personnes : en ajout seul, chaîné par empreintes.

Chaque entrée porte l'empreinte SHA-256 de son contenu et de l'empreinte de l'entrée précédente :
modifier ou supprimer une entrée casse la chaîne, ce que ``parcours audit-verify`` détecte. Le modèle
refuse la modification et la suppression ; sur PostgreSQL un déclencheur les refuse aussi en base.
L'identifiant de la personne est une simple valeur (pas une clé étrangère) : le journal survit à
l'anonymisation ou à la suppression du dossier.
"""

import hashlib
import json

from django.conf import settings
from django.db import models


class AccessAction(models.TextChoices):
    READ = "read", "Consultation"
    EXPORT = "export", "Export"
    BREAK_GLASS = "break_glass", "Accès exceptionnel hors périmètre"
    PURGE = "purge", "Anonymisation (durée de conservation échue)"
    RIGHT_OF_ACCESS = "right_of_access", "Export au titre du droit d'accès"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le journal d'accès est en ajout seul : modification interdite.")

    def delete(self):
        raise PermissionError("Le journal d'accès est en ajout seul : suppression interdite.")


class AccessLog(models.Model):
    at = models.DateTimeField("date et heure", db_index=True)
    # Sans contrainte ni cascade : supprimer un compte ne doit pas réécrire le journal (user_label reste).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    user_label = models.CharField("agent", max_length=254, blank=True)
    beneficiary_id = models.BigIntegerField("personne (identifiant)", null=True, blank=True)
    departement_id = models.BigIntegerField("Département (identifiant)", null=True, blank=True)
    action = models.CharField("action", max_length=20, choices=AccessAction.choices)
    view = models.CharField("page", max_length=100, blank=True)
    path = models.CharField("adresse", max_length=300, blank=True)
    reason = models.TextField("motif", blank=True)
    ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d'accès"
        verbose_name_plural = "journal d'accès"
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["beneficiary_id", "at"], name="accesslog_person_idx"),
            models.Index(fields=["user", "at"], name="accesslog_user_idx"),
            models.Index(fields=["departement_id", "at"], name="accesslog_dep_idx"),
        ]

    def __str__(self):
        return f"{self.at:%d/%m/%Y %H:%M} — {self.user_label} — {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Le journal d'accès est en ajout seul : modification interdite.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal d'accès est en ajout seul : suppression interdite.")

    def content(self):
        """Le contenu couvert par l'empreinte (tout sauf l'empreinte elle-même)."""
        return [
            self.at.isoformat(),
            self.user_id,
            self.user_label,
            self.beneficiary_id,
            self.departement_id,
            self.action,
            self.view,
            self.path,
            self.reason,
            self.ip,
        ]

    def compute_hash(self):
        payload = json.dumps([self.previous_hash, *self.content()], ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()
