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
    imported_from = models.CharField(
        "repris de",
        max_length=100,
        blank=True,
        help_text="Logiciel d'origine d'un contrat signé ailleurs et repris sans son contenu (engagements, plan "
        "d'action) : le contenu fait foi dans ce logiciel.",
    )
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
        constraints = [
            # Une référence d'origine (celle du logiciel du partenaire, ex. le n° du PPAE) n'est enregistrée
            # qu'une fois pour une personne et une organisation : l'API répond 409 (docs/interop.md), même
            # pour des écritures simultanées.
            models.UniqueConstraint(
                fields=["organisation", "beneficiary", "external_reference"],
                condition=~models.Q(external_reference=""),
                name="unique_contract_reference",
            ),
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


# --- accompagnement intensif : plan d'activités (étape 7) -----------------------------------------------


class ActivityKind(models.TextChoices):
    TRAINING = "formation", "Formation"
    IMMERSION = "immersion", "Immersion en entreprise (PMSMP)"
    IAE = "iae", "Contrat d'insertion par l'activité économique (IAE)"
    WORKSHOP = "atelier", "Atelier collectif"
    HEALTH = "sante", "Action de santé"
    MOBILITY = "mobilite", "Action de mobilité"
    JOB_SEARCH = "recherche_emploi", "Recherche d'emploi"
    PERSONAL = "demarches", "Démarches personnelles (logement, garde d'enfants, droits…)"


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    IN_PROGRESS = "in_progress", "En cours"
    DONE = "done", "Réalisée"
    ABANDONED = "abandoned", "Abandonnée"


class PlannedActivity(models.Model):
    """Une activité du plan d'accompagnement intensif : heures par semaine × nombre de semaines."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="planned_activities",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField("type d'activité", max_length=20, choices=ActivityKind.choices)
    label = models.CharField("intitulé", max_length=255)
    service = models.ForeignKey(
        "catalogue.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="service du catalogue",
    )
    provider = models.CharField("prestataire (texte libre)", max_length=255, blank=True)
    prescription = models.OneToOneField(
        "catalogue.Prescription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="planned_activity",
        verbose_name="prescription acceptée",
        help_text="Activité créée (ou rattachée) à l'acceptation d'une prescription : une seule par prescription.",
    )
    weekly_hours = models.DecimalField("heures par semaine", max_digits=4, decimal_places=1)
    weeks = models.PositiveSmallIntegerField("nombre de semaines")
    starts_on = models.DateField("début")
    status = models.CharField(
        "statut", max_length=12, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    actual_hours = models.DecimalField(
        "heures réalisées (total)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    outcome = models.TextField("ce qui s'est passé", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "activité planifiée"
        verbose_name_plural = "activités planifiées"
        ordering = ["starts_on", "pk"]
        indexes = [models.Index(fields=["beneficiary", "starts_on"], name="activity_benef_start_idx")]

    def __str__(self):
        return f"{self.label} ({self.weekly_hours} h × {self.weeks} sem.)"


class HoursTargetKind(models.TextChoices):
    PROGRESSIVE = "progressif", "Montée en charge progressive"
    LOWERED = "reduit", "Durée réduite"
    ZERO = "zero", "Durée ramenée à zéro"


class HoursAdjustment(models.Model):
    """Adaptation de l'objectif hebdomadaire (progressive, réduite, ou zéro sur demande : L5411-6)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="hours_adjustments",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField("adaptation", max_length=10, choices=HoursTargetKind.choices)
    reason = models.CharField("motif", max_length=15, choices=HoursExemption.choices)
    target_hours = models.DecimalField("objectif hebdomadaire (heures)", max_digits=4, decimal_places=1)
    requested_by_person = models.BooleanField("à la demande de la personne", default=False)
    details = models.TextField("précisions", blank=True)
    starts_on = models.DateField("début")
    ends_on = models.DateField("fin")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "adaptation de la durée hebdomadaire"
        verbose_name_plural = "adaptations de la durée hebdomadaire"
        ordering = ["-starts_on", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.target_hours} h jusqu'au {self.ends_on:%d/%m/%Y}"


# --- revues (étape 8) -----------------------------------------------------------------------------------


class ReviewKind(models.TextChoices):
    MILESTONE = "jalon", "Entretien d'étape"
    JOINT = "conjointe", "Revue conjointe France Travail + référent (CASF L262-31)"
    CASE_REVIEW = "pluridisciplinaire", "Analyse de situation en équipe pluridisciplinaire"
    SECOND_YEAR = "deuxieme_annee", "Revue d'entrée en deuxième année d'accompagnement"
    GLOBAL_PROPOSAL = "proposition_global", "Proposition d'accompagnement global"


class ReviewStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    HELD = "held", "Tenue"
    CANCELLED = "cancelled", "Annulée"


class Review(models.Model):
    """Revue du parcours : prévue à une échéance, tenue avec compte rendu et décisions."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="reviews",
        verbose_name="bénéficiaire",
    )
    kind = models.CharField("type de revue", max_length=20, choices=ReviewKind.choices)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    due_on = models.DateField("échéance")
    session = models.ForeignKey(
        "TeamSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviews",
        verbose_name="séance de l'équipe pluridisciplinaire",
        help_text="Analyse de situation ou réorientation examinée en équipe pluridisciplinaire.",
    )
    status = models.CharField(
        "statut", max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PLANNED
    )
    held_on = models.DateField("tenue le", null=True, blank=True)
    minutes = models.TextField("compte rendu", blank=True)
    decisions = models.TextField("décisions", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "revue"
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="review_status_due_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.due_on:%d/%m/%Y}"


# --- devoirs et sanctions (étape 9) ---------------------------------------------------------------------


class TeamSession(models.Model):
    """Séance de l'équipe pluridisciplinaire (niveau 1 local ou niveau 2 départemental)."""

    departement = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="Département"
    )
    level = models.PositiveSmallIntegerField(
        "niveau", choices=[(1, "Niveau 1 (local)"), (2, "Niveau 2 (départemental)")], default=1
    )
    territory = models.ForeignKey(
        "accounts.Territory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="territoire",
        help_text="Séance locale d'un territoire ; vide pour une séance départementale.",
    )
    held_on = models.DateField("date de la séance")
    starts_at = models.TimeField("heure de début", null=True, blank=True)
    place = models.CharField("lieu", max_length=300, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="team_sessions", verbose_name="membres convoqués"
    )
    present = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="membres présents"
    )
    convened_on = models.DateField("convocations envoyées le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "séance d'équipe pluridisciplinaire"
        verbose_name_plural = "séances d'équipe pluridisciplinaire"
        ordering = ["-held_on", "-pk"]

    def __str__(self):
        return f"Équipe pluridisciplinaire niveau {self.level} du {self.held_on:%d/%m/%Y}"

    def present_count(self):
        """Membres présents (agents et membres extérieurs) : le quorum se compte sur ce nombre."""
        return self.present.count() + self.guests.filter(present=True).count()


class GuestQuality(models.TextChoices):
    """Qualité d'un membre extérieur de l'équipe pluridisciplinaire (CASF L262-39)."""

    FRANCE_TRAVAIL = "france_travail", "Représentant de France Travail"
    INSERTION = "insertion", "Professionnel de l'insertion (association, PLIE, maison de l'emploi)"
    BENEFICIARY = "beneficiaire", "Représentant des bénéficiaires du RSA"
    DEPARTEMENT = "departement", "Représentant du Département"
    OTHER = "autre", "Autre qualité"


class TeamSessionGuest(models.Model):
    """Membre de l'équipe pluridisciplinaire qui n'a pas de compte d'agent : nom, qualité, présence."""

    session = models.ForeignKey(TeamSession, on_delete=models.CASCADE, related_name="guests")
    name = models.CharField("nom", max_length=200)
    quality = models.CharField("qualité", max_length=20, choices=GuestQuality.choices)
    organisation = models.CharField("organisme", max_length=200, blank=True)
    present = models.BooleanField("présent", default=False)

    class Meta:
        verbose_name = "membre extérieur de l'équipe pluridisciplinaire"
        verbose_name_plural = "membres extérieurs de l'équipe pluridisciplinaire"
        ordering = ["name", "pk"]

    def __str__(self):
        return f"{self.name} ({self.get_quality_display()})"


class SanctionGround(models.TextChoices):
    MISSED_APPOINTMENTS = "absences", "Absences répétées aux rendez-vous"
    CONTRACT_NOT_SIGNED = "contrat_non_signe", "Contrat d'engagement non signé"
    PLAN_NOT_FOLLOWED = "plan_non_respecte", "Plan d'action non respecté"
    OTHER = "autre", "Autre manquement (à préciser)"


class SanctionStatus(models.TextChoices):
    OPENED = "opened", "Manquement constaté"
    NOTICE_SENT = "notice_sent", "Personne informée"
    OBSERVATIONS = "observations", "Observations reçues"
    REFERRED = "referred", "Inscrite en équipe pluridisciplinaire"
    OPINION = "opinion", "Avis de l'équipe pluridisciplinaire"
    DECIDED = "decided", "Décision du Président"
    NOTIFIED = "notified", "Décision notifiée"
    REGULARISED = "regularised", "Régularisée (reprise de l'accompagnement)"
    CLOSED = "closed", "Close"
    DROPPED = "dropped", "Abandonnée"


class SanctionDecision(models.TextChoices):
    NONE = "none", "Pas de sanction"
    SUSPENSION = "suspension", "Suspension partielle ou totale (réduction)"
    SUPPRESSION = "suppression", "Suppression"


class SanctionCase(models.Model):
    """Procédure de suspension-remobilisation (CASF L262-37, R262-68 et suivants)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="sanction_cases",
        verbose_name="bénéficiaire",
    )
    ground = models.CharField("manquement", max_length=20, choices=SanctionGround.choices)
    facts = models.TextField("faits reprochés")
    status = models.CharField(
        "étape", max_length=12, choices=SanctionStatus.choices, default=SanctionStatus.OPENED
    )
    opened_on = models.DateField("manquement constaté le")
    status_since = models.DateField("à cette étape depuis")
    is_repeat = models.BooleanField("persistance ou réitération", default=False)
    household_of_several = models.BooleanField("foyer de plus d'une personne", default=False)
    notice_sent_on = models.DateField("personne informée le", null=True, blank=True)
    observations = models.TextField("observations de la personne", blank=True)
    assisted_by = models.CharField("personne assistée par", max_length=200, blank=True)
    session = models.ForeignKey(
        TeamSession, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    team_opinion = models.TextField("avis de l'équipe pluridisciplinaire", blank=True)
    opinion_favourable = models.BooleanField("avis favorable à la sanction envisagée", null=True, blank=True)
    proposed_decision = models.CharField(
        "sanction proposée par l'équipe", max_length=12, choices=SanctionDecision.choices, blank=True
    )
    decision = models.CharField("décision", max_length=12, choices=SanctionDecision.choices, blank=True)
    reduction_percent = models.PositiveSmallIntegerField("taux de réduction (%)", null=True, blank=True)
    duration_months = models.PositiveSmallIntegerField("durée (mois)", null=True, blank=True)
    monthly_amount = models.DecimalField(
        "montant mensuel retenu (€)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    decided_on = models.DateField("décidée le", null=True, blank=True)
    notified_on = models.DateField("notifiée le", null=True, blank=True)
    regularised_on = models.DateField("régularisée le", null=True, blank=True)
    repaid_amount = models.DecimalField(
        "sommes restituées (€)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "procédure de suspension-remobilisation"
        verbose_name_plural = "procédures de suspension-remobilisation"
        ordering = ["-status_since", "-pk"]
        indexes = [models.Index(fields=["status", "status_since"], name="sanction_status_idx")]

    def __str__(self):
        return f"{self.get_ground_display()} — {self.get_status_display()}"


class SanctionStep(models.Model):
    """Journal daté et motivé des étapes d'une procédure (qui, quand, pourquoi)."""

    case = models.ForeignKey(SanctionCase, on_delete=models.CASCADE, related_name="steps")
    from_status = models.CharField(max_length=12, choices=SanctionStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=SanctionStatus.choices)
    occurred_on = models.DateField("date")
    reason = models.TextField("motif")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "étape de la procédure"
        ordering = ["occurred_on", "pk"]

    def __str__(self):
        return f"{self.from_status or '—'} → {self.to_status} le {self.occurred_on:%d/%m/%Y}"


# --- sorties et suivi dans l'emploi (étape 10) ----------------------------------------------------------


class ExitReason(models.TextChoices):
    EMPLOYMENT = "emploi", "Emploi salarié"
    BUSINESS = "creation_entreprise", "Création ou reprise d'entreprise"
    TRAINING = "formation", "Formation qualifiante"
    AAH = "aah", "Autre prestation : AAH"
    ASPA = "aspa", "Autre prestation : ASPA (retraite)"
    OTHER_BENEFIT = "autre_prestation", "Autre prestation"
    MOVED = "demenagement", "Déménagement hors du Département"
    RADIATED = "radiation", "Radiation (fin de droit)"
    INCOME = "ressources", "Ressources au-delà du plafond"
    OTHER = "autre", "Autre motif (à préciser)"


class EmploymentContract(models.TextChoices):
    CDI = "cdi", "CDI"
    CDD = "cdd", "CDD"
    INTERIM = "interim", "Intérim"
    IAE = "iae", "Contrat IAE"
    ALTERNANCE = "alternance", "Alternance (apprentissage, professionnalisation)"
    AIDED = "aide", "Contrat aidé (PEC)"
    SELF_EMPLOYED = "independant", "Indépendant"


class Exit(models.Model):
    """Sortie qualifiée de l'accompagnement, avec l'emploi éventuel (employeur, contrat, durée)."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="exits",
        verbose_name="bénéficiaire",
    )
    reason = models.CharField("motif de sortie", max_length=20, choices=ExitReason.choices)
    exited_on = models.DateField("date de sortie")
    details = models.TextField("précisions", blank=True)
    employer = models.CharField("employeur", max_length=255, blank=True)
    job_title = models.CharField("poste", max_length=255, blank=True)
    contract_type = models.CharField(
        "type de contrat", max_length=12, choices=EmploymentContract.choices, blank=True
    )
    contract_months = models.PositiveSmallIntegerField("durée du contrat (mois)", null=True, blank=True)
    weekly_hours = models.DecimalField(
        "heures par semaine", max_digits=4, decimal_places=1, null=True, blank=True
    )
    job_started_on = models.DateField("prise de poste le", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Avance aussi à chaque suivi dans l'emploi (signal de ``parcours.interop``) : synchronisation des
    # partenaires par ``updated_after``.
    updated_at = models.DateTimeField("modifiée le", auto_now=True, db_index=True)

    class Meta:
        verbose_name = "sortie"
        ordering = ["-exited_on", "-pk"]
        indexes = [models.Index(fields=["reason", "exited_on"], name="exit_reason_date_idx")]

    def __str__(self):
        return f"{self.get_reason_display()} le {self.exited_on:%d/%m/%Y}"


class EmploymentCheck(models.Model):
    """Suivi dans l'emploi par le référent ; ``is_six_month`` marque la vérification de l'emploi durable."""

    exit = models.ForeignKey(Exit, on_delete=models.CASCADE, related_name="checks")
    checked_on = models.DateField("vérifié le")
    still_employed = models.BooleanField("toujours en emploi")
    contract_type = models.CharField(
        "type de contrat", max_length=12, choices=EmploymentContract.choices, blank=True
    )
    contract_months = models.PositiveSmallIntegerField("durée du contrat (mois)", null=True, blank=True)
    is_six_month = models.BooleanField("vérification à 6 mois", default=False)
    durable = models.BooleanField("emploi durable", null=True)
    notes = models.TextField("observations", blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "suivi dans l'emploi"
        ordering = ["checked_on", "pk"]

    def __str__(self):
        return f"Suivi dans l'emploi du {self.checked_on:%d/%m/%Y}"


# --- espace de la personne ------------------------------------------------------------------------------


class PersonAccount(models.Model):
    """Compte de connexion d'une personne accompagnée : elle ne voit que ses propres informations."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="person_account",
        verbose_name="compte",
    )
    beneficiary = models.OneToOneField(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="person_account",
        verbose_name="bénéficiaire",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "compte de la personne"
        verbose_name_plural = "comptes des personnes"

    def __str__(self):
        return f"Compte de {self.beneficiary}"


class AppointmentReply(models.Model):
    """Réponse de la personne à un rendez-vous : elle confirme ou s'excuse (l'agent saisit la présence)."""

    CONFIRM = "confirm"
    EXCUSE = "excuse"
    ANSWERS = [(CONFIRM, "Je viendrai"), (EXCUSE, "Je ne pourrai pas venir")]

    appointment = models.ForeignKey(
        "orientation.Appointment", on_delete=models.CASCADE, related_name="replies"
    )
    answer = models.CharField("réponse", max_length=10, choices=ANSWERS)
    reason = models.CharField("raison", max_length=300, blank=True)
    answered_at = models.DateTimeField("répondu le", auto_now_add=True)

    class Meta:
        verbose_name = "réponse à un rendez-vous"
        ordering = ["-answered_at", "-pk"]

    def __str__(self):
        return self.get_answer_display()


class SurveyOccasion(models.TextChoices):
    """Moment où le questionnaire de satisfaction est proposé à la personne (``surveys.py``)."""

    ORIENTATION = "entretien_orientation", "Après l'entretien d'orientation"
    THREE_MONTHS = "trois_mois", "Après 3 mois d'accompagnement"
    SPONTANEOUS = "spontane", "À son initiative"


class SurveyChannel(models.TextChoices):
    SPACE = "espace", "Depuis son espace"
    LINK = "lien", "Par le lien reçu"


class SatisfactionAnswer(models.Model):
    """Réponse de la personne au questionnaire de satisfaction (indicateur de satisfaction, volet 3).

    ``occasion`` et ``due_on`` disent à quel questionnaire dû elle répond (une réponse par occasion) ; le
    commentaire, texte libre, ne sort dans aucun export."""

    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="satisfaction_answers"
    )
    answered_on = models.DateField("répondu le")
    occasion = models.CharField(
        "occasion", max_length=25, choices=SurveyOccasion.choices, default=SurveyOccasion.SPONTANEOUS
    )
    due_on = models.DateField("questionnaire dû le", null=True, blank=True)
    channel = models.CharField(
        "canal", max_length=10, choices=SurveyChannel.choices, default=SurveyChannel.SPACE
    )
    score = models.PositiveSmallIntegerField("satisfaction (1 à 5)")
    listened_to = models.BooleanField("se sent écouté·e par son référent")
    comment = models.TextField("commentaire", blank=True)

    class Meta:
        verbose_name = "réponse au questionnaire de satisfaction"
        ordering = ["-answered_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "occasion", "due_on"],
                condition=~models.Q(occasion="spontane"),
                name="unique_satisfaction_answer_per_occasion",
            ),
        ]

    def __str__(self):
        return f"{self.score}/5 le {self.answered_on:%d/%m/%Y}"


class ProfessionalSurveyAnswer(models.Model):
    """Réponse d'un professionnel (référent, chargé d'orientation) au questionnaire trimestriel de
    satisfaction (annexe 4 de 002, volet 3 : « satisfaction … des professionnels ») : une par agent et par
    trimestre. Le commentaire, texte libre, ne sort dans aucun export."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="professional_survey_answers"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+", verbose_name="organisation"
    )
    departement = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+", verbose_name="Département"
    )
    quarter = models.DateField("trimestre (premier jour)")
    answered_on = models.DateField("répondu le")
    score = models.PositiveSmallIntegerField("satisfaction (1 à 5)")
    tools_help = models.BooleanField("les outils facilitent l'accompagnement")
    offer_sufficient = models.BooleanField("l'offre d'insertion répond aux besoins des personnes")
    comment = models.TextField("commentaire", blank=True)

    class Meta:
        verbose_name = "réponse au questionnaire des professionnels"
        verbose_name_plural = "réponses au questionnaire des professionnels"
        ordering = ["-quarter", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "quarter"], name="unique_professional_answer_per_quarter"
            ),
        ]

    def __str__(self):
        return f"{self.score}/5, trimestre du {self.quarter:%d/%m/%Y}"


# --- sanctions transmises à l'organisme payeur (CAF/MSA) ------------------------------------------------------


class SanctionMeasure(models.TextChoices):
    """Nature de la mesure transmise à l'organisme payeur (code du fichier mensuel entre parenthèses)."""

    SUSPENSION = "suspension", "Suspension totale du versement (SUSP)"
    REDUCTION = "reduction", "Réduction : suspension partielle du versement (REDU)"
    SUPPRESSION = "suppression", "Suppression du versement (SUPP)"
    LIFTING = "levee", "Levée de la mesure : reprise du versement (LEVE)"
    REPAYMENT = "restitution", "Restitution des sommes retenues (REST)"


class NoticeStatus(models.TextChoices):
    TO_SEND = "a_transmettre", "À transmettre"
    SENT = "transmis", "Transmis"
    ACKNOWLEDGED = "accuse", "Accusé de réception"
    REJECTED = "rejete", "Rejeté par l'organisme"


class SanctionNotice(models.Model):
    """Une mesure décidée à transmettre à l'organisme payeur (CAF ou MSA) : créée dans la même transaction que
    l'étape de la procédure qui la produit (``sanction_exchange.on_case_step``), transmise dans le fichier
    mensuel de l'organisme, puis accusée ou rejetée par lui (``sanction_exchange.NOTICE_WORKFLOW``)."""

    case = models.ForeignKey(SanctionCase, on_delete=models.CASCADE, related_name="notices")
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="sanction_notices"
    )
    departement = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="Département"
    )
    measure = models.CharField("nature", max_length=12, choices=SanctionMeasure.choices)
    reference = models.CharField("référence", max_length=40, unique=True)
    organism = models.CharField("organisme payeur", max_length=3, blank=True)
    matricule = models.CharField("matricule", max_length=30, blank=True)
    month = models.DateField("mois du fichier (1er du mois)")
    effective_on = models.DateField("date de la mesure")
    starts_on = models.DateField("début", null=True, blank=True)
    ends_on = models.DateField("fin prévue", null=True, blank=True)
    reduction_percent = models.PositiveSmallIntegerField("taux de réduction (%)", null=True, blank=True)
    duration_months = models.PositiveSmallIntegerField("durée (mois)", null=True, blank=True)
    monthly_amount = models.DecimalField(
        "montant mensuel retenu (€)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(
        "montant restitué (€)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    decided_on = models.DateField("décidée le", null=True, blank=True)
    notified_on = models.DateField("notifiée le", null=True, blank=True)
    status = models.CharField(
        "statut", max_length=14, choices=NoticeStatus.choices, default=NoticeStatus.TO_SEND
    )
    file_name = models.CharField("fichier", max_length=120, blank=True)
    transmitted_on = models.DateField("transmise le", null=True, blank=True)
    answered_on = models.DateField("réponse de l'organisme le", null=True, blank=True)
    rejection_reason = models.CharField("motif du rejet", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "mesure transmise à l'organisme payeur"
        verbose_name_plural = "mesures transmises à l'organisme payeur"
        ordering = ["month", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "measure"], name="unique_notice_per_case_measure"),
        ]
        indexes = [
            models.Index(fields=["departement", "month", "organism"], name="notice_month_idx"),
            models.Index(fields=["updated_at", "id"], name="notice_updated_idx"),
        ]

    def __str__(self):
        return f"{self.reference} — {self.get_measure_display()} ({self.get_status_display()})"
