"""Catalogue de l'offre d'insertion (schéma data·inclusion v1) et prescriptions.

Les champs échangés portent le nom du schéma (``nom``, ``thematiques``, ``zone_eligibilite``…) ;
``to_schema()`` en fait le dict JSON du schéma v1. Ce qui ne concerne que le Département
(financement, places, code interne) est dans ``ServiceLocalData``, jamais dans la charge échangée.
Les colonnes dérivées (``search_text``, ``*_index``) sont recalculées à chaque enregistrement : elles
servent au filtrage identique sur SQLite et PostgreSQL (pas de recherche JSON propre à une base).
"""

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models

from parcours.orientation.models import Pathway

from . import referentiels as ref
from .text import name_key, normalize


class Origin(models.TextChoices):
    IMPORT = "import", "Importé (data·inclusion ou tableur)"
    LOCAL = "local", "Saisi dans Parcours"


class Commune(models.Model):
    """Commune du Code officiel géographique, avec son centre : sert aux distances et aux zones."""

    code = models.CharField("code INSEE", max_length=5, unique=True)
    nom = models.CharField("nom", max_length=150)
    departement = models.CharField("code département", max_length=3, blank=True, db_index=True)
    region = models.CharField("code région", max_length=2, blank=True)
    epci = models.CharField("SIREN de l'EPCI", max_length=9, blank=True)
    codes_postaux = models.JSONField("codes postaux", default=list, blank=True)
    latitude = models.FloatField("latitude du centre", null=True, blank=True)
    longitude = models.FloatField("longitude du centre", null=True, blank=True)
    search_name = models.CharField(max_length=160, editable=False, db_index=True, blank=True)

    class Meta:
        verbose_name = "commune"
        ordering = ["nom"]
        indexes = [models.Index(fields=["latitude", "longitude"], name="catalogue_commune_geo_idx")]

    def __str__(self):
        return f"{self.nom} ({self.code})"

    def save(self, *args, **kwargs):
        self.search_name = name_key(self.nom)
        super().save(*args, **kwargs)


def _index(values):
    """« |a|b| » : liste cherchable par ``contains`` sur toutes les bases."""
    values = [v for v in (values or []) if v]
    return f"|{'|'.join(sorted(set(values)))}|" if values else ""


class CatalogueImport(models.Model):
    """Un import du catalogue (pages JSON de l'API data·inclusion ou tableur du valideur) et son rapport."""

    class Status(models.TextChoices):
        DONE = "done", "Terminé"
        REJECTED = "rejected", "Refusé (rien n'a été écrit)"

    filenames = models.JSONField("fichiers", default=list)
    format = models.CharField("format", max_length=10)
    sources = models.JSONField("sources", default=list, blank=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DONE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("importé le", auto_now_add=True)
    report = models.JSONField("rapport", default=dict, blank=True)

    class Meta:
        verbose_name = "import du catalogue"
        verbose_name_plural = "imports du catalogue"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Import {self.format} du {self.created_at:%d/%m/%Y %H:%M}"


class CatalogueRecord(models.Model):
    """Champs communs aux structures et aux services : provenance, cycle de vie, validation."""

    source = models.CharField("source (producteur)", max_length=100, db_index=True)
    di_id = models.CharField("identifiant (schéma)", max_length=255)
    origin = models.CharField("origine", max_length=10, choices=Origin.choices, default=Origin.LOCAL)
    is_active = models.BooleanField("actif", default=True, db_index=True)
    deactivated_at = models.DateTimeField("désactivé le", null=True, blank=True)
    last_import = models.ForeignKey(
        CatalogueImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    schema_valid = models.BooleanField("conforme au schéma v1", default=True)
    validation_errors = models.JSONField("erreurs du schéma", default=list, blank=True)
    validation_warnings = models.JSONField("avertissements du schéma", default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Champs communs du schéma v1
    nom = models.CharField("nom", max_length=255)
    description = models.TextField("description", blank=True)
    lien_source = models.URLField("lien source", max_length=2083, blank=True)
    date_maj = models.DateField("date de dernière modification")
    commune = models.CharField("commune", max_length=150, blank=True)
    code_postal = models.CharField("code postal", max_length=5, blank=True)
    code_insee = models.CharField("code INSEE", max_length=5, blank=True, db_index=True)
    adresse = models.CharField("adresse", max_length=500, blank=True)
    complement_adresse = models.CharField("complément d'adresse", max_length=500, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)
    latitude = models.FloatField("latitude", null=True, blank=True)
    telephone = models.CharField("téléphone", max_length=50, blank=True)
    courriel = models.EmailField("courriel", max_length=254, blank=True)
    horaires_accueil = models.TextField("horaires d'accueil (format OSM)", blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.nom

    @property
    def is_local(self):
        return self.origin == Origin.LOCAL

    @property
    def address_display(self):
        """« 12 rue de la Gare, bâtiment B, 35600 Redon » (parties absentes omises, sans espace en trop)."""
        town = " ".join(p for p in (self.code_postal.strip(), self.commune.strip()) if p)
        parts = [self.adresse.strip(), self.complement_adresse.strip(), town]
        return ", ".join(p for p in parts if p)

    @staticmethod
    def hash_payload(payload):
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


def new_di_id(source):
    return f"{source}--{uuid.uuid4()}"


class Structure(CatalogueRecord):
    """Structure porteuse de services (schéma data·inclusion v1 ``Structure``)."""

    siret = models.CharField("SIRET", max_length=14, blank=True)
    site_web = models.URLField("site web", max_length=2083, blank=True)
    accessibilite_lieu = models.URLField("accessibilité du lieu (Acceslibre)", max_length=2083, blank=True)
    reseaux_porteurs = models.JSONField("réseaux porteurs", null=True, blank=True)

    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="organisation partenaire (espace structure)",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="catalogue_structures",
        help_text="Les agents de cette organisation modifient les services et reçoivent les prescriptions.",
    )
    departement = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="Département",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": "departement"},
        help_text="Département qui publie la structure (structures saisies dans Parcours).",
    )
    search_name = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = "structure"
        ordering = ["nom"]
        constraints = [
            models.UniqueConstraint(fields=["source", "di_id"], name="catalogue_structure_unique_id")
        ]

    SCHEMA_LIST_FIELDS = ("reseaux_porteurs",)

    def save(self, *args, **kwargs):
        self.refresh_derived()
        super().save(*args, **kwargs)

    def refresh_derived(self):
        self.search_name = normalize(self.nom)[:300]

    def to_schema(self):
        """Dict JSON au format data·inclusion v1 ``Structure``."""
        from .schema import STRUCTURE_FIELDS

        payload = {}
        for name in STRUCTURE_FIELDS:
            value = self.di_id if name == "id" else getattr(self, name)
            if name == "date_maj" and value is not None:
                value = value.isoformat()
            if isinstance(value, list):
                value = sorted(value) or None
            payload[name] = value if value not in ("", []) else None
        return payload


class ServiceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, structure__is_active=True)

    def published(self):
        """Services saisis dans Parcours, actifs et publiés : ce que le Département expose au schéma v1."""
        return self.active().filter(origin=Origin.LOCAL, is_published=True, schema_valid=True)


class Service(CatalogueRecord):
    """Service d'insertion (schéma data·inclusion v1 ``Service``)."""

    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="services")
    type = models.CharField("type", max_length=30, choices=ref.TYPE_CHOICES, blank=True)
    thematiques = models.JSONField("thématiques", null=True, blank=True)
    frais = models.CharField("frais", max_length=10, choices=ref.FRAIS_CHOICES, blank=True)
    frais_precisions = models.TextField("précisions sur les frais", blank=True)
    publics = models.JSONField("publics", null=True, blank=True)
    publics_precisions = models.TextField("précisions sur les publics", blank=True)
    conditions_acces = models.TextField("conditions d'accès", blank=True)
    modes_accueil = models.JSONField("modes d'accueil", null=True, blank=True)
    zone_eligibilite = models.JSONField(
        "zone d'éligibilité",
        null=True,
        blank=True,
        help_text="Codes INSEE : commune, département, EPCI, pays.",
    )
    contact_nom_prenom = models.CharField("contact (nom et prénom)", max_length=200, blank=True)
    lien_mobilisation = models.URLField("lien de mobilisation", max_length=2083, blank=True)
    modes_mobilisation = models.JSONField("modes de mobilisation", null=True, blank=True)
    mobilisable_par = models.JSONField("mobilisable par", null=True, blank=True)
    mobilisation_precisions = models.TextField("précisions sur la mobilisation", blank=True)
    volume_horaire_hebdomadaire = models.FloatField("volume horaire hebdomadaire (h)", null=True, blank=True)
    nombre_semaines = models.PositiveIntegerField("nombre de semaines", null=True, blank=True)

    is_published = models.BooleanField(
        "publié", default=True, help_text="Service saisi dans Parcours : exposé dans l'API au schéma v1."
    )
    quality_score = models.FloatField("score de qualité", null=True, blank=True, db_index=True)
    quality_details = models.JSONField("détail du score", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Colonnes dérivées, recalculées à l'enregistrement (filtres portables SQLite / PostgreSQL).
    search_text = models.TextField(blank=True, editable=False)
    thematiques_index = models.TextField(blank=True, editable=False)
    publics_index = models.TextField(blank=True, editable=False)
    zone_index = models.TextField(blank=True, editable=False)
    in_person = models.BooleanField("accueil en présentiel", default=False, editable=False)
    remote = models.BooleanField("accueil à distance", default=False, editable=False)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = "service"
        ordering = ["nom", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "di_id"], name="catalogue_service_unique_id")
        ]
        indexes = [
            models.Index(fields=["is_active", "latitude", "longitude"], name="catalogue_service_geo_idx"),
            models.Index(fields=["origin", "is_active"], name="catalogue_service_origin_idx"),
            # Services à distance (partie « à distance » de chaque recherche par commune).
            models.Index(fields=["remote", "is_active"], name="catalogue_service_remote_idx"),
            # Sur PostgreSQL, la migration 0002 ajoute des index trigrammes (pg_trgm) sur
            # ``thematiques_index`` et ``search_text`` : les filtres ``LIKE '%…%'`` deviennent indexés.
        ]

    SCHEMA_LIST_FIELDS = (
        "thematiques",
        "publics",
        "modes_accueil",
        "zone_eligibilite",
        "modes_mobilisation",
        "mobilisable_par",
    )

    def save(self, *args, **kwargs):
        self.refresh_derived()
        super().save(*args, **kwargs)

    def refresh_derived(self):
        """Recalcule la colonne de recherche plein texte et les index de filtres."""
        thematiques = self.thematiques or []
        parts = [
            self.nom,
            self.description,
            " ".join(ref.thematiques_summary(thematiques)),
            ref.label("TypeService", self.type) if self.type else "",
            self.commune,
        ]
        structure_nom = self.structure.nom if self.structure_id else ""
        parts.append(structure_nom)
        self.search_text = normalize(" ".join(p for p in parts if p))
        categories = {ref.categorie_of(t) for t in thematiques}
        self.thematiques_index = _index(list(thematiques) + [f"{c}--" for c in categories])
        self.publics_index = _index(self.publics)
        self.zone_index = _index(self.zone_eligibilite)
        modes = set(self.modes_accueil or [])
        self.remote = ref.A_DISTANCE in modes
        # Sans mode d'accueil renseigné, un service qui a une adresse est supposé accueillir sur place.
        self.in_person = ref.EN_PRESENTIEL in modes or (not modes and bool(self.adresse or self.code_insee))

    @property
    def structure_di_id(self):
        return self.structure.di_id

    def to_schema(self):
        """Dict JSON au format data·inclusion v1 ``Service``."""
        from .schema import SERVICE_FIELDS

        payload = {}
        for name in SERVICE_FIELDS:
            if name == "id":
                value = self.di_id
            elif name == "structure_id":
                value = self.structure.di_id
            else:
                value = getattr(self, name)
            if name == "date_maj" and value is not None:
                value = value.isoformat()
            if isinstance(value, list):
                value = sorted(value) or None
            payload[name] = value if value not in ("", []) else None
        return payload

    @property
    def thematiques_display(self):
        """Une ligne par catégorie, chaque catégorie une seule fois (``referentiels.thematiques_summary``)."""
        return ref.thematiques_summary(self.thematiques)

    @property
    def thematiques_groups(self):
        return ref.thematiques_grouped(self.thematiques)

    @property
    def publics_display(self):
        return ref.labels("Public", self.publics)

    @property
    def modes_accueil_display(self):
        return ref.labels("ModeAccueil", self.modes_accueil)

    @property
    def modes_mobilisation_display(self):
        return ref.labels("ModeMobilisation", self.modes_mobilisation)

    @property
    def mobilisable_par_display(self):
        return ref.labels("PersonneMobilisatrice", self.mobilisable_par)

    @property
    def contact_email(self):
        """Adresse à laquelle envoyer une prescription : celle du service, sinon celle de la structure."""
        return self.courriel or self.structure.courriel

    @property
    def total_hours(self):
        if self.volume_horaire_hebdomadaire is None or self.nombre_semaines is None:
            return None
        return self.volume_horaire_hebdomadaire * self.nombre_semaines


class ServiceLocalData(models.Model):
    """Données propres au Département sur un service : jamais publiées ni écrasées par un import."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="local_data")
    departement = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "departement"},
        verbose_name="Département",
    )
    internal_code = models.CharField("code interne", max_length=50, blank=True)
    funder = models.CharField("financeur", max_length=200, blank=True)
    funding_amount = models.DecimalField(
        "montant du financement (€)", max_digits=12, decimal_places=2, null=True, blank=True
    )
    funding_reference = models.CharField("convention / fiche action", max_length=200, blank=True)
    capacity = models.PositiveIntegerField("places (capacité)", null=True, blank=True)
    places_available = models.PositiveIntegerField("places disponibles", null=True, blank=True)
    notes = models.TextField("notes internes", blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "données internes du Département"
        verbose_name_plural = "données internes du Département"
        constraints = [
            models.UniqueConstraint(fields=["service", "departement"], name="catalogue_local_data_unique")
        ]

    def __str__(self):
        return f"{self.service} — {self.departement}"


class PrescriptionStatus(models.TextChoices):
    OPEN = "open", "En attente de réponse"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"
    EXPIRED = "expired", "Expirée"


class RefusalReason(models.TextChoices):
    NOT_ADAPTED = "not_adapted", "Le service ne correspond pas au besoin de la personne"
    NOT_ELIGIBLE = "not_eligible", "La personne ne remplit pas les conditions d'accès"
    NO_PLACE = "no_place", "Plus de place disponible"
    UNREACHABLE = "unreachable", "La personne est injoignable"
    DECLINED = "declined", "La personne a décliné la proposition"
    DUPLICATE = "duplicate", "Demande en double"
    OTHER = "other", "Autre motif (à préciser)"


class Prescription(models.Model):
    """Orientation d'une personne vers un service du catalogue, et la réponse de la structure."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="prescriptions"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="prescriptions")
    structure = models.ForeignKey(Structure, on_delete=models.PROTECT, related_name="prescriptions")
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prescriber_organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        "statut", max_length=10, choices=PrescriptionStatus.choices, default=PrescriptionStatus.OPEN
    )
    message = models.TextField("motif de l'orientation", blank=True)
    shared_data = models.JSONField("informations transmises à la structure", default=dict, blank=True)
    consent_at = models.DateTimeField("consentement recueilli le")
    recipient_email = models.EmailField("envoyée à", blank=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    expires_on = models.DateField("expire le")
    reminder_count = models.PositiveSmallIntegerField("relances", default=0)
    last_reminder_at = models.DateTimeField("dernière relance", null=True, blank=True)
    link_nonce = models.CharField(max_length=32, editable=False)

    answered_at = models.DateTimeField("réponse le", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answerer_name = models.CharField("réponse donnée par", max_length=200, blank=True)
    refusal_reason = models.CharField(
        "motif du refus", max_length=20, choices=RefusalReason.choices, blank=True
    )
    answer_comment = models.TextField("commentaire de la structure", blank=True)
    start_on = models.DateField("début prévu", null=True, blank=True)
    # Copiés du service à l'acceptation : c'est ainsi que les heures comptent dans les 15-20 h.
    volume_horaire_hebdomadaire = models.FloatField("heures par semaine", null=True, blank=True)
    nombre_semaines = models.PositiveIntegerField("nombre de semaines", null=True, blank=True)

    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "prescription"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="catalogue_presc_status_idx"),
            models.Index(fields=["structure", "status"], name="catalogue_presc_struct_idx"),
        ]

    def __str__(self):
        return f"Prescription n°{self.pk} — {self.service}"

    @property
    def is_open(self):
        return self.status == PrescriptionStatus.OPEN

    @property
    def weekly_hours(self):
        return self.volume_horaire_hebdomadaire


class PrescriptionLog(models.Model):
    """Journal de chaque changement de statut (et des envois et relances) d'une prescription."""

    class Action(models.TextChoices):
        SENT = "sent", "Envoyée"
        LINK_RENEWED = "link_renewed", "Nouveau lien de réponse envoyé"
        REMINDED = "reminded", "Relance de la structure"
        ACCEPTED = "accepted", "Acceptée"
        REFUSED = "refused", "Refusée"
        EXPIRED = "expired", "Expirée"
        ANONYMISED = "anonymised", "Données transmises effacées"
        EMAIL_FAILED = "email_failed", "Échec de l'envoi du courriel"

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField("action", max_length=20, choices=Action.choices)
    from_status = models.CharField("statut avant", max_length=10, blank=True)
    to_status = models.CharField("statut après", max_length=10, blank=True)
    at = models.DateTimeField("le", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("par", max_length=200, blank=True)
    comment = models.TextField("commentaire", blank=True)

    class Meta:
        verbose_name = "historique de prescription"
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} — {self.at:%d/%m/%Y %H:%M}"


class Funder(models.TextChoices):
    """Financeurs d'une offre (cartographie parcours–offre)."""

    ETAT = "etat", "État"
    DEPARTEMENT = "departement", "Département"
    FRANCE_TRAVAIL = "france_travail", "France Travail"
    FSE = "fse", "Fonds social européen (FSE+)"
    REGION = "region", "Région"
    CAF = "caf", "CAF / MSA"
    COMMUNE = "commune", "Commune ou intercommunalité"
    OTHER = "autre", "Autre financeur"


class ServiceFinancing(models.Model):
    """Financement d'un service pour un type de parcours, sur un territoire et une année : places financées et
    coût unitaire (convention « insertion et emploi » 002, volet 2-a : pour chaque parcours type, « le coût
    unitaire du parcours, le nombre de places financées », travaux de « cartographie parcours — offre »).

    Donnée propre au Département, jamais publiée au schéma data·inclusion. Le budget (places × coût
    unitaire) n'est pas stocké : il est calculé à la lecture (``offer_map``)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="financings")
    departement = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "departement"},
        verbose_name="Département",
    )
    pathway = models.CharField(
        "type de parcours",
        max_length=20,
        choices=Pathway.choices,
    )
    territory = models.ForeignKey(
        "accounts.Territory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="territoire",
        help_text="Vide : tout le Département.",
    )
    year = models.PositiveSmallIntegerField("année")
    places_financed = models.PositiveIntegerField("places financées")
    unit_cost = models.DecimalField("coût unitaire (€ par place)", max_digits=10, decimal_places=2)
    funders = models.JSONField("financeurs", default=list)
    funders_index = models.CharField(max_length=200, blank=True, editable=False)
    funding_reference = models.CharField("convention / fiche action", max_length=200, blank=True)
    notes = models.CharField("précisions", max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "financement d'un service"
        verbose_name_plural = "financements des services"
        ordering = ["-year", "pathway", "pk"]
        indexes = [
            models.Index(fields=["departement", "year", "pathway"], name="catalogue_fin_dep_year_idx"),
        ]

    def __str__(self):
        return f"{self.service} — {self.get_pathway_display()} {self.year}"

    def save(self, *args, **kwargs):
        self.funders_index = _index(self.funders)
        super().save(*args, **kwargs)

    @property
    def budget(self):
        return self.places_financed * self.unit_cost

    @property
    def funders_display(self):
        labels = dict(Funder.choices)
        return [labels.get(code, code) for code in self.funders or []]
