"""Relation avec les employeurs (seed 001 : « des contacts démultipliés avec les employeurs » ; seed 002,
fiche action 3 : offres d'emploi et immersions) : employeurs et leurs besoins, offres d'emploi, immersions
(périodes de mise en situation en milieu professionnel, PMSMP) et embauches, reliées au parcours de la
personne (plan d'activités, sortie en emploi)."""

from django.conf import settings
from django.db import models

from parcours.accompaniment.models import EmploymentContract
from parcours.accounts.models import OrganisationKind


class Employer(models.Model):
    departement = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="Département",
        on_delete=models.PROTECT,
        related_name="employers",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    siret = models.CharField("SIRET", max_length=14)
    name = models.CharField("raison sociale", max_length=200)
    naf_code = models.CharField("code NAF", max_length=6, blank=True)
    sector = models.CharField("secteur d'activité", max_length=200, blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    commune_code = models.CharField("code INSEE de la commune", max_length=5, blank=True)
    commune_name = models.CharField("commune", max_length=150, blank=True)
    contact_name = models.CharField("contact", max_length=200, blank=True)
    contact_email = models.EmailField("adresse électronique du contact", blank=True)
    contact_phone = models.CharField("téléphone du contact", max_length=20, blank=True)
    needs = models.TextField("besoins de recrutement", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "employeur"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["departement", "siret"], name="employer_unique_siret")]

    def __str__(self):
        return self.name


class OfferStatus(models.TextChoices):
    OPEN = "open", "Ouverte"
    FILLED = "filled", "Pourvue"
    CLOSED = "closed", "Close sans recrutement"


class OfferSource(models.TextChoices):
    MANUAL = "saisie", "Saisie"
    IMPORT = "import", "Import de fichier"


class JobOffer(models.Model):
    employer = models.ForeignKey(
        Employer, on_delete=models.CASCADE, related_name="offers", verbose_name="employeur"
    )
    title = models.CharField("intitulé du poste", max_length=200)
    rome_code = models.CharField("code ROME", max_length=5)
    commune_code = models.CharField("code INSEE du lieu de travail", max_length=5, blank=True)
    commune_name = models.CharField("lieu de travail", max_length=150, blank=True)
    contract_type = models.CharField("type de contrat", max_length=20, choices=EmploymentContract.choices)
    contract_months = models.PositiveSmallIntegerField("durée (mois)", null=True, blank=True)
    weekly_hours = models.DecimalField(
        "heures par semaine", max_digits=4, decimal_places=1, null=True, blank=True
    )
    starts_on = models.DateField("prise de poste souhaitée", null=True, blank=True)
    positions = models.PositiveSmallIntegerField("postes", default=1)
    status = models.CharField("statut", max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    source = models.CharField(
        "origine", max_length=10, choices=OfferSource.choices, default=OfferSource.MANUAL
    )
    reference = models.CharField("référence de l'offre", max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "offre d'emploi"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "reference"],
                condition=~models.Q(reference=""),
                name="offer_unique_reference",
            )
        ]
        indexes = [models.Index(fields=["status", "rome_code"], name="offer_status_rome_idx")]

    def __str__(self):
        return f"{self.title} — {self.employer}"


class ImmersionObjective(models.TextChoices):
    """Objets d'une PMSMP (art. L5135-1 du code du travail)."""

    DISCOVER = "decouvrir", "Découvrir un métier ou un secteur d'activité"
    CONFIRM = "confirmer", "Confirmer un projet professionnel"
    RECRUIT = "recruter", "Initier une démarche de recrutement"


class ImmersionOutcome(models.TextChoices):
    PENDING = "", "À venir ou en cours"
    HIRED = "embauche", "Embauche"
    CONFIRMED = "projet_confirme", "Projet confirmé"
    CHANGED = "projet_modifie", "Projet à revoir"
    INTERRUPTED = "interrompue", "Interrompue"


class Immersion(models.Model):
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="immersions",
        verbose_name="personne",
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="immersions", verbose_name="employeur"
    )
    offer = models.ForeignKey(
        JobOffer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="immersions",
        verbose_name="offre",
    )
    activity = models.OneToOneField(
        "accompaniment.PlannedActivity", null=True, on_delete=models.SET_NULL, related_name="immersion"
    )
    objective = models.CharField("objet", max_length=12, choices=ImmersionObjective.choices)
    starts_on = models.DateField("début")
    ends_on = models.DateField("fin")
    weekly_hours = models.DecimalField("heures par semaine", max_digits=4, decimal_places=1)
    tutor_name = models.CharField("tuteur", max_length=200)
    tutor_phone = models.CharField("téléphone du tuteur", max_length=20, blank=True)
    outcome = models.CharField(
        "bilan", max_length=16, choices=ImmersionOutcome.choices, default=ImmersionOutcome.PENDING, blank=True
    )
    outcome_notes = models.TextField("bilan : précisions", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "immersion (PMSMP)"
        ordering = ["-starts_on", "-pk"]

    def __str__(self):
        return f"Immersion chez {self.employer} du {self.starts_on:%d/%m/%Y}"


class Hiring(models.Model):
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="hirings", verbose_name="personne"
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="hirings", verbose_name="employeur"
    )
    offer = models.ForeignKey(
        JobOffer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hirings",
        verbose_name="offre",
    )
    exit = models.OneToOneField(
        "accompaniment.Exit", null=True, blank=True, on_delete=models.SET_NULL, related_name="hiring"
    )
    job_title = models.CharField("poste", max_length=200)
    contract_type = models.CharField("type de contrat", max_length=20, choices=EmploymentContract.choices)
    contract_months = models.PositiveSmallIntegerField("durée (mois)", null=True, blank=True)
    weekly_hours = models.DecimalField(
        "heures par semaine", max_digits=4, decimal_places=1, null=True, blank=True
    )
    starts_on = models.DateField("prise de poste")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "embauche"
        ordering = ["-starts_on", "-pk"]

    def __str__(self):
        return f"Embauche chez {self.employer} le {self.starts_on:%d/%m/%Y}"
