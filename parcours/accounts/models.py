"""Organisations, territoires, agents et leurs rôles."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class OrganisationKind(models.TextChoices):
    DEPARTEMENT = "departement", "Département"
    FRANCE_TRAVAIL = "france_travail", "Agence France Travail"
    MISSION_LOCALE = "mission_locale", "Mission locale"
    CAP_EMPLOI = "cap_emploi", "Cap emploi"
    CCAS = "ccas", "CCAS / CIAS"
    ASSOCIATION = "association", "Association délégataire"
    STRUCTURE = "structure", "Structure partenaire"
    ETAT = "etat", "Services de l'État"


class Organisation(models.Model):
    """Une organisation qui travaille dans Parcours.

    Le Département (``kind=departement``, sans ``parent``) porte le code départemental et les délais qui
    lui sont propres ; ses agences/territoires d'action sociale sont des ``Territory``. Les autres
    organisations (France Travail, Mission locale, CCAS, associations…) sont rattachées à un Département
    par ``departement`` et, le cas échéant, à un territoire.
    """

    kind = models.CharField("type", max_length=20, choices=OrganisationKind.choices)
    name = models.CharField("nom", max_length=200)
    departement_code = models.CharField("code du Département", max_length=3, blank=True)
    departement = models.ForeignKey(
        "self",
        verbose_name="Département de rattachement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partners",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    territory = models.ForeignKey(
        "Territory",
        verbose_name="territoire",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisations",
    )
    siret = models.CharField("SIRET", max_length=14, blank=True)
    code = models.CharField(
        "code",
        max_length=30,
        blank=True,
        help_text="Identifiant de l'organisation dans le fichier des organisations du Département (code "
        "d'agence, code interne), pour une organisation sans SIRET ; unique dans le Département. Le code d'un "
        "Département est son numéro (« code du Département »).",
    )
    delay_overrides = models.JSONField(
        "délais propres au Département",
        default=dict,
        blank=True,
        help_text='ex. {"orientation_target_days": 30}',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "organisation"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["departement_code"],
                condition=models.Q(kind="departement"),
                name="unique_departement_code",
            ),
            models.UniqueConstraint(
                fields=["departement", "code"],
                condition=~models.Q(code=""),
                name="unique_organisation_code",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_departement(self):
        return self.kind == OrganisationKind.DEPARTEMENT

    @property
    def home_departement(self):
        """Le Département dont relève l'organisation (elle-même pour un Département)."""
        return self if self.is_departement else self.departement


class Territory(models.Model):
    """Territoire d'action sociale / agence départementale, défini par ses communes."""

    departement = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="territories",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    code = models.CharField("code", max_length=20)
    name = models.CharField("nom", max_length=200)

    class Meta:
        verbose_name = "territoire"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["departement", "code"], name="unique_territory_code")]

    def __str__(self):
        return self.name


class TerritoryCommune(models.Model):
    """Commune d'un territoire (code INSEE et codes postaux) : sert à rattacher une adresse au territoire."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="communes")
    insee_code = models.CharField("code INSEE", max_length=5, db_index=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True, db_index=True)
    name = models.CharField("nom", max_length=200)

    class Meta:
        verbose_name = "commune"
        constraints = [
            models.UniqueConstraint(fields=["territory", "insee_code"], name="unique_territory_commune")
        ]

    def __str__(self):
        return f"{self.name} ({self.insee_code})"


class Role(models.TextChoices):
    ADMIN = "admin", "Administrateur"
    ORIENTATION_MANAGER = "orientation_manager", "Chargé d'orientation"
    REFERENT = "referent", "Référent"
    MANAGER = "manager", "Responsable (lecture seule)"
    DPO = "dpo", "Délégué à la protection des données"


class ParcoursUserManager(UserManager):
    def _normalize(self, email):
        return self.normalize_email(email).lower()

    def create_user(self, email, password=None, **extra):
        extra.setdefault("username", self._normalize(email))
        return super().create_user(email=self._normalize(email), password=password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("username", self._normalize(email))
        return super().create_superuser(email=self._normalize(email), password=password, **extra)


class User(AbstractUser):
    """Agent : se connecte avec son adresse électronique."""

    email = models.EmailField("adresse électronique", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = ParcoursUserManager()

    class Meta:
        verbose_name = "agent"

    # Comptes techniques (sans connexion) qui signent au journal les écritures d'une voie automatique : le système
    # d'un partenaire (API) ou un connecteur. Leurs droits sont ceux de leur voie (portées, périmètre).
    TECHNICAL_DOMAINS = ("@interop.parcours.invalid", "@connecteurs.parcours.invalid")

    @property
    def is_technical(self):
        return (self.email or "").endswith(self.TECHNICAL_DOMAINS)

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").lower()
        if not self.username:
            self.username = self.email
        super().save(*args, **kwargs)


class Membership(models.Model):
    """Rôle d'un agent dans une organisation (un agent peut appartenir à plusieurs organisations)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rôle", max_length=30, choices=Role.choices)
    territory = models.ForeignKey(
        Territory,
        verbose_name="limité au territoire",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Pour un agent du Département affecté à une agence : ne voit que ce territoire.",
    )
    is_active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "appartenance"
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} — {self.organisation} ({self.get_role_display()})"
