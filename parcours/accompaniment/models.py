"""Diagnostic partagé (référentiel et versions) et contrat d'engagement.

Les écrans lisent ces tables ; les changements passent par ``services.py`` qui écrit aussi le journal
des parcours (``diagnosed``, ``contract_signed``, ``contract_ended``).
"""

from django.conf import settings
from django.db import models

# --- référentiel du diagnostic --------------------------------------------------------------------------


class ThemeKind(models.TextChoices):
    BARRIER = "frein", "Frein périphérique"
    EMPLOYMENT = "emploi", "Situation professionnelle"
    PROJECT = "projet", "Projet professionnel"


class ReferentialSource(models.TextChoices):
    CARNET_DE_BORD = "carnet_de_bord", "Carnet de bord (aligné sur France Travail)"
    PARCOURS = "parcours", "Complément Parcours"
    LOCAL = "local", "Ajout du Département"


class ReferentialItem(models.Model):
    code = models.CharField("code", max_length=120)
    label = models.CharField("libellé", max_length=255)
    position = models.PositiveIntegerField("ordre", default=0)
    active = models.BooleanField("actif", default=True)
    source = models.CharField(
        "origine", max_length=20, choices=ReferentialSource.choices, default=ReferentialSource.LOCAL
    )

    class Meta:
        abstract = True

    def __str__(self):
        return self.label


class Theme(ReferentialItem):
    """Thème du diagnostic (mobilité, santé, logement…) ; les thèmes « freins » structurent le formulaire."""

    kind = models.CharField("nature", max_length=10, choices=ThemeKind.choices, default=ThemeKind.BARRIER)
    sensitive = models.BooleanField(
        "données sensibles",
        default=False,
        help_text="Situations réservées aux référents, chargés d'orientation et administrateurs "
        "des organisations qui suivent la personne (santé).",
    )
    france_travail_code = models.CharField(
        "code « contrainte » France Travail", max_length=5, blank=True, db_index=True
    )

    class Meta:
        verbose_name = "thème du diagnostic"
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["code"], name="unique_theme_code")]


class Situation(ReferentialItem):
    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, related_name="situations", verbose_name="thème"
    )

    class Meta:
        verbose_name = "situation"
        ordering = ["theme__position", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["theme", "code"], name="unique_situation_code")]


class Objective(ReferentialItem):
    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, related_name="objectives", verbose_name="thème"
    )

    class Meta:
        verbose_name = "objectif"
        ordering = ["theme__position", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["theme", "code"], name="unique_objective_code")]


class Action(ReferentialItem):
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="actions", verbose_name="thème")

    class Meta:
        verbose_name = "action"
        ordering = ["theme__position", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["theme", "code"], name="unique_action_code")]


# --- diagnostic versionné -------------------------------------------------------------------------------


class DiagnosticVersion(models.Model):
    """Une version du diagnostic socio-professionnel d'une personne (chaque enregistrement en crée une).

    Les situations du thème sensible (santé) et ``health_notes`` ne sont montrées qu'aux rôles habilités
    (voir ``permissions.py``).
    """

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="diagnostics",
        verbose_name="bénéficiaire",
    )
    number = models.PositiveIntegerField("version")
    conducted_on = models.DateField("date de l'entretien de diagnostic")
    joint = models.BooleanField("diagnostic conjoint avec France Travail (« double regard »)", default=False)
    situations = models.ManyToManyField(Situation, blank=True, related_name="+", verbose_name="situations")
    skills = models.TextField("compétences et savoir-faire", blank=True)
    professional_project = models.TextField("projet professionnel", blank=True)
    rome_code = models.CharField("métier recherché (code ROME)", max_length=5, blank=True)
    available_from = models.DateField("disponible à partir du", null=True, blank=True)
    weekly_availability_hours = models.PositiveSmallIntegerField(
        "disponibilité hebdomadaire (heures)", null=True, blank=True
    )
    availability_notes = models.TextField("contraintes de disponibilité", blank=True)
    health_notes = models.TextField("précisions sur la santé (données sensibles)", blank=True)
    notes = models.TextField("observations", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="auteur",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="organisation de l'auteur",
    )
    created_at = models.DateTimeField("enregistré le", auto_now_add=True)

    class Meta:
        verbose_name = "version du diagnostic"
        verbose_name_plural = "versions du diagnostic"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["beneficiary", "number"], name="unique_diagnostic_version"),
        ]
        indexes = [models.Index(fields=["conducted_on"], name="diagnostic_conducted_idx")]

    def __str__(self):
        return f"Diagnostic v{self.number} de {self.beneficiary_id} ({self.conducted_on:%d/%m/%Y})"


# --- contrat d'engagement -------------------------------------------------------------------------------


class ContractKind(models.TextChoices):
    CONTRAT_ENGAGEMENT = "contrat_engagement", "Contrat d'engagement"
    CER = "cer", "Contrat d'engagement réciproque (CER, historique)"
    PPAE = "ppae", "Projet personnalisé d'accès à l'emploi (PPAE, historique)"


class ContractStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SIGNED = "signed", "Signé"
    ENDED = "ended", "Terminé"


class Intensity(models.TextChoices):
    """Modalités d'accompagnement (intensité), alignées sur celles de France Travail."""

    SUIVI = "suivi", "Suivi"
    GUIDE = "guide", "Guidé"
    RENFORCE = "renforce", "Renforcé"
    GLOBAL = "global", "Accompagnement global"
    SOCIAL = "social", "Accompagnement social / remobilisation"


class HoursExemption(models.TextChoices):
    """Motifs d'adaptation de la durée hebdomadaire d'activité (Code du travail L5411-6)."""

    HEALTH = "sante", "Problème de santé"
    DISABILITY = "handicap", "Situation de handicap"
    INVALIDITY = "invalidite", "Invalidité"
    SINGLE_PARENT = "parent_isole", "Parent isolé sans solution de garde pour un enfant de moins de 12 ans"
    PROGRESSIVE = "progressif", "Montée en charge progressive adaptée à la situation"


class Contract(models.Model):
    """Contrat d'engagement (loi pour le plein emploi de 2023), ou CER / PPAE conservés pour l'historique."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="contracts",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField(
        "type de contrat",
        max_length=20,
        choices=ContractKind.choices,
        default=ContractKind.CONTRAT_ENGAGEMENT,
    )
    status = models.CharField(
        "statut", max_length=10, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="organisme référent",
    )
    referent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="référent",
    )
    diagnostic = models.ForeignKey(
        DiagnosticVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="diagnostic de référence",
    )
    referent_commitments = models.TextField("engagements du référent", blank=True)
    person_commitments = models.TextField("engagements de la personne", blank=True)
    objectives = models.ManyToManyField(Objective, blank=True, related_name="+", verbose_name="objectifs")
    intensity = models.CharField(
        "intensité de l'accompagnement", max_length=10, choices=Intensity.choices, blank=True
    )
    weekly_hours = models.DecimalField(
        "durée hebdomadaire d'activité (heures)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    hours_exemption = models.CharField(
        "motif d'adaptation de la durée", max_length=15, choices=HoursExemption.choices, blank=True
    )
    hours_exemption_details = models.TextField("précisions sur l'adaptation de la durée", blank=True)
    rights_and_appeals = models.TextField("droits et voies de recours", blank=True)
    starts_on = models.DateField("début", null=True, blank=True)
    ends_on = models.DateField("fin prévue", null=True, blank=True)
    signed_on = models.DateField("signé le", null=True, blank=True)
    review_on = models.DateField("date de révision prévue", null=True, blank=True)
    ended_on = models.DateField("terminé le", null=True, blank=True)
    end_reason = models.CharField("motif de fin", max_length=300, blank=True)
    external_reference = models.CharField("référence d'origine (import)", max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="créé par",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "contrat"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["beneficiary", "status"], name="contract_benef_status_idx"),
            models.Index(fields=["kind", "signed_on"], name="contract_kind_signed_idx"),
            models.Index(fields=["review_on"], name="contract_review_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} de {self.beneficiary} ({self.get_status_display()})"

    @property
    def is_editable(self):
        return self.status == ContractStatus.DRAFT


class ContractAction(models.Model):
    """Une action du plan d'action du contrat (du référentiel ou libre), avec ses heures par semaine."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="actions")
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="action"
    )
    label = models.CharField("libellé", max_length=255)
    weekly_hours = models.DecimalField(
        "heures par semaine", max_digits=4, decimal_places=1, null=True, blank=True
    )
    position = models.PositiveIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "action du contrat"
        ordering = ["position", "pk"]

    def __str__(self):
        return self.label


class ContractStatusChange(models.Model):
    """Journal daté des changements de statut d'un contrat (qui, quand, pourquoi)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField("ancien statut", max_length=10, choices=ContractStatus.choices, blank=True)
    to_status = models.CharField("nouveau statut", max_length=10, choices=ContractStatus.choices)
    occurred_on = models.DateField("date")
    reason = models.CharField("motif", max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="auteur",
    )
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)

    class Meta:
        verbose_name = "changement de statut du contrat"
        ordering = ["recorded_at", "pk"]

    def __str__(self):
        return f"{self.from_status or '—'} → {self.to_status} le {self.occurred_on:%d/%m/%Y}"
