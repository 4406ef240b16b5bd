"""Comités de la gouvernance partagée : comité de pilotage (seed 000 : « un comité de pilotage sera garant des
modalités de mise en œuvre et du suivi / évaluation »), comité de suivi à l'échelle du territoire (seed 001),
comités France Travail (loi pour le plein emploi). Chaque réunion a son ordre du jour, ses présents, ses
décisions, son procès-verbal et les chiffres du tableau de bord figés à sa date."""

from django.db import models

from parcours.accounts.models import OrganisationKind


class CommitteeKind(models.TextChoices):
    STEERING = "pilotage", "Comité de pilotage"
    MONITORING = "suivi", "Comité de suivi"
    FT_DEPARTEMENTAL = "ft_departemental", "Comité France Travail départemental"
    FT_LOCAL = "ft_local", "Comité France Travail local"


class Committee(models.Model):
    departement = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="Département",
        on_delete=models.PROTECT,
        related_name="committees",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    territory = models.ForeignKey(
        "accounts.Territory",
        verbose_name="territoire",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Vide : tout le Département.",
    )
    kind = models.CharField("type", max_length=20, choices=CommitteeKind.choices)
    name = models.CharField("intitulé", max_length=200)
    purpose = models.TextField("rôle", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "comité"
        ordering = ["departement_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["departement", "name"], name="committee_unique_name"),
        ]

    def __str__(self):
        return self.name


class MemberQuality(models.TextChoices):
    ETAT = "etat", "État (préfecture, DDETS)"
    DEPARTEMENT = "departement", "Département"
    FRANCE_TRAVAIL = "france_travail", "France Travail"
    CAF = "caf", "Caisse d'allocations familiales"
    MSA = "msa", "Mutualité sociale agricole"
    MISSION_LOCALE = "mission_locale", "Mission locale"
    CAP_EMPLOI = "cap_emploi", "Cap emploi"
    COMMUNE = "commune", "Commune, CCAS"
    ASSOCIATION = "association", "Association, structure d'insertion"
    PERSON = "personne", "Représentant des personnes accompagnées"
    OTHER = "autre", "Autre partie prenante"


class CommitteeMember(models.Model):
    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="members")
    name = models.CharField("nom", max_length=200)
    quality = models.CharField("collège", max_length=20, choices=MemberQuality.choices)
    organisation = models.CharField("organisme", max_length=200, blank=True)
    position = models.CharField("fonction", max_length=200, blank=True)
    email = models.EmailField("adresse électronique", blank=True)
    is_active = models.BooleanField("membre en fonction", default=True)

    class Meta:
        verbose_name = "membre de comité"
        ordering = ["quality", "name"]

    def __str__(self):
        return self.name


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    HELD = "held", "Tenue"
    CLOSED = "closed", "Procès-verbal arrêté"
    CANCELLED = "cancelled", "Annulée"


class Meeting(models.Model):
    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField("date")
    starts_at = models.TimeField("heure", null=True, blank=True)
    place = models.CharField("lieu", max_length=300, blank=True)
    status = models.CharField(
        "statut", max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    minutes = models.TextField("relevé des échanges", blank=True)
    present = models.ManyToManyField(CommitteeMember, verbose_name="présents", blank=True, related_name="+")
    closed_on = models.DateField("procès-verbal arrêté le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "réunion de comité"
        ordering = ["-held_on", "-pk"]
        indexes = [models.Index(fields=["committee", "held_on"], name="gov_meeting_date_idx")]

    def __str__(self):
        return f"{self.committee} du {self.held_on:%d/%m/%Y}"

    @property
    def is_editable(self):
        return self.status in (MeetingStatus.PLANNED, MeetingStatus.HELD)


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField("ordre", default=0)
    title = models.CharField("point", max_length=300)
    presenter = models.CharField("présenté par", max_length=200, blank=True)

    class Meta:
        verbose_name = "point de l'ordre du jour"
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class DecisionStatus(models.TextChoices):
    OPEN = "open", "À mettre en œuvre"
    DONE = "done", "Réalisée"
    DROPPED = "dropped", "Abandonnée"


class Decision(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField("décision")
    owner = models.CharField("pilote", max_length=200, blank=True)
    due_on = models.DateField("échéance", null=True, blank=True)
    status = models.CharField(
        "suivi", max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )

    class Meta:
        verbose_name = "décision de comité"
        ordering = ["pk"]

    def __str__(self):
        return self.text[:80]


class FrozenFigures(models.Model):
    """Les chiffres du tableau de bord figés à la date de la réunion : période, périmètre, valeurs de chaque
    indicateur (clés de ``indicators.definitions``). Relire ces chiffres plus tard donne ce que le comité a vu,
    même si des flux ou des saisies ont changé l'historique depuis."""

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="figures")
    period_start = models.DateField("début de la période")
    period_end = models.DateField("fin de la période")
    scope_label = models.CharField("périmètre", max_length=200)
    values = models.JSONField("valeurs")
    computed_at = models.DateTimeField("figés le")
    computed_by = models.ForeignKey(
        "accounts.User", verbose_name="figés par", on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = "chiffres figés d'une réunion"

    def __str__(self):
        return f"Chiffres du {self.period_start:%d/%m/%Y} au {self.period_end:%d/%m/%Y}"
