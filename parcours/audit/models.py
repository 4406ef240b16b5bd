"""Journal d'accès aux dossiers des personnes : en ajout seul, chaîné par empreintes à clé.

Chaque entrée porte l'empreinte HMAC-SHA256 (clé ``PARCOURS_AUDIT_KEY``, hors de la base) de son contenu
et de l'empreinte de l'entrée précédente : modifier ou supprimer une entrée casse la chaîne, ce que
``parcours audit-verify`` détecte ; sans la clé, impossible de recalculer une chaîne valide. Les entrées
écrites avant la clé (``scheme`` = 1, SHA-256 sans clé) sont vérifiées selon leur ancien calcul ; la
première entrée à clé les scelle en reprenant l'empreinte de la dernière. Les suppressions en fin de
journal sont détectées par les têtes exportées hors de la base (``heads.py``).

Le modèle refuse la modification et la suppression ; la base aussi (déclencheurs, migrations 0002 et
0003). L'identifiant de la personne est une simple valeur (pas une clé étrangère) : le journal survit à
l'anonymisation ou à la suppression du dossier.
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import models

from parcours.core.text import plural


class AccessAction(models.TextChoices):
    READ = "read", "Consultation"
    EXPORT = "export", "Export"
    BREAK_GLASS = "break_glass", "Accès exceptionnel hors périmètre"
    PURGE = "purge", "Anonymisation (durée de conservation échue)"
    RIGHT_OF_ACCESS = "right_of_access", "Export au titre du droit d'accès"


class HashScheme(models.IntegerChoices):
    LEGACY_SHA256 = 1, "SHA-256 sans clé (entrées antérieures à la clé)"
    HMAC_SHA256 = 2, "HMAC-SHA256 (clé PARCOURS_AUDIT_KEY)"


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
        db_index=False,  # servi par l'index (agent, date) ``accesslog_user_idx``
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
    # Unicité par contrainte (``Meta``) : ``unique=True`` ajouterait sur PostgreSQL un second index « LIKE »
    # que rien ne lit et que chaque écriture paie (export de 150 000 personnes : 4,6 → 3,2 s avec le suivant).
    hash = models.CharField("empreinte", max_length=64)
    scheme = models.PositiveSmallIntegerField(
        "calcul de l'empreinte", choices=HashScheme.choices, default=HashScheme.HMAC_SHA256
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d'accès"
        verbose_name_plural = "journal d'accès"
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["beneficiary_id", "at"], name="accesslog_person_idx"),
            models.Index(fields=["user", "at"], name="accesslog_user_idx"),
            # La page du délégué : les entrées de son Département, les plus récentes d'abord (date, puis
            # identifiant : un export écrit des milliers d'entrées à la même heure), lues dans l'ordre de l'index.
            models.Index(fields=["departement_id", "at", "id"], name="accesslog_dep_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["hash"], name="accesslog_hash_unique")]

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
        return content_of({name: getattr(self, name) for name in CONTENT_FIELDS})

    def compute_hash(self, key=None):
        """L'empreinte selon le calcul de l'entrée ; ``key`` : clé du journal (par défaut celle des réglages)."""
        return entry_hash(self.scheme, self.previous_hash, self.content(), key)


#: Les champs couverts par l'empreinte d'une entrée, dans l'ordre du calcul.
CONTENT_FIELDS = (
    "at",
    "user_id",
    "user_label",
    "beneficiary_id",
    "departement_id",
    "action",
    "view",
    "path",
    "reason",
    "ip",
)


def content_of(values):
    """Le contenu couvert par l'empreinte, lu dans ``values`` (champ → valeur, ``CONTENT_FIELDS``) : le même
    pour une entrée relue en base (``AccessLog.content``) et pour une entrée écrite en nombre sans modèle."""
    return [values["at"].isoformat(), *(values[name] for name in CONTENT_FIELDS[1:])]


def entry_hash(scheme, previous_hash, content, key=None):
    """L'empreinte d'une entrée selon son calcul ``scheme`` : son ``content`` et l'empreinte précédente."""
    if scheme == HashScheme.LEGACY_SHA256:
        payload = json.dumps([previous_hash, *content], ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()
    if scheme != HashScheme.HMAC_SHA256:
        return ""  # calcul inconnu : jamais valide
    if key is None:
        from .keys import audit_key

        key = audit_key()
    payload = json.dumps([scheme, previous_hash, *content], ensure_ascii=False, default=str)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


class LegacySeal(models.Model):
    """Scellé du passage à l'empreinte à clé (migration 0003), signé par la clé du journal.

    Il fixe les entrées sans clé admises (celles écrites avant) : leur nombre, la dernière et son empreinte.
    Sans scellé valide, aucune entrée sans clé n'est admise : réécrire tout le journal en SHA-256 sans clé
    se voit. Une base créée après la migration n'a pas de scellé (aucune entrée ancienne).
    """

    sealed_at = models.DateTimeField("scellé le")
    legacy_count = models.PositiveBigIntegerField("entrées sans clé")
    legacy_last_id = models.BigIntegerField("dernière entrée sans clé")
    legacy_last_hash = models.CharField("empreinte de la dernière entrée sans clé", max_length=64)
    mac = models.CharField("signature", max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "scellé des entrées sans clé du journal d'accès"
        verbose_name_plural = "scellés des entrées sans clé du journal d'accès"

    def __str__(self):
        return f"{plural(self.legacy_count, 'entrée')} sans clé jusqu'au n° {self.legacy_last_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Le scellé du journal d'accès ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le scellé du journal d'accès ne se supprime pas.")

    def payload(self):
        from .legacy import seal_payload

        return seal_payload(self.legacy_count, self.legacy_last_id, self.legacy_last_hash)

    def compute_mac(self, key=None):
        if key is None:
            from .keys import audit_key

            key = audit_key()
        return hmac.new(key, self.payload(), hashlib.sha256).hexdigest()
