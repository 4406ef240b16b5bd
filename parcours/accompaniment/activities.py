"""Accompagnement intensif (étape 7) : plan d'activités hebdomadaire et objectif de 15 à 20 h par semaine.

Chaque activité a des heures par semaine × un nombre de semaines, un prestataire (service du catalogue
ou texte libre) et un statut (prévue → en cours → réalisée, ou abandonnée). L'objectif hebdomadaire est
celui des réglages (``activity_target_min_hours`` / ``activity_target_max_hours``, par Département) sauf
adaptation en cours : montée en charge progressive, durée réduite ou ramenée à zéro à la demande de la
personne pour les motifs de l'article L5411-6 du Code du travail, chacune avec son motif et sa date de fin.

D'où viennent les heures du plan (sans double compte) :

- **le contrat d'engagement signé** fixe une durée hebdomadaire d'activité (``Contract.weekly_hours``).
  Le plan lit le contrat : pendant sa période (de son début à sa fin prévue, ou à sa fin effective s'il
  est terminé ou remplacé), chaque semaine compte **au moins** les heures du contrat. Les activités du plan
  détaillent le contrat : elles ne s'y ajoutent pas tant que leur somme ne le dépasse pas ; la part du
  contrat qui n'est pas encore détaillée en activités apparaît comme telle (``WeekSummary.undetailed``).
  Rien n'est écrit à la signature (le journal porte déjà ``contract_signed`` et ses heures) ; un nouveau
  contrat signé remplace l'ancien dans le plan dès son début ;
- **les activités saisies** par le référent (``plan_activity``), y compris un service du catalogue choisi
  par la recherche (``find_services``) ;
- **une prescription acceptée** par la structure : ``plan_prescription`` ajoute, dans la transaction de
  l'acceptation, l'activité du service avec ses heures hebdomadaires et ses semaines (journal
  ``activity_planned``), une seule par prescription ; une activité déjà prévue à la main pour ce service
  lui est rattachée au lieu d'être dupliquée.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from parcours.core.delays import get_delay
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.journal.transitions import Workflow, transition

from . import hours as hours_rule
from .models import (
    ActivityKind,
    ActivityStatus,
    Contract,
    ContractStatus,
    HoursAdjustment,
    HoursExemption,
    HoursTargetKind,
    PlannedActivity,
)

MAX_WEEKLY_HOURS = Decimal("35")
MAX_WEEKS = 104

ACTIVITY_WORKFLOW = Workflow(
    "Activité",
    ActivityStatus,
    {
        ActivityStatus.PLANNED: {ActivityStatus.IN_PROGRESS, ActivityStatus.DONE, ActivityStatus.ABANDONED},
        ActivityStatus.IN_PROGRESS: {ActivityStatus.DONE, ActivityStatus.ABANDONED},
        ActivityStatus.DONE: set(),
        ActivityStatus.ABANDONED: set(),
    },
)
ACTIVITY_TRANSITIONS = ACTIVITY_WORKFLOW.transitions


def _hours(value, field_name, label, *, maximum=MAX_WEEKLY_HOURS, allow_zero=False):
    if value in (None, ""):
        raise ValidationError({field_name: f"{label} : champ obligatoire."})
    try:
        hours = Decimal(str(value).replace(",", "."))
    except InvalidOperation as error:
        raise ValidationError({field_name: f"{label} : nombre d'heures invalide « {value} »."}) from error
    if hours < 0 or (hours == 0 and not allow_zero):
        raise ValidationError({field_name: f"{label} : le nombre d'heures doit être positif."})
    if maximum is not None and hours > maximum:
        raise ValidationError({field_name: f"{label} : {hours:g} h dépasse le maximum de {maximum:g} h."})
    return hours


def week_start(day):
    """Lundi de la semaine de ``day``."""
    return day - datetime.timedelta(days=day.weekday())


def activity_ends_on(activity):
    """Dernier jour de l'activité : début + nombre de semaines (moins un jour)."""
    return activity.starts_on + datetime.timedelta(weeks=activity.weeks) - datetime.timedelta(days=1)


def _counts_in_week(activity, monday):
    if activity.status == ActivityStatus.ABANDONED:
        return False
    sunday = monday + datetime.timedelta(days=6)
    return activity.starts_on <= sunday and activity_ends_on(activity) >= monday


@transaction.atomic
def plan_activity(
    beneficiary,
    *,
    author,
    kind,
    starts_on,
    label="",
    weekly_hours=None,
    weeks=None,
    service=None,
    provider="",
    prescription=None,
):
    """Ajoute une activité au plan ; un service du catalogue apporte son nom, ses heures et ses semaines.

    ``prescription`` : la prescription acceptée dont vient l'activité (voir ``plan_prescription``)."""
    if kind not in ActivityKind.values:
        raise ValidationError({"kind": f"Type d'activité inconnu : « {kind} »."})
    if service is not None:
        label = label or service.nom
        if weekly_hours in (None, "") and service.volume_horaire_hebdomadaire:
            weekly_hours = service.volume_horaire_hebdomadaire
        if weeks in (None, "") and service.nombre_semaines:
            weeks = service.nombre_semaines
        provider = provider or service.structure.nom
    label = (label or "").strip()
    if not label:
        raise ValidationError(
            {"label": "Intitulé : champ obligatoire (ou choisissez un service du catalogue)."}
        )
    if not starts_on:
        raise ValidationError({"starts_on": "Début : champ obligatoire."})
    hours = _hours(weekly_hours, "weekly_hours", "Heures par semaine")
    try:
        weeks = int(weeks)
    except (TypeError, ValueError) as error:
        raise ValidationError({"weeks": "Nombre de semaines : champ obligatoire (nombre entier)."}) from error
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationError({"weeks": f"Nombre de semaines : entre 1 et {MAX_WEEKS}."})
    activity = PlannedActivity.objects.create(
        beneficiary=beneficiary,
        kind=kind,
        label=label[:255],
        service=service,
        prescription=prescription,
        provider=(provider or "").strip()[:255],
        weekly_hours=hours,
        weeks=weeks,
        starts_on=starts_on,
        created_by=author,
    )
    record(
        beneficiary,
        EventKind.ACTIVITY_PLANNED,
        on=starts_on,
        actor=author,
        activity_id=activity.pk,
        activity_kind=kind,
        weekly_hours=hours,
        weeks=weeks,
        service_id=service.pk if service else None,
    )
    return activity


# --- services du catalogue : recherche et prescriptions acceptées -----------------------------------------

SERVICE_SEARCH_LIMIT = 20
# Nombre de semaines d'une activité venue d'un service qui ne dit pas sa durée (``nombre_semaines`` vide).
DEFAULT_SERVICE_WEEKS = 12

# Type d'activité d'un service du catalogue : d'après son type (data·inclusion), sinon sa thématique.
_KIND_BY_SERVICE_TYPE = {"formation": ActivityKind.TRAINING, "atelier": ActivityKind.WORKSHOP}
_KIND_BY_CATEGORY = {
    "se-former": ActivityKind.TRAINING,
    "lecture-ecriture-calcul": ActivityKind.TRAINING,
    "mobilite": ActivityKind.MOBILITY,
    "sante": ActivityKind.HEALTH,
    "trouver-un-emploi": ActivityKind.JOB_SEARCH,
    "preparer-sa-candidature": ActivityKind.JOB_SEARCH,
    "choisir-un-metier": ActivityKind.JOB_SEARCH,
}


def service_activity_kind(service):
    """Type d'activité d'un service du catalogue (démarches personnelles à défaut)."""
    if service.type in _KIND_BY_SERVICE_TYPE:
        return _KIND_BY_SERVICE_TYPE[service.type]
    for thematique in service.thematiques or []:
        kind = _KIND_BY_CATEGORY.get(str(thematique).split("--")[0])
        if kind:
            return kind
    return ActivityKind.PERSONAL


def visible_services():
    """Services que l'agent peut choisir : ceux que montre le catalogue (service et structure actifs)."""
    from parcours.catalogue.models import Service

    return Service.objects.active().select_related("structure")


def find_services(query, limit=SERVICE_SEARCH_LIMIT):
    """Services du catalogue dont le nom, la structure ou la description contiennent tous les mots de
    ``query`` (sans accents ni casse, comme la recherche du catalogue), ou dont c'est le numéro."""
    from parcours.catalogue.text import query_terms

    query = (query or "").strip()
    terms = query_terms(query)
    if not terms:
        return []
    services = visible_services()
    if query.isdigit():
        by_number = list(services.filter(pk=int(query)))
        if by_number:
            return by_number
    for term in terms:
        services = services.filter(search_text__contains=term)
    return list(services.order_by(F("quality_score").desc(nulls_last=True), "nom", "pk")[:limit])


@transaction.atomic
def plan_prescription(prescription, *, actor=None):
    """Prescription acceptée : l'activité du service au plan de la personne, avec les heures copiées sur la
    prescription (``volume_horaire_hebdomadaire`` × ``nombre_semaines``), dans la transaction de
    l'acceptation.

    Idempotent : une prescription n'a qu'une activité (contrainte d'unicité). Une activité prévue ou en
    cours déjà saisie à la main pour ce service lui est rattachée au lieu d'être dupliquée. Un service sans
    volume horaire n'apporte pas d'heures : aucune activité n'est créée (renvoie ``None``).
    """
    existing = PlannedActivity.objects.filter(prescription=prescription).first()
    if existing is not None:
        return existing
    hours = prescription.volume_horaire_hebdomadaire
    if not hours or hours <= 0:
        return None
    service = prescription.service
    manual = (
        PlannedActivity.objects.filter(
            beneficiary_id=prescription.beneficiary_id,
            service=service,
            prescription__isnull=True,
            status__in=[ActivityStatus.PLANNED, ActivityStatus.IN_PROGRESS],
        )
        .order_by("starts_on", "pk")
        .first()
    )
    if manual is not None:
        manual.prescription = prescription
        manual.save(update_fields=["prescription", "updated_at"])
        return manual
    answered = prescription.answered_at or timezone.now()
    weekly = min(Decimal(str(hours)).quantize(Decimal("0.1")), MAX_WEEKLY_HOURS)
    weeks = min(prescription.nombre_semaines or DEFAULT_SERVICE_WEEKS, MAX_WEEKS)
    return plan_activity(
        prescription.beneficiary,
        author=actor if actor is not None and actor.is_authenticated else None,
        kind=service_activity_kind(service),
        starts_on=prescription.start_on or timezone.localdate(answered),
        label=service.nom,
        weekly_hours=weekly,
        weeks=weeks,
        service=service,
        provider=prescription.structure.nom,
        prescription=prescription,
    )


def set_activity_status(activity, to_status, *, actor, on, actual_hours=None, outcome=""):
    """Le référent note ce qui s'est réellement passé : début, réalisation (heures réelles) ou abandon.

    Journal : ``activity_started`` au début, ``activity_status_changed`` pour les autres passages.
    """
    outcome = (outcome or "").strip()

    def apply(locked):
        if on is None or on > timezone.localdate():
            raise ValidationError({"on": "Date : obligatoire et non future."})
        if to_status == ActivityStatus.ABANDONED and not outcome:
            raise ValidationError({"outcome": "Motif de l'abandon : champ obligatoire."})
        if actual_hours not in (None, ""):
            locked.actual_hours = _hours(
                actual_hours, "actual_hours", "Heures réalisées", maximum=None, allow_zero=True
            )
        if outcome:
            locked.outcome = outcome

    return transition(
        activity,
        to_status,
        workflow=ACTIVITY_WORKFLOW,
        actor=actor,
        on=on,
        event=EventKind.ACTIVITY_STARTED
        if to_status == ActivityStatus.IN_PROGRESS
        else EventKind.ACTIVITY_STATUS_CHANGED,
        payload=lambda locked, previous: {
            "activity_id": locked.pk,
            "from_status": previous,
            "to_status": to_status,
            "actual_hours": locked.actual_hours,
        },
        apply=apply,
    )


# --- objectif hebdomadaire et adaptations ---------------------------------------------------------------


@transaction.atomic
def adjust_hours(
    beneficiary,
    *,
    author,
    kind,
    reason,
    target_hours,
    starts_on,
    ends_on,
    requested_by_person=False,
    details="",
):
    """Adapte l'objectif hebdomadaire jusqu'à une date de fin.

    - progressive : motif « montée en charge progressive », objectif inférieur au minimum (jamais zéro) ;
    - réduite : motif légal (santé, handicap, invalidité, parent isolé), objectif inférieur au minimum ;
    - zéro : motif légal et demande de la personne.

    La règle de la durée elle-même (article L5411-6 du Code du travail : zéro heure seulement pour un motif
    légal) est celle du contrat d'engagement : ``hours.weekly_duration_errors``.
    """
    departement = beneficiary.departement
    minimum = Decimal(get_delay("activity_target_min_hours", departement))
    errors = {}
    if kind not in HoursTargetKind.values:
        raise ValidationError({"kind": f"Adaptation inconnue : « {kind} »."})
    if not starts_on or not ends_on:
        errors["ends_on"] = "Début et fin de l'adaptation : champs obligatoires."
    elif ends_on < starts_on:
        errors["ends_on"] = "Fin de l'adaptation : elle doit suivre le début."
    target = _hours(
        target_hours if kind != HoursTargetKind.ZERO else 0, "target_hours", "Objectif", allow_zero=True
    )
    # Article L5411-6 : la même règle que le contrat d'engagement (zéro heure : motif légal, à la demande).
    errors.update(
        hours_rule.weekly_duration_errors(
            target,
            reason,
            minimum=minimum,
            hours_field="target_hours",
            hours_label="Objectif",
            reason_field="reason",
            reason_label="Motif",
            requested_by_person=bool(requested_by_person),
        )
    )
    # Le type d'adaptation choisi doit correspondre au motif et à l'objectif.
    if kind == HoursTargetKind.PROGRESSIVE:
        if reason != HoursExemption.PROGRESSIVE:
            errors.setdefault(
                "reason",
                "Montée en charge progressive : choisissez le motif « montée en charge progressive ».",
            )
        if not 0 < target < minimum:
            errors["target_hours"] = (
                f"Objectif : entre 0 et {minimum:g} h pour une montée en charge progressive."
            )
    elif kind == HoursTargetKind.LOWERED:
        if reason not in hours_rule.LEGAL_GROUNDS:
            errors.setdefault(
                "reason",
                "Motif : la durée ne peut être réduite hors montée en charge progressive que "
                f"{hours_rule.ZERO_HOURS_GROUNDS_TEXT}.",
            )
        if not 0 < target < minimum:
            errors["target_hours"] = f"Objectif : entre 0 et {minimum:g} h pour une durée réduite."
    if errors:
        raise ValidationError(errors)
    adjustment = HoursAdjustment.objects.create(
        beneficiary=beneficiary,
        kind=kind,
        reason=reason,
        target_hours=target,
        requested_by_person=requested_by_person,
        details=(details or "").strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        decided_by=author,
    )
    record(
        beneficiary,
        EventKind.HOURS_ADJUSTED,
        on=starts_on,
        actor=author,
        adjustment_kind=kind,
        target_hours=target,
        ends_on=ends_on,
        reason=reason,
    )
    return adjustment


def active_adjustment(adjustments, day):
    """L'adaptation en vigueur le jour ``day`` (la plus récente), parmi une liste déjà chargée."""
    current = [a for a in adjustments if a.starts_on <= day <= a.ends_on]
    return max(current, key=lambda a: (a.starts_on, a.pk)) if current else None


@dataclass
class WeekSummary:
    monday: datetime.date
    activities: list = field(default_factory=list)
    total: Decimal = Decimal(0)
    target_min: Decimal = Decimal(0)
    target_max: Decimal = Decimal(0)
    adjustment: object = None
    # Contrat signé en vigueur cette semaine, ses heures, et la part de ces heures pas encore détaillée en
    # activités (comptée dans ``total``).
    contract: object = None
    contract_hours: Decimal = Decimal(0)
    undetailed: Decimal = Decimal(0)

    @property
    def planned(self):
        """Heures des activités de la semaine (sans la part non détaillée du contrat)."""
        return self.total - self.undetailed

    @property
    def status(self):
        """``below`` (sous l'objectif), ``within`` ou ``above`` (au-delà du maximum)."""
        if self.total < self.target_min:
            return "below"
        if self.total > self.target_max:
            return "above"
        return "within"

    @property
    def missing(self):
        return max(self.target_min - self.total, Decimal(0))


def contract_period(contract):
    """Période pendant laquelle les heures d'un contrat signé comptent : (début, dernier jour ou None)."""
    starts_on = contract.starts_on or contract.signed_on
    ends = [day for day in (contract.ends_on, contract.ended_on) if day is not None]
    return starts_on, (min(ends) if ends else None)


def _signed_contracts(beneficiary, first, last):
    """Contrats signés (en cours ou terminés depuis) dont la période croise les semaines [first, last[."""
    contracts = (
        Contract.objects.filter(
            beneficiary=beneficiary,
            status__in=[ContractStatus.SIGNED, ContractStatus.ENDED],
            signed_on__isnull=False,
            weekly_hours__gt=0,
        )
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
        .only("pk", "kind", "status", "weekly_hours", "starts_on", "signed_on", "ends_on", "ended_on")
    )
    found = []
    for contract in contracts:
        starts_on, ends_on = contract_period(contract)
        if starts_on < last and (ends_on is None or ends_on >= starts_on):
            contract.period = (starts_on, ends_on)
            found.append(contract)
    return found


def _contract_in_week(contracts, monday):
    """Le contrat en vigueur dans la semaine : le plus récemment commencé (un nouveau contrat remplace
    l'ancien dès la semaine de son début)."""
    sunday = monday + datetime.timedelta(days=6)
    current = [
        c for c in contracts if c.period[0] <= sunday and (c.period[1] is None or c.period[1] >= monday)
    ]
    return max(current, key=lambda c: (c.period[0], c.signed_on, c.pk)) if current else None


def weekly_plan(beneficiary, start, weeks=4, *, activities=None, adjustments=None):
    """Semaines à partir de celle de ``start`` : activités, heures du contrat signé, total d'heures et
    objectif (trois requêtes). Le total d'une semaine couverte par un contrat signé est le plus grand des
    deux : heures du contrat, ou somme des activités (voir l'en-tête du module).

    ``activities`` / ``adjustments`` : toutes les activités (``activity_plan``) et adaptations de la
    personne, déjà lues par la page ; elles ne sont alors pas relues (une requête, celle du contrat)."""
    departement = beneficiary.departement
    default_min = Decimal(get_delay("activity_target_min_hours", departement))
    default_max = Decimal(get_delay("activity_target_max_hours", departement))
    first = week_start(start)
    last = first + datetime.timedelta(weeks=weeks)
    if activities is None:
        activities = list(
            PlannedActivity.objects.filter(beneficiary=beneficiary, starts_on__lt=last)
            .exclude(status=ActivityStatus.ABANDONED)
            .select_related("service")
        )
    else:
        activities = [a for a in activities if a.starts_on < last and a.status != ActivityStatus.ABANDONED]
    if adjustments is None:
        adjustments = list(HoursAdjustment.objects.filter(beneficiary=beneficiary, ends_on__gte=first))
    else:
        adjustments = [a for a in adjustments if a.ends_on >= first]
    contracts = _signed_contracts(beneficiary, first, last)
    summaries = []
    for index in range(weeks):
        monday = first + datetime.timedelta(weeks=index)
        week = WeekSummary(monday=monday)
        week.activities = [a for a in activities if _counts_in_week(a, monday)]
        planned = sum((a.weekly_hours for a in week.activities), Decimal(0))
        week.contract = _contract_in_week(contracts, monday)
        if week.contract is not None:
            week.contract_hours = week.contract.weekly_hours
            week.undetailed = max(week.contract_hours - planned, Decimal(0))
        week.total = planned + week.undetailed
        # L'adaptation en vigueur le lundi (ou commençant dans la semaine) fixe l'objectif.
        week.adjustment = active_adjustment(adjustments, monday) or active_adjustment(
            adjustments, monday + datetime.timedelta(days=6)
        )
        if week.adjustment is not None:
            week.target_min = week.target_max = week.adjustment.target_hours
        else:
            week.target_min, week.target_max = default_min, default_max
        summaries.append(week)
    return summaries


def activity_plan(beneficiary):
    """Toutes les activités de la personne (y compris réalisées et abandonnées), avec leur fin."""
    activities = list(
        PlannedActivity.objects.filter(beneficiary=beneficiary).select_related("service", "created_by")
    )
    for activity in activities:
        activity.ends_on = activity_ends_on(activity)
    return activities
