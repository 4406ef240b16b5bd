"""Campagnes de reprise de contact du « stock ».

Convention État–Département 001, article 1 : « un ciblage de 100 % des personnes allocataires du RSA […]
(prise en charge en flux et reprise de contact avec l'ensemble des personnes en « stock » […]) » ; annexe A :
livrable « Reprise de stock ».

Le stock : les personnes soumises aux droits et devoirs dont le droit est versable, dans le périmètre de
l'équipe d'orientation, hors dispense en cours. Une campagne choisit parmi elles par critères (parcours ou
absence d'orientation, sans contrat d'engagement en cours, sans rendez-vous depuis N mois, territoire, droit
ouvert avant une date), **fige** la liste à sa création, invite ses personnes par les invitations ordinaires
(``invitations.invite_many``, un canal au choix) et lit ses résultats dans le journal des parcours depuis sa
date de création (invitées, réponses, rendez-vous honorés, orientées, contrats signés) : rien n'est recopié.
"""

import datetime
from dataclasses import asdict, dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind, Territory
from parcours.beneficiaries.models import NO_EMAIL, NO_PHONE, NO_POSTAL_ADDRESS, Beneficiary
from parcours.core.text import plural
from parcours.journal.models import Event, EventKind

from . import permissions
from .common import default_today
from .invitations import invite_many
from .models import (
    Appointment,
    Attendance,
    Channel,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    OrientationExemption,
    Pathway,
    ReferentAssignment,
    StockCampaign,
    StockCampaignMember,
)
from .queues import stock_without_orientation

NO_PATHWAY = "sans_orientation"
PATHWAY_CHOICES = [("", "Tous"), (NO_PATHWAY, "Sans orientation ni référent"), *Pathway.choices]

#: Invitations envoyées par clic « Inviter » (le reste attend le clic suivant : la page répond vite).
INVITE_BATCH = 500

# Résultats d'une campagne : (clé, libellé, types d'événements lus dans le journal depuis la création).
RESULTS = (
    ("invited", "Invitées", (EventKind.INVITED,)),
    ("answered", "Ont répondu", (EventKind.INVITATION_ANSWERED,)),
    ("appointment_held", "Rendez-vous honoré", (EventKind.APPOINTMENT_HELD,)),
    ("oriented", "Orientées", (EventKind.ORIENTED, EventKind.REORIENTED)),
    ("contract_signed", "Contrat signé", (EventKind.CONTRACT_SIGNED,)),
)
RESULT_LABELS = {key: label for key, label, _kinds in RESULTS}


@dataclass(frozen=True)
class Criteria:
    """Critères de sélection d'une campagne (gardés en JSON sur la campagne)."""

    pathway: str = ""  # "" : tous ; NO_PATHWAY ; ou un parcours de l'orientation en vigueur
    no_contract: bool = False
    no_appointment_months: int | None = None
    territory_id: int | None = None
    right_opened_before: datetime.date | None = None

    def to_json(self):
        data = asdict(self)
        if self.right_opened_before:
            data["right_opened_before"] = self.right_opened_before.isoformat()
        return data

    @classmethod
    def from_json(cls, data):
        data = dict(data or {})
        opened = data.get("right_opened_before")
        if opened:
            data["right_opened_before"] = datetime.date.fromisoformat(opened)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def describe(self, territories=None):
        """Les critères en phrases françaises (page de la campagne, export)."""
        parts = []
        if self.pathway == NO_PATHWAY:
            parts.append("sans orientation ni référent en cours")
        elif self.pathway:
            parts.append(f"parcours {Pathway(self.pathway).label.lower()}")
        if self.no_contract:
            parts.append("sans contrat d'engagement en cours")
        if self.no_appointment_months:
            parts.append(f"sans rendez-vous depuis {plural(self.no_appointment_months, 'mois', 'mois')}")
        if self.territory_id:
            names = territories or {}
            name = names.get(self.territory_id) or Territory.objects.filter(pk=self.territory_id).first()
            parts.append(f"territoire : {name or 'inconnu'}")
        if self.right_opened_before:
            parts.append(f"droit ouvert avant le {self.right_opened_before:%d/%m/%Y}")
        return parts or ["tout le stock"]


def stock(scope, today=None):
    """Le stock d'un périmètre : soumis aux droits et devoirs, droit versable, non anonymisé, sans dispense en
    cours (les dispensés ne sont pas recontactés tant que la dispense court)."""
    today = default_today(today)
    exempt = OrientationExemption.objects.filter(beneficiary=OuterRef("pk"), starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )
    return scope.filter(is_sdd=True, rsa_state="2", anonymised_on__isnull=True).filter(~Exists(exempt))


def select(scope, criteria, today=None):
    """Les personnes du stock de ``scope`` qui remplissent ``criteria``, triées par nom."""
    from parcours.accompaniment.models import Contract, ContractStatus

    today = default_today(today)
    people = stock(scope, today)
    if criteria.pathway == NO_PATHWAY:
        people = stock_without_orientation(people)
    elif criteria.pathway:
        people = people.filter(
            Exists(
                OrientationDecision.objects.filter(
                    beneficiary=OuterRef("pk"), is_current=True, pathway=criteria.pathway
                )
            )
        )
    if criteria.no_contract:
        signed = Contract.objects.filter(beneficiary=OuterRef("pk"), status=ContractStatus.SIGNED)
        people = people.filter(~Exists(signed))
    if criteria.no_appointment_months:
        cutoff = today - relativedelta(months=criteria.no_appointment_months)
        since = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
        recent = Appointment.objects.filter(
            beneficiary=OuterRef("pk"),
            starts_at__gte=since,
            attendance__in=[Attendance.PLANNED, Attendance.SEEN],
        )
        people = people.filter(~Exists(recent))
    if criteria.territory_id:
        people = people.filter(territory_id=criteria.territory_id)
    if criteria.right_opened_before:
        people = people.filter(household__right__opened_on__lt=criteria.right_opened_before)
    return people.order_by("last_name", "first_name", "pk")


def with_situation(people):
    """Ajoute à chaque personne ce que montre l'aperçu : parcours en vigueur, dernier rendez-vous, ouverture du
    droit (sous-requêtes : nombre de requêtes indépendant du nombre de lignes)."""
    pathway = OrientationDecision.objects.filter(beneficiary=OuterRef("pk"), is_current=True).values(
        "pathway"
    )
    last_appointment = (
        Appointment.objects.filter(beneficiary=OuterRef("pk"))
        .exclude(attendance=Attendance.CANCELLED)
        .order_by("-starts_at")
        .values("starts_at")
    )
    referent = ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True)
    return people.select_related("territory", "household__right").annotate(
        current_pathway=Subquery(pathway[:1]),
        last_appointment_at=Subquery(last_appointment[:1]),
        has_referent=Exists(referent),
    )


def campaign_departements(user):
    """Départements où l'agent peut mener une campagne (équipe d'orientation ; tous pour le super-utilisateur)."""
    if getattr(user, "is_superuser", False):
        return list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("name"))
    return permissions.team_departements(user)


def campaign_scope(user, departement):
    """Les personnes que l'agent peut mettre dans une campagne du Département : son périmètre d'équipe
    d'orientation (Département, et territoire de son appartenance s'il y en a un)."""
    return permissions.team_scope(user).filter(departement=departement)


def visible_campaigns(user):
    """Campagnes des Départements dont l'agent est de l'équipe d'orientation."""
    if user.is_superuser:
        return StockCampaign.objects.all()
    return StockCampaign.objects.filter(departement__in=[d.pk for d in campaign_departements(user)])


def _require_team(user, departement):
    if user.is_superuser:
        return
    if departement.pk not in {d.pk for d in campaign_departements(user)}:
        raise PermissionDenied(
            "Campagnes de reprise de contact : réservées à l'équipe d'orientation du Département."
        )


@transaction.atomic
def create_campaign(*, user, departement, name, criteria, today=None):
    """Crée la campagne et **fige** sa liste : les personnes qui remplissent les critères ce jour-là."""
    _require_team(user, departement)
    today = default_today(today)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Donnez un nom à la campagne."})
    ids = list(select(campaign_scope(user, departement), criteria, today).values_list("pk", flat=True))
    if not ids:
        raise ValidationError(
            "Aucune personne du stock ne remplit ces critères : la campagne n'est pas créée."
        )
    campaign = StockCampaign.objects.create(
        departement=departement,
        name=name[:200],
        criteria=criteria.to_json(),
        created_on=today,
        created_by=user if getattr(user, "pk", None) else None,
    )
    StockCampaignMember.objects.bulk_create(
        [StockCampaignMember(campaign=campaign, beneficiary_id=pk) for pk in ids], batch_size=1000
    )
    return campaign


def criteria_of(campaign):
    return Criteria.from_json(campaign.criteria)


def _since_campaign(kinds, since):
    """Vrai si la personne du membre a un événement de ``kinds`` depuis la création de sa campagne.

    ``since`` : le plus ancien jour de création des campagnes lues. Les personnes qui ont un tel événement
    depuis ce jour sont lues une fois par l'index des événements (type, date) et gardées en table de
    hachage ; la date de sa campagne n'est cherchée dans le journal que pour elles, au lieu de l'être pour
    chacune des dizaines de milliers de personnes d'une campagne sur le stock (page des campagnes à 150 000 :
    790 → 46 ms avec les connexions sans JIT)."""
    candidates = Event.objects.filter(kind__in=kinds, occurred_on__gte=since).values("beneficiary_id")
    exact = Exists(
        Event.objects.filter(
            beneficiary_id=OuterRef("beneficiary_id"),
            kind__in=kinds,
            occurred_on__gte=OuterRef("campaign__created_on"),
        )
    )
    return ExpressionWrapper(Q(beneficiary_id__in=candidates) & Q(exact), output_field=BooleanField())


def members_with_results(campaign):
    """Les personnes de la campagne, chacune avec ses résultats lus dans le journal depuis la création."""
    members = StockCampaignMember.objects.filter(campaign=campaign).select_related(
        "beneficiary", "beneficiary__territory"
    )
    annotations = {key: _since_campaign(kinds, campaign.created_on) for key, _label, kinds in RESULTS}
    return members.annotate(**annotations).order_by("beneficiary__last_name", "beneficiary__first_name", "pk")


def results(campaigns):
    """Résultats de chaque campagne : ``{campaign_id: {"members": n, "invited": n, …}}`` (une requête pour
    toutes les campagnes ; chaque résultat compte les personnes avec au moins un événement du type depuis la
    création de la campagne)."""
    ids = [c.pk for c in campaigns]
    if not ids:
        return {}
    oldest = min(c.created_on for c in campaigns)
    flags = {f"has_{key}": _since_campaign(kinds, oldest) for key, _label, kinds in RESULTS}
    sums = {
        key: Sum(Cast(f"has_{key}", output_field=IntegerField()), default=0)
        for key, _label, _kinds in RESULTS
    }
    rows = (
        StockCampaignMember.objects.filter(campaign_id__in=ids)
        .annotate(**flags)
        .values("campaign_id")
        .annotate(members=Count("pk"), **sums)
        .order_by()
    )
    found = {row.pop("campaign_id"): row for row in rows}
    empty = {"members": 0, **{key: 0 for key, _label, _kinds in RESULTS}}
    return {pk: found.get(pk, dict(empty)) for pk in ids}


def rates(result):
    """Part de chaque résultat parmi les personnes de la campagne (None sans personne)."""
    total = result["members"]
    return {key: (result[key] / total if total else None) for key, _label, _kinds in RESULTS}


def result_rows(result):
    """(clé, libellé, nombre, part) de chaque résultat, dans l'ordre des étapes (pages)."""
    shares = rates(result)
    return [(key, label, result[key], shares[key]) for key, label, _kinds in RESULTS]


def member_flags(member):
    """Résultats d'une personne de la campagne (annotations de ``members_with_results``), dans l'ordre."""
    return [bool(getattr(member, key)) for key, _label, _kinds in RESULTS]


def contact_gaps(campaign):
    """Coordonnées manquantes parmi les personnes de la campagne (sans courriel, sans téléphone, sans adresse
    postale complète) : ce qu'il faut savoir avant de choisir le canal."""
    people = StockCampaignMember.objects.filter(campaign=campaign)

    def missing(condition):
        # Les personnes sans la coordonnée, lues par leur index partiel (pas de jointure à la table des personnes).
        return Count("pk", filter=Q(beneficiary_id__in=Beneficiary.objects.filter(condition).values("pk")))

    return people.aggregate(
        no_email=missing(NO_EMAIL), no_phone=missing(NO_PHONE), no_address=missing(NO_POSTAL_ADDRESS)
    )


def to_invite(campaign, user):
    """Personnes de la campagne encore dans le périmètre de l'agent et sans invitation depuis la création de
    la campagne (une invitation en échec ne compte pas : la personne peut être invitée par un autre canal)."""
    invited = Invitation.objects.filter(
        beneficiary=OuterRef("pk"), created_on__gte=campaign.created_on
    ).exclude(status=InvitationStatus.FAILED)
    members = StockCampaignMember.objects.filter(campaign=campaign).values("beneficiary_id")
    return (
        campaign_scope(user, campaign.departement)
        .filter(pk__in=members)
        .filter(~Exists(invited))
        .order_by("last_name", "first_name", "pk")
    )


def _missing_contact(channel):
    """Filtre des personnes sans la coordonnée qu'exige le canal (le service d'invitation le vérifie aussi)."""
    if channel == Channel.EMAIL:
        return NO_EMAIL
    if channel == Channel.SMS:
        return NO_PHONE
    return NO_POSTAL_ADDRESS


@dataclass
class CampaignInvitation:
    """Compte rendu d'un envoi : rapport des invitations, personnes sans coordonnée pour le canal, restant."""

    report: object
    missing: int
    missing_sample: list
    remaining: int

    @property
    def summary(self):
        text = self.report.summary
        if self.missing:
            text += f" {plural(self.missing, 'personne', 'personnes')} sans coordonnée pour ce canal."
        if self.remaining:
            text += (
                f" Reste à inviter : {plural(self.remaining, 'personne', 'personnes')} (cliquez à nouveau)."
            )
        return text


def invite_campaign(campaign, *, channel, user, today=None, batch=None):
    """Invite en nombre les personnes de la campagne pas encore invitées, par les invitations ordinaires
    (``invitations.invite_many`` : coordonnées vérifiées, journal, relances), au plus ``batch`` par appel.
    Les personnes sans la coordonnée du canal (courriel, téléphone, adresse) ne sont pas invitées : elles
    sont comptées et nommées dans le compte rendu, pour un autre canal."""
    _require_team(user, campaign.departement)
    if channel not in Channel.values:
        raise ValidationError("Choisissez un canal d'invitation.")
    batch = batch or INVITE_BATCH
    pending = to_invite(campaign, user)
    lacking = pending.filter(_missing_contact(channel))
    missing = lacking.count()
    sample = list(lacking[:20])
    eligible = pending.exclude(_missing_contact(channel)).select_related("departement")
    people = list(eligible[:batch])
    report = invite_many(people, channel=channel, author=user, today=today)
    remaining = max(eligible.count() - len(report.skipped), 0)
    return CampaignInvitation(report, missing, sample, remaining)
