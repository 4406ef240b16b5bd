"""Conventions État–Département : volets, fiches actions, budgets, dépenses, versements, bilans.

Les montants sont des ``Decimal`` à deux décimales (jamais des flottants). Les règles (cofinancement,
éligibilité, échéancier, solde et trop-perçu) sont dans ``services.py`` ; ce module ne porte que les données.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import ADMINISTERING, CONVENTION_READER, CONVENTION_READING, with_roles

ZERO = Decimal("0.00")


def MoneyField(verbose_name, **kwargs):  # noqa: N802 - se lit comme un type de champ
    kwargs.setdefault("max_digits", 14)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(verbose_name, **kwargs)


def RateField(verbose_name, **kwargs):  # noqa: N802
    kwargs.setdefault("max_digits", 5)
    kwargs.setdefault("decimal_places", 4)
    return models.DecimalField(verbose_name, **kwargs)


# Rôles qui voient les conventions (le premier seul les modifie).
VIEWER_ROLES = CONVENTION_READING
EDITOR_ROLES = ADMINISTERING


class ExpenseNature(models.TextChoices):
    """Catégories de dépenses : les règles d'éligibilité de chaque convention portent sur elles."""

    STAFF = "staff", "Rémunération de personnel (ETP)"
    PARTNER_PARTICIPATION = "partner_participation", "Participation versée à un partenaire"
    EXTERNAL_SUPPORT = "external_support", "Prestation externe d'accompagnement"
    IT_DEVELOPMENT = "it_development", "Développement informatique (interopérabilité, API)"
    BENEFICIARY_AID = "beneficiary_aid", "Aide financière aux bénéficiaires"
    OVERHEADS = "overheads", "Frais généraux (fournitures, reprographie, locations de salles, équipement…)"
    MISSION_COSTS = "mission_costs", "Frais de mission (déplacements, hébergement, restauration du personnel)"
    EVALUATION_SERVICE = "evaluation_service", "Prestation d'évaluation"
    TRAINING_SERVICE = "training_service", "Prestation de formation"
    PROJECT_MANAGEMENT_SERVICE = "project_management_service", "Prestation de gestion de projet"
    INVESTMENT = "investment", "Investissement (hors développements informatiques)"
    OTHER = "other", "Autre dépense"


class ConventionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Conventions que l'agent peut lire.

        - administrateur ou responsable d'un Département : les conventions de ce Département ;
        - administrateur ou responsable d'une organisation de l'État (DDETS…) rattachée à un Département :
          les conventions de ce Département, en lecture seule (l'État est partie à la convention, reçoit
          les bilans et contrôle les pièces justificatives, article 8 de la convention 2024).
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(departement_id__in=readable_departements(user))

    def editable_by(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(departement_id__in=departements_for(user, EDITOR_ROLES))


def readable_departements(user):
    """Départements dont l'agent lit les conventions (Département ou État rattaché ; hors superutilisateur)."""
    if not user.is_authenticated:
        return []
    return sorted(
        {
            m.organisation_id
            if m.organisation.kind == OrganisationKind.DEPARTEMENT
            else m.organisation.departement_id
            for m in CONVENTION_READER.memberships(user)
        }
    )


def departements_for(user, roles):
    """Identifiants des Départements où ``user`` a l'un des ``roles`` (appartenance active)."""
    return [m.organisation_id for m in with_roles(user, roles, kinds={OrganisationKind.DEPARTEMENT})]


class Convention(models.Model):
    """Convention de financement entre l'État et un Département (ex. : convention insertion-emploi 2024)."""

    departement = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="Département",
        on_delete=models.PROTECT,
        related_name="conventions",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    code = models.SlugField("code", max_length=60, help_text="Identifiant court, unique par Département.")
    title = models.CharField("intitulé", max_length=300)
    reference = models.CharField("référence (n° EJ, délibération…)", max_length=200, blank=True)
    state_party = models.CharField("partie État (représentant)", max_length=400)
    departement_party = models.CharField("partie Département (représentant)", max_length=400)
    starts_on = models.DateField("début")
    ends_on = models.DateField("fin")
    signed_on = models.DateField("signée le", null=True, blank=True)
    budget_imputation = models.CharField("imputation budgétaire", max_length=400, blank=True)
    advance_rate = RateField("taux de l'avance", default=Decimal("0.6000"))
    advance_due_days = models.PositiveSmallIntegerField(
        "avance versée dans les … jours suivant la signature", default=0
    )
    # Indicateurs qualitatifs du volet 1 (annexe 4 de la convention 2024).
    project_management_fte = models.DecimalField(
        "ETP dédiés à la chefferie de projet", max_digits=5, decimal_places=2, null=True, blank=True
    )
    project_management_position = models.CharField(
        "positionnement de la chefferie de projet (rattachement hiérarchique)", max_length=300, blank=True
    )
    digital_transformation_fte = models.DecimalField(
        "ETP dédiés à la transformation numérique", max_digits=5, decimal_places=2, null=True, blank=True
    )
    roadmap_formalised = models.BooleanField("feuille de route départementale formalisée", null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConventionQuerySet.as_manager()

    class Meta:
        verbose_name = "convention"
        ordering = ["-starts_on", "title"]
        constraints = [
            models.UniqueConstraint(fields=["departement", "code"], name="unique_convention_code"),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="convention_period"),
        ]

    def __str__(self):
        return self.title

    @property
    def effective_ends_on(self):
        """Fin de la convention, prolongée le cas échéant par le dernier avenant qui la modifie."""
        extended = [a.new_ends_on for a in self.amendments.all() if a.new_ends_on]
        return max([self.ends_on, *extended])


class Amendment(models.Model):
    """Avenant à une convention (article « modification de la convention »)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="amendments")
    number = models.PositiveSmallIntegerField("numéro")
    signed_on = models.DateField("signé le", null=True, blank=True)
    subject = models.CharField("objet", max_length=300)
    description = models.TextField("contenu", blank=True)
    new_ends_on = models.DateField("nouvelle date de fin", null=True, blank=True)

    class Meta:
        verbose_name = "avenant"
        ordering = ["convention", "number"]
        constraints = [models.UniqueConstraint(fields=["convention", "number"], name="unique_amendment")]

    def __str__(self):
        return f"Avenant n° {self.number} — {self.subject}"


class Volet(models.Model):
    """Volet de la convention, avec le montant maximum de l'État et sa règle de cofinancement."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="volets")
    number = models.PositiveSmallIntegerField("numéro")
    title = models.CharField("intitulé", max_length=300)
    description = models.TextField("objet", blank=True)
    max_state_amount = MoneyField("montant maximum de l'État")
    is_lump_sum = models.BooleanField(
        "forfait", default=False, help_text="Montant forfaitaire (volet 1 de la convention 2024)."
    )
    state_share_rate = RateField(
        "part de l'État dans le coût des actions",
        null=True,
        blank=True,
        help_text="Ex. 0,5 pour « l'État et le Département participent chacun à hauteur de 50 % ».",
    )
    departement_ceiling = MoneyField("plafond départemental (plan de financement)", null=True, blank=True)

    class Meta:
        verbose_name = "volet"
        ordering = ["convention", "number"]
        constraints = [models.UniqueConstraint(fields=["convention", "number"], name="unique_volet")]

    def __str__(self):
        return f"Volet {self.number} — {self.title}"

    @property
    def cofinancing_label(self):
        if self.state_share_rate is not None:
            state = (self.state_share_rate * 100).normalize()
            dep = ((1 - self.state_share_rate) * 100).normalize()
            return f"État {state:f} % / Département {dep:f} % du coût des actions"
        if self.is_lump_sum:
            return "Forfait de l'État"
        return "Sans règle de cofinancement"


class BudgetSection(models.Model):
    """Rubrique du plan de financement (annexe 2) et du bilan financier (annexe 3) d'un volet."""

    volet = models.ForeignKey(Volet, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveSmallIntegerField("ordre")
    title = models.CharField("rubrique du plan de financement", max_length=300)
    report_title = models.CharField("intitulé dans le bilan financier", max_length=300)

    class Meta:
        verbose_name = "rubrique budgétaire"
        ordering = ["volet", "order"]
        constraints = [models.UniqueConstraint(fields=["volet", "order"], name="unique_budget_section")]

    def __str__(self):
        return self.title


class ActionSheet(models.Model):
    """Fiche action de l'annexe 1 (plan d'actions)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="action_sheets")
    volet = models.ForeignKey(Volet, on_delete=models.PROTECT, related_name="action_sheets")
    section = models.ForeignKey(
        BudgetSection,
        verbose_name="rubrique",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_sheets",
    )
    number = models.PositiveSmallIntegerField("numéro")
    title = models.CharField("intitulé de l'action", max_length=300)
    context = models.TextField("contexte / état du préexistant", blank=True)
    objectives = models.TextField("enjeux identifiés et objectifs visés", blank=True)
    description = models.TextField("description de l'action", blank=True)
    starts_on = models.DateField("date de mise en place", null=True, blank=True)
    start_text = models.CharField("date de mise en place (texte de la fiche)", max_length=300, blank=True)
    ends_on = models.DateField("date de fin", null=True, blank=True)
    duration_text = models.CharField("durée de l'action", max_length=300, blank=True)
    services = models.ManyToManyField(
        "catalogue.Service",
        verbose_name="services du catalogue financés",
        blank=True,
        related_name="action_sheets",
    )

    class Meta:
        verbose_name = "fiche action"
        verbose_name_plural = "fiches actions"
        ordering = ["convention", "number"]
        constraints = [models.UniqueConstraint(fields=["convention", "number"], name="unique_action_sheet")]

    def __str__(self):
        return f"Fiche action {self.number} — {self.title}"


class PartnerRole(models.TextChoices):
    PARTNER = "partner", "Partenaire"
    OPERATIONAL = "operational", "Partenaire opérationnel"
    COFUNDER = "cofunder", "Co-financeur"


class ActionPartner(models.Model):
    """Partenaire ou co-financeur d'une fiche action : une organisation connue ou un nom libre."""

    action_sheet = models.ForeignKey(ActionSheet, on_delete=models.CASCADE, related_name="partners")
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField("nom", max_length=300, blank=True)
    role = models.CharField("rôle", max_length=20, choices=PartnerRole.choices, default=PartnerRole.PARTNER)
    order = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "partenaire de fiche action"
        ordering = ["action_sheet", "role", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False) | ~Q(name=""), name="partner_has_name_or_org"
            )
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.organisation.name if self.organisation_id else self.name


class BudgetLine(models.Model):
    """Ligne du budget prévisionnel : part de l'État et part du Département, par partenaire ou par objet."""

    volet = models.ForeignKey(Volet, on_delete=models.CASCADE, related_name="budget_lines")
    action_sheet = models.ForeignKey(
        ActionSheet, null=True, blank=True, on_delete=models.CASCADE, related_name="budget_lines"
    )
    section = models.ForeignKey(
        BudgetSection, null=True, blank=True, on_delete=models.SET_NULL, related_name="budget_lines"
    )
    partner = models.ForeignKey(
        ActionPartner, null=True, blank=True, on_delete=models.SET_NULL, related_name="budget_lines"
    )
    order = models.PositiveSmallIntegerField("ordre", default=0)
    label = models.CharField("objet", max_length=400)
    nature = models.CharField(
        "nature de la dépense", max_length=40, choices=ExpenseNature.choices, default=ExpenseNature.OTHER
    )
    state_amount = MoneyField("part État", default=ZERO)
    departement_amount = MoneyField("part Département", default=ZERO)

    class Meta:
        verbose_name = "ligne budgétaire"
        ordering = ["volet", "action_sheet__number", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state_amount__gte=0) & Q(departement_amount__gte=0), name="budget_line_positive"
            )
        ]

    def __str__(self):
        return self.label

    @property
    def total_amount(self):
        return self.state_amount + self.departement_amount


class EligibilityRule(models.Model):
    """Une nature de dépense que la convention exclut du financement de l'État, avec le motif affiché."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="eligibility_rules")
    nature = models.CharField("nature de dépense exclue", max_length=40, choices=ExpenseNature.choices)
    reason = models.TextField("motif du refus")

    class Meta:
        verbose_name = "règle d'éligibilité"
        verbose_name_plural = "règles d'éligibilité"
        ordering = ["convention", "nature"]
        constraints = [
            models.UniqueConstraint(fields=["convention", "nature"], name="unique_eligibility_rule")
        ]

    def __str__(self):
        return f"{self.get_nature_display()} : non éligible"


def supporting_document_path(instance, filename):
    return f"conventions/{instance.convention_id}/justificatifs/{filename}"


class Expense(models.Model):
    """Dépense réalisée, sur le modèle du bilan financier (annexe 3)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="expenses")
    volet = models.ForeignKey(Volet, on_delete=models.PROTECT, related_name="expenses")
    action_sheet = models.ForeignKey(
        ActionSheet,
        verbose_name="fiche action",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expenses",
    )
    section = models.ForeignKey(
        BudgetSection,
        verbose_name="rubrique",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expenses",
    )
    nature = models.CharField("catégorie", max_length=40, choices=ExpenseNature.choices)
    label = models.CharField("nature de la dépense", max_length=300)
    unit = models.CharField("unité", max_length=100, blank=True)
    quantity = models.DecimalField("nombre d'unités", max_digits=12, decimal_places=2, null=True, blank=True)
    unit_cost = MoneyField("coût unitaire", null=True, blank=True)
    period_start = models.DateField("début de la période")
    period_end = models.DateField("fin de la période", null=True, blank=True)
    purpose = models.CharField("objet de la dépense", max_length=400)
    amount = MoneyField("montant")
    supporting_document = models.FileField(
        "pièce justificative", upload_to=supporting_document_path, blank=True, max_length=300
    )
    eligible = models.BooleanField("éligible au financement de l'État", default=True)
    ineligibility_reason = models.TextField("motif de non-éligibilité", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "dépense"
        ordering = ["convention", "volet__number", "period_start", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="expense_amount_positive")]

    def __str__(self):
        return f"{self.label} — {self.amount} €"

    @property
    def period_label(self):
        if self.period_end and self.period_end != self.period_start:
            return f"{self.period_start:%d/%m/%Y} – {self.period_end:%d/%m/%Y}"
        return f"{self.period_start:%d/%m/%Y}"


class PaymentKind(models.TextChoices):
    ADVANCE = "advance", "Avance"
    BALANCE = "balance", "Solde"
    OTHER = "other", "Autre versement"
    REFUND = "refund", "Reversement d'un trop-perçu"


class Payment(models.Model):
    """Versement de l'État reçu par le Département (ou reversement d'un trop-perçu)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField("type", max_length=20, choices=PaymentKind.choices)
    received_on = models.DateField("reçu le")
    amount = MoneyField("montant", help_text="Toujours positif ; un reversement est déduit des versements.")
    reference = models.CharField("référence", max_length=200, blank=True)
    note = models.TextField("commentaire", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "versement"
        ordering = ["convention", "received_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return f"{self.get_kind_display()} du {self.received_on:%d/%m/%Y} — {self.amount} €"

    @property
    def signed_amount(self):
        return -self.amount if self.kind == PaymentKind.REFUND else self.amount


class ReportKind(models.TextChoices):
    INTERIM = "interim", "Bilan intermédiaire"
    FINAL = "final", "Bilan final"


class ReportDeadline(models.Model):
    """Échéance de production d'un bilan (mise en œuvre + financier)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="report_deadlines")
    kind = models.CharField("bilan", max_length=20, choices=ReportKind.choices)
    due_on = models.DateField("à produire au plus tard le")
    period_start = models.DateField("période couverte : début", null=True, blank=True)
    period_end = models.DateField("période couverte : fin", null=True, blank=True)
    submitted_on = models.DateField("transmis le", null=True, blank=True)
    last_reminder_on = models.DateField("dernier rappel le", null=True, blank=True)

    class Meta:
        verbose_name = "échéance de bilan"
        verbose_name_plural = "échéances de bilans"
        ordering = ["convention", "due_on"]
        constraints = [
            models.UniqueConstraint(fields=["convention", "kind", "due_on"], name="unique_report_deadline")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.due_on:%d/%m/%Y}"


class ConventionLog(models.Model):
    """Trace des changements d'une convention (dépenses, versements, bilans) : qui, quand, quoi."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="log_entries")
    at = models.DateTimeField("le", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField("action", max_length=60)
    details = models.JSONField("détails", default=dict, blank=True)

    class Meta:
        verbose_name = "trace de convention"
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.action} ({self.at:%d/%m/%Y %H:%M})"
