"""Indicateurs de pilotage (annexe 4 de la convention 002, annexe D de 001, DOMAIN.md) : chaque définition
est écrite **une fois**, ici, et lue par le tableau de bord, les exports, la commande ``parcours indicators``
et le banc d'essai.

Tout part du journal des parcours (``parcours.journal.Event``) et, pour les contrats et les suivis, des
tables d'état datées (``Contract.signed_on`` / ``ended_on``, ``FollowUp.started_on`` / ``ended_on``).
Les requêtes passent par l'ORM de Django (SQLite et PostgreSQL) : la base cherche, en une requête groupée,
pour chaque nouvel entrant de la période, la date de ses premiers événements utiles (orientation notifiée,
entretien, référent, contrat) ; Python ne fait ensuite que compter ces lignes et prendre les médianes.
Les mêmes requêtes peuvent être exécutées par un autre moteur (DuckDB sur un export Parquet :
``engines.py``) : elles ne sont écrites qu'une fois.

Conventions (CONTRACTS.md) : un comptage sur rien vaut 0 ; un taux ou un délai dont la population est
vide vaut ``None`` (jamais 0). Un nouvel entrant appartient à la période qui contient son T0.
"""

import contextvars
import datetime
import json
import statistics
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, router, transaction
from django.db.models import CharField, Count, Exists, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat

from parcours.accompaniment.models import (
    Contract,
    ContractKind,
    EmploymentCheck,
    EmploymentContract,
    Exit,
    ExitReason,
)
from parcours.accompaniment.services import min_weekly_hours
from parcours.accounts.models import Organisation
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.core.delays import get_delay
from parcours.journal.models import Event, EventKind
from parcours.orientation.models import Pathway

# --- événements du journal lus par les indicateurs ------------------------------------------------------

NEW_ENTRANT = EventKind.NEW_ENTRANT
ORIENTATION_KINDS = (EventKind.ORIENTED, EventKind.REORIENTED)  # occurred_on = date de notification
ORIENTATION_CANCELLED = EventKind.ORIENTATION_CANCELLED
APPOINTMENT_HELD = EventKind.APPOINTMENT_HELD
REFERENT_ASSIGNED = EventKind.REFERENT_ASSIGNED
CONTRACT_SIGNED = EventKind.CONTRACT_SIGNED
DIAGNOSED = EventKind.DIAGNOSED
# Premières actions d'accompagnement après le diagnostic : contrat signé, prescription acceptée par une
# structure (catalogue), activité commencée.
FIRST_ACTION_KINDS = (CONTRACT_SIGNED, "prescription_accepted", "activity_started")
# Sortie du dispositif : droit clos, fin de la soumission aux droits et devoirs (journal), sortie qualifiée
# (``accompaniment.Exit``, avec l'emploi, le contrat de travail et la vérification à 6 mois).
EXIT_EVENT_KINDS = (EventKind.RIGHT_CLOSED, EventKind.LEFT_SDD)
EMPLOYMENT_EXIT_REASONS = (ExitReason.EMPLOYMENT, ExitReason.BUSINESS)

NOT_ORIENTED = "non_oriente"
PATHWAY_KEYS = (Pathway.EMPLOI, Pathway.SOCIO_PROFESSIONNEL, Pathway.SOCIAL)
CONTRACT_KEYS = (ContractKind.CER, ContractKind.PPAE, ContractKind.CONTRAT_ENGAGEMENT)
EMPLOYMENT_CONTRACT_KEYS = (*EmploymentContract.values, ExitReason.BUSINESS.value, "autre")


# --- définitions documentées ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    id: str
    label: str
    kind: str  # "count", "rate", "delay", "breakdown"
    text: str
    source: str = "annexe 4 (convention 002)"


DEFINITIONS = [
    Definition(
        "nouveaux_entrants",
        "Nouveaux entrants",
        "count",
        "Personnes entrées dans le public des droits et devoirs selon les trois critères cumulatifs de "
        "l'annexe 4 (droit versable, soumis aux droits et devoirs et pas au flux précédent, pas de suivi en "
        "cours), dont le T0 (date de réception du flux CAF/MSA par le Département) tombe dans la période. "
        "Une personne suspendue moins de 12 mois qui reprend avec son référent n'est pas un nouvel entrant ; "
        "au-delà de 12 mois de suspension, elle l'est.",
    ),
    Definition(
        "nouveaux_entrants_orientes_15j",
        "Nouveaux entrants orientés dans les 15 jours",
        "count",
        "Nouveaux entrants de la période dont l'orientation a été notifiée (courrier envoyé ou référent "
        "désigné) au plus tard à T0 + 14 jours, T0 comptant comme jour 1. Exemple de l'annexe 4 : droit "
        "ouvert le 08/02, flux reçu le 01/03 (T0) : orienté à temps si notifié avant le 16/03 (le 15/03 "
        "est à temps, le 16/03 en retard). L'objectif (15 jours) est un réglage par Département. Une "
        "orientation annulée ne compte pas.",
    ),
    Definition(
        "taux_orientation_15j",
        "Part des nouveaux entrants orientés dans les 15 jours",
        "rate",
        "Nouveaux entrants orientés dans les 15 jours / nouveaux entrants de la période. Vide s'il n'y a "
        "aucun nouvel entrant.",
    ),
    Definition(
        "delai_median_t0_orientation_jours",
        "Délai médian entre T0 et la notification de l'orientation (jours)",
        "delay",
        "Pour les nouveaux entrants de la période déjà orientés : médiane du nombre de jours entre T0 et "
        "la première orientation notifiée depuis T0 (0 = notifiée le jour même). Vide si aucun n'est "
        "orienté.",
    ),
    Definition(
        "delai_median_ouverture_droit_premier_entretien_jours",
        "Délai médian entre l'ouverture du droit et le premier entretien (jours)",
        "delay",
        "Pour les nouveaux entrants de la période qui ont eu un entretien (rendez-vous honoré) depuis "
        "T0 : médiane du nombre de jours entre la date d'ouverture du droit RSA et ce premier entretien.",
        "annexe 4, annexe D",
    ),
    Definition(
        "delai_median_diagnostic_premiere_action_jours",
        "Délai médian entre le diagnostic et la première action d'accompagnement (jours)",
        "delay",
        "Pour les personnes dont le premier diagnostic socio-professionnel a eu lieu dans la période et "
        "qui ont depuis une action d'accompagnement (contrat signé, prescription acceptée, activité "
        "commencée) : médiane du nombre de jours entre le diagnostic et cette première action.",
        "annexe D (convention 001)",
    ),
    Definition(
        "repartition_parcours",
        "Répartition des nouveaux entrants par parcours",
        "breakdown",
        "Nouveaux entrants de la période selon le parcours de leur première orientation notifiée depuis T0 "
        "(emploi, socio-professionnel, social), ou « non orienté ».",
    ),
    Definition(
        "contrats_signes",
        "Contrats signés",
        "breakdown",
        "Contrats signés dans la période, par type : CER, PPAE, contrat d'engagement (loi pour le plein "
        "emploi).",
    ),
    Definition(
        "part_accompagnement_intensif",
        "Part en accompagnement intensif",
        "rate",
        "Parmi les personnes dont un contrat est en cours le dernier jour de la période, part de celles "
        "dont le contrat prévoit au moins 15 heures d'activité par semaine (seuil réglable). Vide si aucun "
        "contrat n'est en cours.",
        "annexe D (convention 001)",
    ),
    Definition(
        "sortants",
        "Sortants",
        "count",
        "Personnes sorties du dispositif dans la période : droit clos, fin de la soumission aux droits et "
        "devoirs, ou sortie qualifiée (emploi, formation, autre prestation…). Une personne comptée une fois.",
    ),
    Definition(
        "retours_emploi",
        "Retours à l'emploi",
        "count",
        "Personnes sorties vers l'emploi dans la période (sortie qualifiée « emploi salarié » ou « création "
        "d'entreprise ») ; le détail par type "
        "de contrat de travail est donné à part.",
        "annexe D (convention 001)",
    ),
    Definition(
        "taux_retour_emploi_durable_6m",
        "Taux de retour à l'emploi durable (6 mois)",
        "rate",
        "Parmi les personnes sorties vers l'emploi dans la période dont la situation a été vérifiée 6 mois "
        "après, part de celles en emploi durable (CDI ou contrat d'au moins 6 mois). Vide si aucune "
        "vérification à 6 mois n'est encore connue.",
        "annexe D (convention 001)",
    ),
    Definition(
        "beneficiaires_suivis",
        "Bénéficiaires suivis",
        "count",
        "Personnes ayant un suivi en cours (orientation connue ou référent désigné) le dernier jour de la "
        "période.",
        "annexe D (convention 001)",
    ),
    # Compléments (clés ajoutées au contrat, même règle du vide) -------------------------------------------
    Definition(
        "delai_median_orientation_contrat_jours",
        "Délai médian entre l'orientation et le contrat (jours)",
        "delay",
        "Pour les nouveaux entrants de la période orientés puis sous contrat : médiane du nombre de jours "
        "entre la notification de l'orientation et la signature du premier contrat (objectif : 1 mois).",
        "Code du travail D5411-14-1",
    ),
    Definition(
        "part_nouveaux_entrants_avec_referent",
        "Part des nouveaux entrants avec un référent",
        "rate",
        "Nouveaux entrants de la période à qui un référent unique a été désigné depuis T0 / nouveaux entrants.",
    ),
    Definition(
        "part_nouveaux_entrants_avec_contrat",
        "Part des nouveaux entrants avec un contrat signé",
        "rate",
        "Nouveaux entrants de la période ayant signé un contrat depuis T0 / nouveaux entrants.",
    ),
    Definition(
        "distribution_delai_t0_orientation",
        "Distribution des délais d'orientation",
        "breakdown",
        "Nouveaux entrants de la période par délai entre T0 et la notification de l'orientation : dans "
        "l'objectif (15 jours), au-delà de l'objectif mais dans le délai légal (6 semaines), au-delà du "
        "délai légal, pas encore orienté.",
    ),
    Definition(
        "retours_emploi_par_contrat",
        "Retours à l'emploi par type de contrat",
        "breakdown",
        "Sorties vers l'emploi de la période par type de contrat de travail.",
        "annexe D (convention 001)",
    ),
]
DEFINITIONS_BY_ID = {d.id: d for d in DEFINITIONS}
INDICATOR_IDS = [d.id for d in DEFINITIONS]

DELAY_BUCKETS = ("objectif", "delai_legal", "au_dela", "non_oriente")
DELAY_BUCKET_LABELS = {
    "objectif": "Dans l'objectif",
    "delai_legal": "Dans le délai légal",
    "au_dela": "Au-delà du délai légal",
    "non_oriente": "Pas encore orienté",
}


# --- périmètre ------------------------------------------------------------------------------------------


def beneficiary_scope(*, departement=None, territory=None, base=None):
    """Ensemble de bénéficiaires sur lequel calculer : ``base`` (ex. ``visible_to(user)``, défaut : tous),
    restreint au Département et au territoire donnés."""
    scope = Beneficiary.objects.all() if base is None else base
    if departement is not None:
        scope = scope.filter(departement=departement)
    if territory is not None:
        scope = scope.filter(territory=territory)
    return scope


def check_period(start, end):
    if start is None or end is None:
        raise ValueError("Période : indiquez une date de début et une date de fin.")
    if end < start:
        raise ValueError("Période : la date de fin précède la date de début.")


# --- moteurs : la même requête (QuerySet) exécutée par Django ou par un autre moteur ---------------------


class DjangoEngine:
    """Exécute les requêtes sur la base de Django (SQLite ou PostgreSQL)."""

    name = "django"

    def rows(self, queryset):
        return list(queryset)

    def count(self, queryset):
        return queryset.count()


DJANGO_ENGINE = DjangoEngine()
_ENGINE = contextvars.ContextVar("indicators_engine", default=None)


def _engine():
    return _ENGINE.get() or DJANGO_ENGINE


def _rows(queryset):
    return _engine().rows(queryset)


def _count(queryset):
    return _engine().count(queryset)


def _events(scope):
    return Event.objects.filter(beneficiary__in=scope.order_by().values("pk"))


def _ratio(numerator, denominator):
    return None if not denominator else numerator / denominator


def _median(values):
    return None if not values else statistics.median(values)


# --- nouveaux entrants : une requête, une ligne par entrée ----------------------------------------------


def notified_orientations():
    """Orientations notifiées (première orientation ou réorientation) dont la décision n'a pas été annulée."""
    cancelled = Event.objects.filter(
        beneficiary_id=OuterRef("beneficiary_id"),
        kind=ORIENTATION_CANCELLED,
        payload__decision_id=OuterRef("payload__decision_id"),
    )
    return Event.objects.filter(kind__in=ORIENTATION_KINDS).filter(~Exists(cancelled))


def _first_since_t0(events, field="occurred_on"):
    """Sous-requête : ``field`` (nom ou expression) du premier de ``events`` depuis le T0 de l'entrée."""
    events = events.filter(
        beneficiary_id=OuterRef("beneficiary_id"), occurred_on__gte=OuterRef("occurred_on")
    ).order_by("occurred_on", "pk")
    values = events.values(field) if isinstance(field, str) else events.values(value=field)
    return Subquery(values[:1])


@dataclass(slots=True)
class Entry:
    """Un nouvel entrant de la période et les dates de ses premières étapes depuis T0."""

    beneficiary_id: int
    t0: datetime.date
    departement_id: int
    territory_id: int | None
    right_opened_on: datetime.date | None
    oriented_on: datetime.date | None
    pathway: str | None
    first_appointment_on: datetime.date | None
    referent_on: datetime.date | None
    contract_on: datetime.date | None

    @property
    def orientation_days(self):
        return None if self.oriented_on is None else (self.oriented_on - self.t0).days


J = "beneficiary__events__"  # les événements de la même personne (jointure)
COHORT_KINDS = (
    NEW_ENTRANT,
    *ORIENTATION_KINDS,
    ORIENTATION_CANCELLED,
    APPOINTMENT_HELD,
    REFERENT_ASSIGNED,
    CONTRACT_SIGNED,
)


def _first_after_t0(kinds, expression=None):
    """Agrégat : plus petite valeur (par défaut la date) des événements ``kinds`` de la personne depuis T0."""
    since = Q(**{f"{J}occurred_on__gte": F("occurred_on"), f"{J}kind__in": kinds})
    return Min(expression or f"{J}occurred_on", filter=since)


def new_entrant_cohort(scope, start, end):
    """Les entrées (événements ``new_entrant``) dont le T0 tombe dans la période, avec leurs étapes.

    Une seule requête groupée : chaque entrée est jointe aux événements de la personne depuis son T0, et
    la base prend la première date de chaque étape. La première orientation et son parcours viennent
    ensemble (``AAAA-MM-JJ|parcours``, le plus petit est le plus ancien). Pour les rares personnes dont une
    orientation a été annulée depuis T0, une seconde requête écarte les orientations annulées.
    """
    check_period(start, end)
    dated_pathway = Concat(
        Cast(f"{J}occurred_on", CharField()),
        Value("|"),
        Coalesce(KeyTextTransform("pathway", f"{J}payload"), Value(""), output_field=CharField()),
        output_field=CharField(),
    )
    rows = (
        _events(scope)
        .filter(kind=NEW_ENTRANT, occurred_on__gte=start, occurred_on__lte=end)
        # Les seuls événements utiles de la personne, depuis T0 (l'entrée elle-même en fait partie).
        .filter(**{f"{J}kind__in": COHORT_KINDS, f"{J}occurred_on__gte": F("occurred_on")})
        .order_by()
        .values(
            "pk",
            "beneficiary_id",
            "occurred_on",
            "beneficiary__departement_id",
            "beneficiary__territory_id",
            "beneficiary__household__right__opened_on",
        )
        .annotate(
            first_orientation=_first_after_t0(ORIENTATION_KINDS, dated_pathway),
            cancellations=Count(
                f"{J}pk",
                filter=Q(**{f"{J}occurred_on__gte": F("occurred_on"), f"{J}kind": ORIENTATION_CANCELLED}),
            ),
            first_appointment_on=_first_after_t0([APPOINTMENT_HELD]),
            referent_on=_first_after_t0([REFERENT_ASSIGNED]),
            contract_on=_first_after_t0([CONTRACT_SIGNED]),
        )
        .values_list(
            "pk",
            "beneficiary_id",
            "occurred_on",
            "beneficiary__departement_id",
            "beneficiary__territory_id",
            "beneficiary__household__right__opened_on",
            "first_orientation",
            "cancellations",
            "first_appointment_on",
            "referent_on",
            "contract_on",
        )
    )
    rows = _rows(rows)
    corrected = _orientations_without_cancelled([r[0] for r in rows if r[7]])
    entries = []
    for r in rows:
        if r[0] in corrected:
            oriented_on, pathway = corrected[r[0]]
        elif r[6]:
            day, _, pathway = r[6].partition("|")
            oriented_on = datetime.date.fromisoformat(day)
        else:
            oriented_on = pathway = None
        entries.append(
            Entry(
                beneficiary_id=r[1],
                t0=_as_date(r[2]),
                departement_id=r[3],
                territory_id=r[4],
                right_opened_on=_as_date(r[5]),
                oriented_on=oriented_on,
                pathway=pathway or None,
                first_appointment_on=_as_date(r[8]),
                referent_on=_as_date(r[9]),
                contract_on=_as_date(r[10]),
            )
        )
    return entries


def _as_date(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _orientations_without_cancelled(entry_pks):
    """{entrée: (date, parcours)} de la première orientation notifiée et non annulée depuis T0."""
    if not entry_pks:
        return {}
    orientations = notified_orientations()
    rows = (
        Event.objects.filter(pk__in=entry_pks)
        .order_by()
        .annotate(
            oriented_on=_first_since_t0(orientations),
            pathway=_first_since_t0(orientations, KeyTextTransform("pathway", "payload")),
        )
        .values_list("pk", "oriented_on", "pathway")
    )
    return {pk: (_as_date(oriented_on), pathway) for pk, oriented_on, pathway in _rows(rows)}


def _targets(departement_ids, *names, override=None):
    """Pour chaque délai de ``names`` : {Département: jours} (``override`` remplace le premier)."""
    rows = _rows(
        Organisation.objects.filter(pk__in=list(departement_ids))
        .order_by()
        .values_list("pk", "delay_overrides")
    )
    departements = {
        pk: Organisation(pk=pk, delay_overrides=json.loads(o) if isinstance(o, str) else (o or {}))
        for pk, o in rows
    }
    result = []
    for index, name in enumerate(names):
        if index == 0 and override is not None:
            result.append(dict.fromkeys(departement_ids, int(override)))
        else:
            result.append({pk: get_delay(name, d) for pk, d in departements.items()})
    return result


def in_time(entry, target_days):
    """Orientation notifiée au plus tard à T0 + (objectif - 1) jours : T0 compte comme jour 1."""
    return entry.oriented_on is not None and 0 <= entry.orientation_days <= target_days - 1


def cohort_indicators(entries, *, target_days=None):
    """Indicateurs des nouveaux entrants, à partir des lignes de ``new_entrant_cohort``."""
    departement_ids = {e.departement_id for e in entries}
    targets, legal = _targets(
        departement_ids, "orientation_target_days", "orientation_legal_days", override=target_days
    )
    total = len(entries)
    oriented = [e for e in entries if e.oriented_on is not None]
    in_time_count = sum(1 for e in entries if in_time(e, targets[e.departement_id]))
    pathways = dict.fromkeys([*PATHWAY_KEYS, NOT_ORIENTED], 0)
    buckets = dict.fromkeys(DELAY_BUCKETS, 0)
    for e in entries:
        pathways[e.pathway if e.pathway in pathways and e.oriented_on else NOT_ORIENTED] += 1
        if e.oriented_on is None:
            buckets["non_oriente"] += 1
        elif in_time(e, targets[e.departement_id]):
            buckets["objectif"] += 1
        elif e.orientation_days <= legal[e.departement_id] - 1:
            buckets["delai_legal"] += 1
        else:
            buckets["au_dela"] += 1
    interview_delays = [
        (e.first_appointment_on - e.right_opened_on).days
        for e in entries
        if e.first_appointment_on and e.right_opened_on
    ]
    contract_delays = [
        (e.contract_on - e.oriented_on).days
        for e in entries
        if e.oriented_on and e.contract_on and e.contract_on >= e.oriented_on
    ]
    return {
        "nouveaux_entrants": total,
        "nouveaux_entrants_orientes_15j": in_time_count,
        "taux_orientation_15j": _ratio(in_time_count, total),
        "delai_median_t0_orientation_jours": _median([e.orientation_days for e in oriented]),
        "delai_median_ouverture_droit_premier_entretien_jours": _median(interview_delays),
        "repartition_parcours": {str(k): v for k, v in pathways.items()},
        "delai_median_orientation_contrat_jours": _median(contract_delays),
        "part_nouveaux_entrants_avec_referent": _ratio(sum(1 for e in entries if e.referent_on), total),
        "part_nouveaux_entrants_avec_contrat": _ratio(sum(1 for e in entries if e.contract_on), total),
        "distribution_delai_t0_orientation": buckets,
    }


def monthly_series(entries, start, end, *, target_days=None):
    """Par mois de T0 : nouveaux entrants, orientés dans l'objectif et taux (série du tableau de bord)."""
    (targets,) = _targets(
        {e.departement_id for e in entries}, "orientation_target_days", override=target_days
    )
    months = []
    cursor = start.replace(day=1)
    while cursor <= end:
        months.append(cursor)
        cursor = (cursor + datetime.timedelta(days=32)).replace(day=1)
    series = {m: [0, 0] for m in months}
    for e in entries:
        bucket = series[e.t0.replace(day=1)]
        bucket[0] += 1
        bucket[1] += in_time(e, targets[e.departement_id])
    return [
        {
            "mois": m.strftime("%Y-%m"),
            "nouveaux_entrants": n,
            "nouveaux_entrants_orientes_15j": ok,
            "taux_orientation_15j": _ratio(ok, n),
        }
        for m, (n, ok) in series.items()
    ]


# --- autres indicateurs ----------------------------------------------------------------------------------


def diagnostic_to_first_action_days(scope, start, end):
    """Délais (jours) entre le premier diagnostic de la personne, s'il tombe dans la période, et la première
    action d'accompagnement qui le suit (une requête groupée, comme pour les nouveaux entrants)."""
    rows = (
        _events(scope)
        .filter(kind=DIAGNOSED, occurred_on__gte=start, occurred_on__lte=end)
        .filter(**{f"{J}kind__in": (DIAGNOSED, *FIRST_ACTION_KINDS)})
        .order_by()
        .values("pk", "beneficiary_id", "occurred_on")
        .annotate(
            earlier=Count(
                f"{J}pk", filter=Q(**{f"{J}kind": DIAGNOSED, f"{J}occurred_on__lt": F("occurred_on")})
            ),
            action_on=Min(
                f"{J}occurred_on",
                filter=Q(**{f"{J}kind__in": FIRST_ACTION_KINDS, f"{J}occurred_on__gte": F("occurred_on")}),
            ),
        )
        .filter(earlier=0, action_on__isnull=False)
        .values_list("beneficiary_id", "occurred_on", "action_on")
    )
    first = {}
    for beneficiary_id, diagnosed_on, action_on in _rows(rows):  # deux versions le même jour : une personne
        first.setdefault(beneficiary_id, (_as_date(action_on) - _as_date(diagnosed_on)).days)
    return list(first.values())


def exits(scope, start, end):
    """(sortants, retours à l'emploi, retours par type de contrat, taux de retour durable à 6 mois).

    Sorties : droit clos ou fin des droits et devoirs (journal), et sorties qualifiées (``Exit``)."""
    people = scope.order_by().values("pk")
    leaving = {
        r[0]
        for r in _rows(
            _events(scope)
            .filter(kind__in=EXIT_EVENT_KINDS, occurred_on__gte=start, occurred_on__lte=end)
            .order_by()
            .values_list("beneficiary_id")
            .distinct()
        )
    }
    qualified = Exit.objects.filter(beneficiary__in=people, exited_on__gte=start, exited_on__lte=end)
    rows = _rows(
        qualified.order_by("exited_on", "pk").values_list("beneficiary_id", "reason", "contract_type")
    )
    leaving.update(r[0] for r in rows)
    employment = {}
    for beneficiary_id, reason, contract in rows:
        if reason in EMPLOYMENT_EXIT_REASONS:
            employment.setdefault(beneficiary_id, contract or reason)
    by_contract = dict.fromkeys(EMPLOYMENT_CONTRACT_KEYS, 0)
    for contract in employment.values():
        by_contract[contract if contract in by_contract else "autre"] += 1
    checks = (
        EmploymentCheck.objects.filter(
            exit__in=qualified.filter(reason__in=EMPLOYMENT_EXIT_REASONS), is_six_month=True
        )
        .order_by()
        .values_list("exit__beneficiary_id", "durable", "still_employed")
    )
    outcome = {}
    for beneficiary_id, durable, still_employed in _rows(checks):
        ok = bool(durable if durable is not None else still_employed)
        outcome[beneficiary_id] = outcome.get(beneficiary_id, False) or ok
    durable_rate = _ratio(sum(1 for v in outcome.values() if v), len(outcome))
    return len(leaving), len(employment), by_contract, durable_rate


def intensive_share(scope, end):
    """Part des contrats en cours le jour ``end`` prévoyant au moins 15 h d'activité par semaine."""
    in_force = (
        Contract.objects.filter(beneficiary__in=scope.order_by().values("pk"), signed_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=end))
        .order_by()
    )
    people = _count(in_force.values("beneficiary_id").distinct())
    intensive = _count(
        in_force.filter(weekly_hours__gte=min_weekly_hours()).values("beneficiary_id").distinct()
    )
    return _ratio(intensive, people)


def contracts_signed(scope, start, end):
    """Contrats signés entre ``start`` et ``end`` inclus, par type."""
    counts = dict(
        _rows(
            Contract.objects.filter(
                beneficiary__in=scope.order_by().values("pk"), signed_on__gte=start, signed_on__lte=end
            )
            .order_by()
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
    )
    return {str(kind): counts.get(kind, 0) for kind in CONTRACT_KEYS}


def followed(scope, end):
    """Personnes ayant un suivi en cours le jour ``end``."""
    return _count(
        FollowUp.objects.filter(beneficiary__in=scope.order_by().values("pk"), started_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=end))
        .order_by()
        .values("beneficiary_id")
        .distinct()
    )


# --- le jeu complet ---------------------------------------------------------------------------------------


@contextmanager
def analytics_session():
    """Sur PostgreSQL : une transaction sans compilation JIT, qui coûte ici plus qu'elle ne rapporte (mesuré
    au banc : 4,1 s → 2,4 s pour les nouveaux entrants à 150 000 bénéficiaires), avec assez de mémoire de
    travail pour trier et regrouper sans passer par le disque. Sans effet sur les autres bases."""
    connection = connections[router.db_for_read(Event)]
    if connection.vendor != "postgresql" or getattr(connection, "_parcours_analytics", False):
        yield
        return
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            # Tris et regroupements en mémoire plutôt que sur disque (la valeur par défaut est 4 Mo).
            cursor.execute("SET LOCAL work_mem = '64MB'")
        connection._parcours_analytics = True
        try:
            yield
        finally:
            connection._parcours_analytics = False


def compute_indicators(scope, start, end, *, target_days=None, entries=None, engine=None):
    """Tous les indicateurs sur ``scope`` (bénéficiaires) entre ``start`` et ``end`` inclus.

    Renvoie un dict dans l'ordre de ``DEFINITIONS`` (clés de CONTRACTS.md, puis compléments).
    ``target_days`` : objectif d'orientation (défaut : celui du Département de chaque personne).
    ``engine`` : moteur qui exécute les requêtes (défaut : la base de Django ; voir ``engines.py``).
    """
    check_period(start, end)
    if engine is not None:
        token = _ENGINE.set(engine)
        try:
            return _compute(scope, start, end, target_days, entries)
        finally:
            _ENGINE.reset(token)
    with analytics_session():
        return _compute(scope, start, end, target_days, entries)


def _compute(scope, start, end, target_days, entries):
    if entries is None:
        entries = new_entrant_cohort(scope, start, end)
    values = cohort_indicators(entries, target_days=target_days)
    values["delai_median_diagnostic_premiere_action_jours"] = _median(
        diagnostic_to_first_action_days(scope, start, end)
    )
    values["contrats_signes"] = contracts_signed(scope, start, end)
    values["part_accompagnement_intensif"] = intensive_share(scope, end)
    leaving, employment, by_contract, durable = exits(scope, start, end)
    values["sortants"] = leaving
    values["retours_emploi"] = employment
    values["retours_emploi_par_contrat"] = by_contract
    values["taux_retour_emploi_durable_6m"] = durable
    values["beneficiaires_suivis"] = followed(scope, end)
    return {key: values[key] for key in INDICATOR_IDS}
