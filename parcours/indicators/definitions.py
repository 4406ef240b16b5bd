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

from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Substr
from django.db.models.lookups import In

from parcours.accompaniment.models import (
    ActivityKind,
    ActivityStatus,
    Contract,
    ContractKind,
    EmploymentCheck,
    EmploymentContract,
    Exit,
    ExitReason,
    PlannedActivity,
    ProfessionalSurveyAnswer,
    SatisfactionAnswer,
    SurveyOccasion,
)
from parcours.accompaniment.services import min_weekly_hours
from parcours.accounts.models import Membership, Organisation, OrganisationKind
from parcours.accounts.roles import EDITING
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.core.bulk import tune_batch_transaction
from parcours.core.delays import get_delay
from parcours.employers.models import Hiring
from parcours.journal.models import Event, EventKind
from parcours.journal.payload import Payload as P
from parcours.journal.queries import payload_text
from parcours.orientation.delays import legal_last_day_offset, target_last_day_offset
from parcours.orientation.models import Pathway

from .sql import SQLITE_MEDIAN, AddMonths, DaysBetween, Median, as_number

# --- événements du journal lus par les indicateurs ------------------------------------------------------

NEW_ENTRANT = EventKind.NEW_ENTRANT
ORIENTATION_KINDS = (EventKind.ORIENTED, EventKind.REORIENTED)  # occurred_on = date de notification
# Fin du délai d'orientation d'un nouvel entrant (annexe 4) : la première orientation notifiée **ou** le
# premier référent désigné depuis T0 (« date lors de laquelle un référent est désigné »).
ORIENTATION_DELAY_END_KINDS = (*ORIENTATION_KINDS, EventKind.REFERENT_ASSIGNED)
ORIENTATION_CANCELLED = EventKind.ORIENTATION_CANCELLED
APPOINTMENT_HELD = EventKind.APPOINTMENT_HELD
REFERENT_ASSIGNED = EventKind.REFERENT_ASSIGNED
CONTRACT_SIGNED = EventKind.CONTRACT_SIGNED
DIAGNOSED = EventKind.DIAGNOSED
# Premières actions d'accompagnement après le diagnostic : contrat signé, prescription acceptée par une
# structure (catalogue), activité commencée.
FIRST_ACTION_KINDS = (CONTRACT_SIGNED, EventKind.PRESCRIPTION_ACCEPTED, EventKind.ACTIVITY_STARTED)
# Sortie du dispositif : droit clos, fin de la soumission aux droits et devoirs (journal), sortie qualifiée
# (``accompaniment.Exit``, avec l'emploi, le contrat de travail et la vérification à 6 mois).
EXIT_EVENT_KINDS = (EventKind.RIGHT_CLOSED, EventKind.LEFT_SDD)
EMPLOYMENT_EXIT_REASONS = (ExitReason.EMPLOYMENT, ExitReason.BUSINESS)

NOT_ORIENTED = "non_oriente"
PATHWAY_KEYS = (Pathway.EMPLOI, Pathway.SOCIO_PROFESSIONNEL, Pathway.SOCIAL)
CONTRACT_KEYS = (ContractKind.CER, ContractKind.PPAE, ContractKind.CONTRAT_ENGAGEMENT)
EMPLOYMENT_CONTRACT_KEYS = (*EmploymentContract.values, ExitReason.BUSINESS.value, "autre")


# --- définitions documentées ----------------------------------------------------------------------------


VOLET_3 = "annexe 4, volet 3 (convention 002)"


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
    # Volet 3 (annexe 4 de 002) : progression dans l'employabilité ---------------------------------------
    Definition(
        "personnes_accompagnees",
        "Personnes accompagnées",
        "count",
        "Personnes dont un suivi (orientation connue ou référent désigné) était en cours à un moment de la "
        "période : la population des indicateurs de progression dans l'employabilité.",
        VOLET_3,
    ),
    Definition(
        "progression_employabilite",
        "Progression dans l'employabilité",
        "breakdown",
        "Parmi les personnes accompagnées dans la période, nombre de personnes ayant eu dans la période : une "
        "immersion en entreprise (PMSMP) commencée ; une formation commencée ou une sortie vers une "
        "formation qualifiante ; un contrat de travail de courte durée (contrat IAE commencé, ou sortie vers "
        "un emploi salarié qui n'est ni un CDI ni d'au moins 6 mois) ; un frein périphérique levé (thème de "
        "frein relevé au diagnostic et absent de la version suivante) ; au moins une de ces étapes. Une "
        "activité compte si elle a commencé (en cours ou réalisée) ; une personne compte une fois par ligne.",
        VOLET_3,
    ),
    Definition(
        "taux_progression_employabilite",
        "Taux de progression dans l'employabilité",
        "breakdown",
        "Chaque nombre de la progression dans l'employabilité rapporté aux personnes accompagnées dans la "
        "période (entre 0 et 1). Vide s'il n'y a personne d'accompagné.",
        VOLET_3,
    ),
    # Volet 3 : satisfaction des personnes accompagnées et des professionnels ------------------------------
    Definition(
        "satisfaction_personnes_taux_reponse",
        "Taux de réponse au questionnaire des personnes",
        "rate",
        "Questionnaires dus dans la période (après chaque entretien d'orientation honoré ; 3 mois après "
        "l'ouverture d'un suivi encore en cours) auxquels la personne a répondu, depuis son espace ou par le "
        "lien reçu, sur le nombre de questionnaires dus. Vide si aucun n'était dû.",
        VOLET_3,
    ),
    Definition(
        "satisfaction_personnes_taux",
        "Taux de satisfaction des personnes accompagnées",
        "rate",
        "Parmi les réponses des personnes données dans la période (toutes occasions), part des notes 4 ou 5 "
        "sur 5. Vide sans réponse. Les commentaires libres ne sont jamais exportés.",
        VOLET_3,
    ),
    Definition(
        "satisfaction_personnes_repartition",
        "Répartition des notes des personnes accompagnées",
        "breakdown",
        "Réponses des personnes données dans la période, par note de 1 (pas du tout satisfaite) à 5 (tout à "
        "fait satisfaite).",
        VOLET_3,
    ),
    Definition(
        "satisfaction_professionnels_taux_reponse",
        "Taux de réponse au questionnaire des professionnels",
        "rate",
        "Professionnels (référents, chargés d'orientation, administrateurs, appartenance active, hors "
        "services de l'État) des Départements du périmètre ayant répondu au questionnaire trimestriel dans la "
        "période, sur le nombre de ces professionnels. Vide s'il n'y en a aucun.",
        VOLET_3,
    ),
    Definition(
        "satisfaction_professionnels_taux",
        "Taux de satisfaction des professionnels",
        "rate",
        "Parmi les réponses des professionnels des Départements du périmètre données dans la période, part "
        "des notes 4 ou 5 sur 5. Vide sans réponse. Les commentaires libres ne sont jamais exportés.",
        VOLET_3,
    ),
    Definition(
        "satisfaction_professionnels_repartition",
        "Répartition des notes des professionnels",
        "breakdown",
        "Réponses des professionnels données dans la période, par note de 1 à 5.",
        VOLET_3,
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


def beneficiary_scope(
    *, departement=None, territory=None, base=None, organisation=None, referent=None, period=None
):
    """Ensemble de bénéficiaires sur lequel calculer : ``base`` (ex. ``visible_to(user)``, défaut : tous),
    restreint au Département et au territoire donnés, et aux personnes rattachées à ``organisation`` ou à
    ``referent`` pendant ``period`` (``(début, fin)`` ; sans période : rattachement en cours). Le
    rattachement est défini dans ``attachments.py``."""
    from .attachments import organisation_members, referent_members

    scope = Beneficiary.objects.all() if base is None else base
    if departement is not None:
        scope = scope.filter(departement=departement)
    if territory is not None:
        scope = scope.filter(territory=territory)
    start, end = period or (None, None)
    if organisation is not None:
        scope = scope.filter(organisation_members(organisation, start, end))
    if referent is not None:
        scope = scope.filter(referent_members(referent, start, end))
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

    def bind(self, queryset):
        return queryset


DJANGO_ENGINE = DjangoEngine()
_ENGINE = contextvars.ContextVar("indicators_engine", default=None)


def _engine():
    return _ENGINE.get() or DJANGO_ENGINE


def _on_engine(queryset):
    """Le QuerySet lié au moteur courant (``bind``) : ``list()``, ``.count()`` et ``.aggregate()`` s'y
    exécutent."""
    return _engine().bind(queryset)


def _rows(queryset):
    return list(_on_engine(queryset))


def _count(queryset):
    return _on_engine(queryset).count()


def _events(scope):
    return Event.objects.filter(beneficiary__in=scope.order_by().values("pk"))


def _ratio(numerator, denominator):
    return None if not denominator else numerator / denominator


def _median(values):
    return None if not values else as_number(statistics.median(values))


# --- nouveaux entrants : une requête, une ligne par entrée ----------------------------------------------


@dataclass(slots=True)
class Entry:
    """Un nouvel entrant de la période et les dates de ses premières étapes depuis T0 (une ligne de
    ``cohort_queryset`` ; ``bucket`` est la tranche de délai d'orientation calculée par la base)."""

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
    bucket: str = NOT_ORIENTED
    orientation_days: int | None = None  # T0 → orientation notifiée
    interview_days: int | None = None  # ouverture du droit → premier entretien
    contract_days: int | None = None  # orientation → premier contrat

    @property
    def pathway_key(self):
        """Modalité de la répartition par parcours : le parcours de l'orientation, ou « non orienté »."""
        oriented = self.bucket != NOT_ORIENTED and self.pathway in PATHWAY_KEYS
        return str(self.pathway) if oriented else NOT_ORIENTED

    @property
    def in_time(self):
        """Orientée dans l'objectif du Département (tranche « objectif »)."""
        return self.bucket == "objectif"


J = "beneficiary__events__"  # les événements de la même personne (jointure)
COHORT_STEP_KINDS = (NEW_ENTRANT, APPOINTMENT_HELD, REFERENT_ASSIGNED, CONTRACT_SIGNED)
COHORT_KINDS = (*COHORT_STEP_KINDS, *ORIENTATION_KINDS)


def _first_after_t0(kinds, expression=None):
    """Agrégat : plus petite valeur (par défaut la date) des événements ``kinds`` de la personne depuis T0."""
    since = Q(**{f"{J}occurred_on__gte": F("occurred_on"), f"{J}kind__in": kinds})
    return Min(expression or f"{J}occurred_on", filter=since)


def new_entrant_cohort(scope, start, end, *, target_days=None, table=False):
    """Les entrées de la période, une par ligne (``Entry``), lues dans ``cohort_queryset`` : pour les listes
    de personnes (détail d'un chiffre, fichier de l'annexe 4, extrait d'évaluation). Les indicateurs eux-mêmes
    sont comptés par la base (``cohort_tallies``)."""
    return entries_of(cohort_queryset(scope, start, end, target_days=target_days, table=table))


ENTRY_FIELDS = (
    "beneficiary_id",
    "occurred_on",
    "departement_id",
    "territory_id",
    "right_opened_on",
    "oriented_on",
    "pathway",
    "first_appointment_on",
    "referent_on",
    "contract_on",
    "bucket",
    "orientation_days",
    "interview_days",
    "contract_days",
)


def entries_of(cohort):
    """Les lignes d'un QuerySet de ``cohort_queryset`` en ``Entry``."""
    return [entry_of(r) for r in _rows(cohort.values_list(*ENTRY_FIELDS))]


def entry_of(r):
    """Une ligne ``values_list(*ENTRY_FIELDS)`` de ``cohort_queryset`` en ``Entry``."""
    return Entry(
        beneficiary_id=r[0],
        t0=_as_date(r[1]),
        departement_id=r[2],
        territory_id=r[3],
        right_opened_on=_as_date(r[4]),
        oriented_on=_as_date(r[5]),
        pathway=(r[6] or None) if r[5] else None,
        first_appointment_on=_as_date(r[7]),
        referent_on=_as_date(r[8]),
        contract_on=_as_date(r[9]),
        bucket=r[10],
        orientation_days=r[11],
        interview_days=r[12],
        contract_days=r[13],
    )


def _as_date(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def cohort_indicators(entries):
    """Indicateurs des nouveaux entrants d'une liste d'entrées (``new_entrant_cohort``) : les mêmes que
    ``cohort_tallies``, pour répartir une cohorte déjà lue entre des groupes (organisations, référents).
    Rien n'est redéfini ici : tranche de délai, parcours et délais viennent de ``cohort_queryset`` ; on ne
    fait que compter et prendre les médianes (les tests vérifient l'accord avec ``cohort_tallies``)."""
    total = len(entries)
    buckets = dict.fromkeys(DELAY_BUCKETS, 0)
    pathways = dict.fromkeys([*(str(p) for p in PATHWAY_KEYS), NOT_ORIENTED], 0)
    for e in entries:
        buckets[e.bucket] += 1
        pathways[e.pathway_key] += 1
    return {
        "nouveaux_entrants": total,
        "nouveaux_entrants_orientes_15j": buckets["objectif"],
        "taux_orientation_15j": _ratio(buckets["objectif"], total),
        "delai_median_t0_orientation_jours": _median([e.orientation_days for e in entries if e.oriented_on]),
        "delai_median_ouverture_droit_premier_entretien_jours": _median(
            [e.interview_days for e in entries if e.interview_days is not None]
        ),
        "repartition_parcours": pathways,
        "delai_median_orientation_contrat_jours": _median(
            [e.contract_days for e in entries if e.contract_days is not None]
        ),
        "part_nouveaux_entrants_avec_referent": _ratio(sum(1 for e in entries if e.referent_on), total),
        "part_nouveaux_entrants_avec_contrat": _ratio(sum(1 for e in entries if e.contract_on), total),
        "distribution_delai_t0_orientation": buckets,
    }


def cohort_series(entries, start, end):
    """Série mensuelle des nouveaux entrants d'une liste d'entrées : la même que celle de ``cohort_tallies``,
    pour une page qui a déjà lu la cohorte (tableau de bord) et ne la relit pas."""
    months = _months(start, end)
    index = {(m.year, m.month): i for i, m in enumerate(months)}
    totals = [0] * len(months)
    in_time = [0] * len(months)
    for e in entries:
        i = index.get((e.t0.year, e.t0.month))
        if i is None:
            continue
        totals[i] += 1
        if e.in_time:
            in_time[i] += 1
    return [
        {
            "mois": month.strftime("%Y-%m"),
            "nouveaux_entrants": totals[i],
            "nouveaux_entrants_orientes_15j": in_time[i],
            "taux_orientation_15j": _ratio(in_time[i], totals[i]),
        }
        for i, month in enumerate(months)
    ]


# --- nouveaux entrants, compté par la base ------------------------------------------------------------------


def _per_departement(values, default):
    """Expression : la valeur (objectif, délai légal) du Département de la personne de l'entrée."""
    return Case(
        *[When(departement_id=pk, then=Value(v)) for pk, v in values.items()],
        default=Value(default),
        output_field=IntegerField(),
    )


def _delays(name, override=None):
    """(valeurs par Département, valeur par défaut) du délai ``name`` ; ``override`` les remplace toutes."""
    if override is not None:
        return {}, int(override)
    rows = _rows(
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        .order_by()
        .values_list("pk", "delay_overrides")
    )
    default = get_delay(name)
    values = {}
    for pk, overrides in rows:
        overrides = json.loads(overrides) if isinstance(overrides, str) else (overrides or {})
        value = get_delay(name, Organisation(delay_overrides=overrides))
        if value != default:
            values[pk] = value
    return values, default


def cohort_queryset(scope, start, end, *, target_days=None, table=False, lean=False):
    """Les entrées (événements ``new_entrant``) dont le T0 tombe dans la période : une ligne par entrée,
    avec ses étapes et leurs délais, **calculés par la base** — c'est la définition de chaque indicateur des
    nouveaux entrants (annexe 4), écrite une fois : les étapes dans ``cohort_milestones``, les tranches et
    délais dans ``derive_cohort``.

    ``table`` : lire les étapes dans la table de la cohorte (``models.CohortEntry``, tenue à jour par
    ``cohort.refresh`` avec ``cohort_milestones``) au lieu de les recalculer dans le journal : mêmes
    colonnes, mêmes valeurs (vérifié par les tests), pour le tableau de bord à grande échelle ; le
    périmètre s'y évalue sur les colonnes gardées de la personne quand il ne lit qu'elles
    (``scope.stored_condition``), sinon par la table des personnes. Sans ``table`` (défaut) : le journal
    lui-même (exports, annexe 4, DREES, autres moteurs). ``lean`` (avec ``table``) : sans les colonnes lues
    sur la personne (Département, territoire, ouverture du droit, donc sans ``interview_days``), pour les
    comptes qui n'en ont pas besoin.

    Colonnes : ``oriented_on`` (fin du délai : première orientation notifiée ou premier référent désigné),
    ``pathway``, ``orientation_days`` (T0 = jour 0), ``bucket`` (tranche de délai :
    objectif / délai légal / au-delà / non orienté), ``interview_days`` (ouverture du droit → premier
    entretien), ``contract_days`` (orientation → premier contrat), ``referent_on``, ``contract_on``.
    """
    check_period(start, end)
    if table:
        from .cohort import refresh
        from .models import CohortEntry

        refresh()  # les événements écrits depuis la dernière lecture d'abord (une requête s'il n'y en a pas)
        rows = (
            CohortEntry.objects.filter(in_stored_scope(scope), occurred_on__gte=start, occurred_on__lte=end)
            .order_by()
            .values(*ENTRY_COLUMNS, *(() if lean else PERSON_COLUMNS), *MILESTONE_COLUMNS)
        )
    else:
        rows = cohort_milestones(
            _events(scope).filter(kind=NEW_ENTRANT, occurred_on__gte=start, occurred_on__lte=end),
            **person_columns(),
        )
    return derive_cohort(rows, target_days=target_days, interview=not lean)


def in_stored_scope(scope):
    """Condition sur une table qui garde le Département et le territoire de la personne (``CohortEntry``,
    ``FirstDiagnosis``) : les personnes de ``scope`` (voir ``scope.stored_condition``)."""
    from .scope import stored_condition

    condition = stored_condition(scope)
    return Q(beneficiary__in=scope.order_by().values("pk")) if condition is None else condition


# Colonnes d'une entrée : l'événement, sa personne, T0.
ENTRY_COLUMNS = ("pk", "beneficiary_id", "occurred_on")
# Ce qui est lu sur la personne et son foyer (colonne → chemin depuis l'événement), gardé par la table de la
# cohorte et tenu à jour quand la personne change (migration 0003 des indicateurs).
PERSON_COLUMNS = {
    "departement_id": "beneficiary__departement_id",
    "territory_id": "beneficiary__territory_id",
    "right_opened_on": "beneficiary__household__right__opened_on",
}


def person_columns(*names):
    """``{colonne: F(chemin)}`` de ``PERSON_COLUMNS`` (toutes si ``names`` est vide)."""
    return {name: F(path) for name, path in PERSON_COLUMNS.items() if not names or name in names}


# Étapes calculées dans le journal (``cohort_milestones``), gardées par la table de la cohorte.
MILESTONE_COLUMNS = ("oriented_on", "pathway", "first_appointment_on", "referent_on", "contract_on")


def cohort_milestones(entries, **columns):
    """Pour chaque entrée de ``entries`` (événements ``new_entrant``) : la date des premières étapes de la
    personne depuis T0 (``MILESTONE_COLUMNS``), en une requête groupée.

    Chaque entrée est jointe aux événements utiles de la personne depuis son T0 (les orientations dont la
    décision a été annulée en sont écartées) ; la base prend la première date de chaque étape. Le parcours
    de la première orientation vient avec sa date (``AAAA-MM-JJ|parcours`` : la plus petite chaîne est la plus
    ancienne). ``columns`` : expressions de l'entrée lues en plus (regroupées avec elle)."""
    oriented = Q(**{f"{J}kind__in": ORIENTATION_KINDS})
    delay_ended = Q(**{f"{J}kind__in": ORIENTATION_DELAY_END_KINDS})
    dated_pathway = Concat(
        Cast(f"{J}occurred_on", CharField()),
        Value("|"),
        Coalesce(payload_text(ORIENTATION_KINDS, P.PATHWAY, J), Value(""), output_field=CharField()),
        output_field=CharField(),
    )
    # Décisions annulées (rares) : une liste sans corrélation, que la base écarte par une anti-jointure.
    cancelled_decisions = (
        Event.objects.filter(kind=ORIENTATION_CANCELLED, **{f"payload__{P.DECISION_ID.name}__isnull": False})
        .order_by()
        .values(decision=payload_text(ORIENTATION_CANCELLED, P.DECISION_ID))
    )
    decision = Coalesce(
        payload_text(ORIENTATION_KINDS, P.DECISION_ID, J), Value(""), output_field=CharField()
    )
    return (
        entries
        # Une seule jointure (un seul appel à filter) : les événements utiles de la personne depuis T0 (l'entrée
        # elle-même en fait partie), sauf les orientations annulées.
        .filter(
            Q(**{f"{J}kind__in": COHORT_KINDS, f"{J}occurred_on__gte": F("occurred_on")})
            & (Q(**{f"{J}kind__in": COHORT_STEP_KINDS}) | ~Q(In(decision, cancelled_decisions)))
        )
        .order_by()
        .values("pk", "beneficiary_id", "occurred_on", **columns)
        .annotate(
            oriented_on=Min(f"{J}occurred_on", filter=delay_ended),
            first_orientation=Min(dated_pathway, filter=oriented),
            first_appointment_on=_first_after_t0([APPOINTMENT_HELD]),
            referent_on=_first_after_t0([REFERENT_ASSIGNED]),
            contract_on=_first_after_t0([CONTRACT_SIGNED]),
        )
        .annotate(pathway=Substr("first_orientation", 12))
    )


def derive_cohort(rows, *, target_days=None, interview=True):
    """Tranche de délai et délais en jours de chaque entrée (lignes de ``cohort_milestones`` ou de la table
    de la cohorte : mêmes noms de colonnes), avec l'objectif et le délai légal du Département de la
    personne. ``interview`` : avec le délai de l'ouverture du droit au premier entretien (jointure du
    droit du foyer)."""
    targets, default_target = _delays("orientation_target_days", target_days)
    legal, default_legal = _delays("orientation_legal_days")
    return rows.annotate(
        orientation_days=DaysBetween("oriented_on", "occurred_on"),
        target=_per_departement(targets, default_target),
        legal=_per_departement(legal, default_legal),
    ).annotate(
        # Règles de ``orientation.delays`` (les mêmes que les files de travail et la fiche) : objectif tenu au
        # plus tard à T0 + (objectif - 1) jours (T0 = jour 1) ; délai légal de 6 semaines tenu au plus tard à
        # T0 + 42 jours (Code de procédure civile, art. 641), en retard à T0 + 43.
        bucket=Case(
            When(oriented_on__isnull=True, then=Value("non_oriente")),
            When(
                orientation_days__gte=0,
                orientation_days__lte=target_last_day_offset(F("target")),
                then=Value("objectif"),
            ),
            When(orientation_days__lte=legal_last_day_offset(F("legal")), then=Value("delai_legal")),
            default=Value("au_dela"),
            output_field=CharField(),
        ),
        interview_days=(
            DaysBetween("first_appointment_on", "right_opened_on")
            if interview
            # Typé : une sous-requête garde le type de la colonne (``cohort_aggregate`` en prend la médiane).
            else Cast(Value(None), output_field=IntegerField())
        ),
        contract_days=Case(
            When(contract_on__gte=F("oriented_on"), then=DaysBetween("contract_on", "oriented_on")),
            default=None,
            output_field=IntegerField(),
        ),
    )


def _months(start, end):
    """Premiers jours des mois de la période."""
    months = []
    cursor = start.replace(day=1)
    while cursor <= end:
        months.append(cursor)
        cursor = (cursor + datetime.timedelta(days=32)).replace(day=1)
    return months


def cohort_tallies(scope, start, end, *, target_days=None, table=False):
    """Indicateurs des nouveaux entrants et série mensuelle, comptés par la base en **une** requête (les
    lignes de ``cohort_queryset`` ne remontent pas jusqu'à Python). Renvoie ``(valeurs, série)``."""
    values, series, _counted = cohort_aggregate(
        cohort_queryset(scope, start, end, target_days=target_days, table=table), start, end
    )
    return values, series


def cohort_tally_sql(vendor, *, interview=True):
    """Les comptes lus par ``tally_values`` (``{nom: SQL}``), sur les colonnes de ``cohort_queryset`` d'une
    sous-requête d'alias ``c`` : écrits une fois pour le tableau de bord (``cohort_aggregate``) et les
    tableaux par organisation et par référent (``breakdowns``). ``interview`` : avec la médiane de
    ``interview_days`` (NULL sinon)."""

    def median(column):
        if vendor == "sqlite":
            return f"{SQLITE_MEDIAN}(c.{column})"
        return f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY c.{column})"

    tallies = {
        "total": "COUNT(*)",
        "referent": _sql_count("c.referent_on IS NOT NULL"),
        "contract": _sql_count("c.contract_on IS NOT NULL"),
        "median_orientation": median("orientation_days"),
        "median_interview": median("interview_days") if interview else "NULL",
        "median_contract": median("contract_days"),
    }
    for bucket in DELAY_BUCKETS:
        tallies[f"bucket_{bucket}"] = _sql_count(f"c.bucket = {_sql_literal(bucket)}")
    for pathway in PATHWAY_KEYS:
        tallies[f"pathway_{pathway}"] = _sql_count(
            f"c.pathway = {_sql_literal(pathway)} AND c.bucket <> {_sql_literal(NOT_ORIENTED)}"
        )
    return tallies


def _sql_count(condition):
    return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


def _sql_literal(value):
    return "'" + str(value).replace("'", "''") + "'"


# Colonnes de ``cohort_queryset`` lues par ``cohort_tally_sql``.
TALLY_COLUMNS = (
    "bucket",
    "pathway",
    "orientation_days",
    "interview_days",
    "contract_days",
    "referent_on",
    "contract_on",
)


def cohort_aggregate(cohort, start, end, counts=None):
    """``(valeurs, série, comptes)`` d'un QuerySet de ``cohort_queryset``, en une requête ; ``counts`` :
    ``{nom: Q}`` d'effectifs comptés en plus (chiffres et graphiques du tableau de bord).

    Les entrées sont une sous-requête dont chaque colonne (tranche, délais…) est calculée une fois par ligne ;
    la requête extérieure les compte (``cohort_tally_sql``). Chaque condition de ``counts`` devient une
    colonne 0/1 de la sous-requête."""
    counts = counts or {}
    flags = {
        f"count_{name}": Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())
        if condition
        else Value(1, output_field=IntegerField())
        for name, condition in counts.items()
    }
    rows = _on_engine(cohort.annotate(**flags).values("occurred_on", *TALLY_COLUMNS, *flags))
    connection = connections[rows.db]
    tallies = cohort_tally_sql(connection.vendor)
    months = _months(start, end)
    bounds = [*months[1:], None]
    select_params = []
    for index, (month, following) in enumerate(zip(months, bounds, strict=True)):
        in_month = "c.occurred_on >= %s" + (" AND c.occurred_on < %s" if following else "")
        dates = [month, following] if following else [month]
        tallies[f"month_{index}"] = _sql_count(in_month)
        tallies[f"month_{index}_in_time"] = _sql_count(
            f"{in_month} AND c.bucket = {_sql_literal('objectif')}"
        )
        select_params += [connection.ops.adapt_datefield_value(d) for d in dates * 2]
    for name in flags:
        tallies[name] = f"COALESCE(SUM(c.{name}), 0)"
    try:
        sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:  # périmètre vide par construction : aucune entrée
        sql, params = None, []
    if sql is None:
        t = {name: (None if name.startswith("median_") else 0) for name in tallies}
    else:
        statement = f"SELECT {', '.join(tallies.values())} FROM ({sql}) c"  # noqa: S608 (SQL de l'ORM, constantes)
        with connection.cursor() as cursor:
            cursor.execute(statement, [*select_params, *params])
            t = dict(zip(tallies, cursor.fetchone(), strict=True))
    values = tally_values(t)
    series = [
        {
            "mois": month.strftime("%Y-%m"),
            "nouveaux_entrants": t[f"month_{index}"],
            "nouveaux_entrants_orientes_15j": t[f"month_{index}_in_time"],
            "taux_orientation_15j": _ratio(t[f"month_{index}_in_time"], t[f"month_{index}"]),
        }
        for index, month in enumerate(months)
    ]
    return values, series, {name: t[f"count_{name}"] for name in counts}


def tally_values(t):
    """Indicateurs des nouveaux entrants à partir des comptes de la base (``total``, ``referent``,
    ``contract``, ``median_*``, ``bucket_*``, ``pathway_*`` : ``cohort_aggregate``, ou une ligne des
    tableaux par organisation et par référent)."""
    total = t["total"]
    in_time_count = t["bucket_objectif"]
    pathways = {str(p): t[f"pathway_{p}"] for p in PATHWAY_KEYS}
    pathways[NOT_ORIENTED] = total - sum(pathways.values())
    return {
        "nouveaux_entrants": total,
        "nouveaux_entrants_orientes_15j": in_time_count,
        "taux_orientation_15j": _ratio(in_time_count, total),
        "delai_median_t0_orientation_jours": as_number(t["median_orientation"]),
        "delai_median_ouverture_droit_premier_entretien_jours": as_number(t["median_interview"]),
        "repartition_parcours": pathways,
        "delai_median_orientation_contrat_jours": as_number(t["median_contract"]),
        "part_nouveaux_entrants_avec_referent": _ratio(t["referent"], total),
        "part_nouveaux_entrants_avec_contrat": _ratio(t["contract"], total),
        "distribution_delai_t0_orientation": {b: t[f"bucket_{b}"] for b in DELAY_BUCKETS},
    }


# --- autres indicateurs ----------------------------------------------------------------------------------


def diagnostic_to_first_action_median(scope, start, end, *, table=False):
    """Médiane des délais (jours) entre le premier diagnostic de la personne, s'il tombe dans la période, et
    la première action d'accompagnement qui le suit (``first_diagnoses``, la médiane prise par la base).
    ``table`` : lus dans la table tenue à jour (``models.FirstDiagnosis``, remplie par ``first_diagnoses``)."""
    if table:
        from .cohort import refresh
        from .models import FirstDiagnosis

        refresh()
        per_person = FirstDiagnosis.objects.filter(
            in_stored_scope(scope), diagnosed_on__gte=start, diagnosed_on__lte=end
        ).annotate(days=DaysBetween("action_on", "diagnosed_on"))
    else:
        per_person = first_diagnoses(
            _events(scope).filter(kind=DIAGNOSED, occurred_on__gte=start, occurred_on__lte=end)
        ).annotate(days=DaysBetween("action_on", "occurred_on"))
    return as_number(_on_engine(per_person).aggregate(median=Median("days"))["median"])


def first_diagnoses(diagnoses):
    """Parmi les diagnostics ``diagnoses`` (événements ``diagnosed``), une ligne par personne dont c'est le
    premier diagnostic (aucun avant ce jour ; deux versions le même jour comptent une fois) suivi d'une action
    d'accompagnement : ``beneficiary_id``, ``occurred_on`` (diagnostic), ``action_on`` (première action
    depuis), en une requête groupée par personne et jour de diagnostic."""
    return (
        diagnoses.filter(**{f"{J}kind__in": (DIAGNOSED, *FIRST_ACTION_KINDS)})
        .order_by()
        .values("beneficiary_id", "occurred_on")
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
    )


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
    """Part des contrats en cours le jour ``end`` prévoyant au moins 15 h d'activité par semaine.

    Un contrat dont la durée hebdomadaire n'est pas connue (PPAE ou CER signé sans durée, contrat repris d'un
    autre logiciel sans son contenu) n'est pas compté : ni intensif, ni non intensif. Le résultat est le même
    quelle que soit la voie par laquelle le contrat est arrivé (page, API, import)."""
    in_force = (
        Contract.objects.filter(beneficiary__in=scope.order_by().values("pk"), signed_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=end))
        .filter(weekly_hours__isnull=False)
        .order_by()
    )
    counts = _on_engine(in_force).aggregate(
        people=Count("beneficiary_id", distinct=True),
        intensive=Count("beneficiary_id", distinct=True, filter=Q(weekly_hours__gte=min_weekly_hours())),
    )
    return _ratio(counts["intensive"], counts["people"])


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


def follow_up_during(start, end):
    """Condition sur un suivi en cours à un moment de [start, end] : ouvert au plus tard le dernier jour, pas
    clos avant le premier (``ended_on`` est le premier jour sans suivi). ``start == end`` : en cours ce
    jour-là."""
    return Q(started_on__lte=end) & (Q(ended_on__isnull=True) | Q(ended_on__gt=start))


def followed_people(scope, end):
    """Identifiants (``pk``, distincts) des personnes de ``scope`` ayant un suivi en cours le jour ``end`` :
    chaque personne du périmètre une fois, si un de ses suivis est ouvert ce jour-là (la base parcourt le
    périmètre et cherche ses suivis, sans dédoublonner les suivis)."""
    in_progress = FollowUp.objects.filter(follow_up_during(end, end), beneficiary_id=OuterRef("pk"))
    return scope.filter(Exists(in_progress)).order_by().values_list("pk", flat=True)


def followed_and_accompanied(scope, start, end):
    """``(personnes suivies le jour end, personnes accompagnées pendant la période)`` — les nombres de
    ``followed_people`` et de ``accompanied_people`` — en une lecture des suivis de la période : un suivi en
    cours le dernier jour est aussi en cours pendant la période, les premières sont parmi les secondes."""
    during = FollowUp.objects.filter(
        follow_up_during(start, end), beneficiary__in=scope.order_by().values("pk")
    )
    counts = _on_engine(during.order_by()).aggregate(
        followed=Count("beneficiary_id", distinct=True, filter=follow_up_during(end, end)),
        accompanied=Count("beneficiary_id", distinct=True),
    )
    return counts["followed"], counts["accompanied"]


# --- volet 3 : progression dans l'employabilité -----------------------------------------------------------

EMPLOYABILITY_KEYS = ("immersion", "formation", "contrat_court", "frein_leve", "au_moins_une")
EMPLOYABILITY_LABELS = {
    "immersion": "Immersion en entreprise",
    "formation": "Formation",
    "contrat_court": "Contrat de travail de courte durée",
    "frein_leve": "Frein périphérique levé",
    "au_moins_une": "Au moins une de ces étapes",
}
STARTED_ACTIVITY = (ActivityStatus.IN_PROGRESS, ActivityStatus.DONE)
ACTIVITY_STEPS = {
    ActivityKind.IMMERSION: "immersion",
    ActivityKind.TRAINING: "formation",
    ActivityKind.IAE: "contrat_court",
}
# Contrats jamais « de courte durée » : CDI et activité indépendante.
LONG_OR_SELF_EMPLOYED = (EmploymentContract.CDI, EmploymentContract.SELF_EMPLOYED)


EMPLOYABILITY_EXIT_REASONS = (ExitReason.TRAINING, ExitReason.EMPLOYMENT)


def exit_step(reason, contract, months, short_months):
    """L'étape de la progression dans l'employabilité que marque une sortie qualifiée : « formation » pour
    une sortie vers une formation qualifiante, « contrat_court » pour un emploi salarié qui n'est ni un CDI
    ni un contrat d'au moins ``short_months`` mois (durée inconnue : court, comme l'intérim), sinon None.
    Le seuil est celui de l'emploi durable (``employment_durable_min_contract_months``).

    Une embauche (``employers.Hiring``) est un emploi : ``hiring_step`` lui applique cette même règle."""
    if reason == ExitReason.TRAINING:
        return "formation"
    short = months is None or months < short_months
    if reason == ExitReason.EMPLOYMENT and contract not in LONG_OR_SELF_EMPLOYED and short:
        return "contrat_court"
    return None


def hiring_step(contract, months, short_months):
    """L'étape que marque une embauche : celle d'une sortie vers l'emploi au même contrat (``exit_step``),
    « contrat_court » ou None."""
    return exit_step(ExitReason.EMPLOYMENT, contract, months, short_months)


def hirings_without_exit(people):
    """Embauches des personnes ``people`` enregistrées **sans** sortie (contrat de courte durée qui ne met
    pas fin à l'accompagnement). Une embauche qui est la sortie en emploi est lue par sa sortie (``Exit``) :
    elle n'est pas comptée deux fois."""
    return Hiring.objects.filter(beneficiary__in=people, exit__isnull=True)


def accompanied_people(scope, start, end):
    """Personnes de ``scope`` dont un suivi était en cours à un moment de la période (``follow_up_during``)."""
    in_period = FollowUp.objects.filter(follow_up_during(start, end), beneficiary_id=OuterRef("pk"))
    return scope.filter(Exists(in_period)).order_by().values("pk")


def employability(scope, start, end, *, total):
    """``(personnes accompagnées, progression, taux)`` de la période (annexe 4 de 002, volet 3 :
    « progression dans l'employabilité (immersions, formations, contrats de travail de courte durée, levée
    de freins périphériques) »). La base choisit les lignes (activités commencées, sorties, embauches sans
    sortie, freins levés, une par personne et par nature) ; Python les range par étape. ``total`` : le nombre
    de personnes accompagnées, compté par l'appelant avec les personnes suivies (``followed_and_accompanied``)."""
    people = accompanied_people(scope, start, end)
    steps = {key: set() for key in EMPLOYABILITY_KEYS}
    activities = (
        PlannedActivity.objects.filter(
            beneficiary__in=people,
            kind__in=list(ACTIVITY_STEPS),
            status__in=STARTED_ACTIVITY,
            starts_on__gte=start,
            starts_on__lte=end,
        )
        .order_by()
        .values_list("beneficiary_id", "kind")
        .distinct()
    )
    for beneficiary_id, kind in _rows(activities):
        steps[ACTIVITY_STEPS[kind]].add(beneficiary_id)
    short_months = get_delay("employment_durable_min_contract_months")
    qualified = (
        Exit.objects.filter(
            beneficiary__in=people,
            exited_on__gte=start,
            exited_on__lte=end,
            reason__in=EMPLOYABILITY_EXIT_REASONS,
        )
        .order_by()
        .values_list("beneficiary_id", "reason", "contract_type", "contract_months")
    )
    for beneficiary_id, reason, contract, months in _rows(qualified):
        step = exit_step(reason, contract, months, short_months)
        if step:
            steps[step].add(beneficiary_id)
    hirings = (
        hirings_without_exit(people)
        .filter(starts_on__gte=start, starts_on__lte=end)
        .order_by()
        .values_list("beneficiary_id", "contract_type", "contract_months")
        .distinct()
    )
    for beneficiary_id, contract, months in _rows(hirings):
        step = hiring_step(contract, months, short_months)
        if step:
            steps[step].add(beneficiary_id)
    lifted = (
        Event.objects.filter(
            beneficiary__in=people,
            kind=EventKind.BARRIER_LIFTED,
            occurred_on__gte=start,
            occurred_on__lte=end,
        )
        .order_by()
        .values_list("beneficiary_id")
        .distinct()
    )
    steps["frein_leve"].update(r[0] for r in _rows(lifted))
    steps["au_moins_une"] = set().union(*(steps[k] for k in EMPLOYABILITY_KEYS[:-1]))
    counts = {key: len(steps[key]) for key in EMPLOYABILITY_KEYS}
    rates = {key: _ratio(counts[key], total) for key in EMPLOYABILITY_KEYS}
    return total, counts, rates


# --- volet 3 : satisfaction des personnes et des professionnels --------------------------------------------

SATISFACTION_SCORES = ("1", "2", "3", "4", "5")
SATISFIED_SCORES = ("4", "5")


def _score_distribution(answers):
    counts = dict(_rows(answers.order_by().values("score").annotate(n=Count("pk")).values_list("score", "n")))
    distribution = {key: counts.get(int(key), 0) for key in SATISFACTION_SCORES}
    total = sum(distribution.values())
    return _ratio(sum(distribution[k] for k in SATISFIED_SCORES), total), distribution


def _first_start(start, months):
    """Premier jour d'ouverture d'un suivi dont les ``months`` mois tombent le jour ``start`` ou après."""
    from parcours.accompaniment.surveys import shift_months

    day = shift_months(start, -months)
    while shift_months(day, months) < start:
        day += datetime.timedelta(days=1)
    return day


def _last_start(end, months):
    """Dernier jour d'ouverture d'un suivi dont les ``months`` mois tombent le jour ``end`` ou avant."""
    from parcours.accompaniment.surveys import shift_months

    day = shift_months(end, -months)
    while shift_months(day + datetime.timedelta(days=1), months) <= end:
        day += datetime.timedelta(days=1)
    return day


def survey_response(scope, start, end):
    """``(questionnaires dus, questionnaires répondus)`` des personnes de ``scope`` dans la période, comptés
    par la base — les mêmes règles que l'espace de la personne (``accompaniment.surveys.occasions_of``) :
    chaque entretien d'orientation honoré (journal), et ``satisfaction_survey_months`` mois après l'ouverture de
    chaque suivi encore en cours ce jour-là (``sql.AddMonths``, comme ``surveys.shift_months``). Un
    questionnaire est dû une fois par personne, occasion et échéance ; les réponses comptées sont celles d'un
    questionnaire dû (la base part des réponses, peu nombreuses, et cherche leur occasion)."""
    from parcours.accompaniment.surveys import orientation_interviews

    people = scope.order_by().values("pk")
    interviews = orientation_interviews().filter(
        beneficiary__in=people, occurred_on__gte=start, occurred_on__lte=end
    )
    by_departement, default = _delays("satisfaction_survey_months")
    months = (
        Case(
            *[When(beneficiary__departement_id=pk, then=Value(v)) for pk, v in by_departement.items()],
            default=Value(default),
            output_field=IntegerField(),
        )
        if by_departement
        else Value(default, output_field=IntegerField())
    )
    every = [default, *by_departement.values()]
    three_months = (
        FollowUp.objects.filter(
            beneficiary__in=people,
            # Fenêtre des ouvertures possibles (le plus long et le plus court délai), puis l'échéance exacte.
            started_on__gte=_first_start(start, max(every)),
            started_on__lte=_last_start(end, min(every)),
        )
        .annotate(day=AddMonths("started_on", months))
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=F("day")))
    )
    if by_departement:
        # Plusieurs délais : la fenêtre couvre les ouvertures de tous ; l'échéance de chacun est vérifiée. Avec
        # un seul délai, la fenêtre est exacte (et la base estime mieux ce qu'elle garde).
        three_months = three_months.filter(day__gte=start, day__lte=end)
    due = _count(interviews.order_by().values("beneficiary_id", "occurred_on").distinct()) + _count(
        three_months.order_by().values("beneficiary_id", "day").distinct()
    )
    answers = SatisfactionAnswer.objects.filter(beneficiary__in=people, due_on__gte=start, due_on__lte=end)
    person, day = OuterRef("beneficiary_id"), OuterRef("due_on")
    answered = _count(
        answers.filter(
            (
                Q(occasion=SurveyOccasion.ORIENTATION)
                & Exists(interviews.filter(beneficiary_id=person, occurred_on=day))
            )
            | (
                Q(occasion=SurveyOccasion.THREE_MONTHS)
                & Exists(three_months.filter(beneficiary_id=person, day=day))
            )
        )
    )
    return due, answered


def scope_departements(scope):
    """Identifiants des Départements dont au moins une personne est dans ``scope`` (une requête : pour chaque
    Département, la base cherche une de ses personnes par l'index du Département, sans lire tout le
    périmètre)."""
    return [
        pk
        for (pk,) in _rows(
            Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
            .filter(Exists(scope.filter(departement_id=OuterRef("pk"))))
            .order_by()
            .values_list("pk")
        )
    ]


def person_satisfaction(scope, start, end):
    """``(taux de réponse, taux de satisfaction, répartition des notes)`` des personnes de ``scope``."""
    people = scope.order_by().values("pk")
    due, answered = survey_response(scope, start, end)
    response_rate = _ratio(answered, due)
    rate, distribution = _score_distribution(
        SatisfactionAnswer.objects.filter(
            beneficiary__in=people, answered_on__gte=start, answered_on__lte=end
        )
    )
    return response_rate, rate, distribution


def professional_satisfaction(scope, start, end):
    """``(taux de réponse, taux de satisfaction, répartition)`` des professionnels des Départements des
    personnes de ``scope`` (questionnaire trimestriel, ``accompaniment.surveys``)."""
    departements = scope_departements(scope)
    professionals = (
        Membership.objects.filter(is_active=True, role__in=EDITING)
        .exclude(organisation__kind=OrganisationKind.ETAT)
        .filter(Q(organisation_id__in=departements) | Q(organisation__departement_id__in=departements))
        .order_by()
        .values("user_id")
    )
    answers = ProfessionalSurveyAnswer.objects.filter(
        departement_id__in=departements, answered_on__gte=start, answered_on__lte=end
    )
    total = _count(professionals.distinct())
    responded = _count(answers.filter(user_id__in=professionals).order_by().values("user_id").distinct())
    rate, distribution = _score_distribution(answers)
    return _ratio(responded, total), rate, distribution


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
            tune_batch_transaction(cursor)  # tris et regroupements en mémoire (4 Mo par défaut)
        connection._parcours_analytics = True
        try:
            yield
        finally:
            connection._parcours_analytics = False


def compute_indicators(scope, start, end, *, target_days=None, engine=None, table=False):
    """Tous les indicateurs sur ``scope`` (bénéficiaires) entre ``start`` et ``end`` inclus.

    Renvoie un dict dans l'ordre de ``DEFINITIONS`` (clés de CONTRACTS.md, puis compléments).
    ``target_days`` : objectif d'orientation (défaut : celui du Département de chaque personne).
    ``engine`` : moteur qui exécute les requêtes (défaut : la base de Django ; voir ``engines.py``).
    ``table`` : étapes des nouveaux entrants lues dans les tables de la cohorte (mêmes chiffres ; à lire dans
    ``cohort.reading()``, comme le tableau de bord et ses exports).
    """
    return indicators_and_series(scope, start, end, target_days=target_days, engine=engine, table=table)[0]


def indicators_and_series(scope, start, end, *, target_days=None, engine=None, cohort=None, table=False):
    """``(compute_indicators(...), série mensuelle des nouveaux entrants)``, sans relire la cohorte.

    ``cohort`` : ``(valeurs, série)`` des nouveaux entrants déjà comptés par l'appelant (``cohort_aggregate``
    de la même portée et de la même période, tableau de bord) ; ils ne sont pas recomptés. ``table`` : les
    étapes tenues à jour dans les tables de la cohorte (``cohort.py``) au lieu du journal (mêmes chiffres)."""
    check_period(start, end)
    if engine is not None:
        token = _ENGINE.set(engine)
        try:
            return _compute(scope, start, end, target_days, cohort, table)
        finally:
            _ENGINE.reset(token)
    with analytics_session():
        return _compute(scope, start, end, target_days, cohort, table)


def _compute(scope, start, end, target_days, cohort=None, table=False):
    if cohort is None:
        values, series = cohort_tallies(scope, start, end, target_days=target_days, table=table)
    else:
        values, series = dict(cohort[0]), cohort[1]
    values["delai_median_diagnostic_premiere_action_jours"] = diagnostic_to_first_action_median(
        scope, start, end, table=table
    )
    values["contrats_signes"] = contracts_signed(scope, start, end)
    values["part_accompagnement_intensif"] = intensive_share(scope, end)
    leaving, employment, by_contract, durable = exits(scope, start, end)
    values["sortants"] = leaving
    values["retours_emploi"] = employment
    values["retours_emploi_par_contrat"] = by_contract
    values["taux_retour_emploi_durable_6m"] = durable
    values["beneficiaires_suivis"], accompanied_count = followed_and_accompanied(scope, start, end)
    accompanied, steps, step_rates = employability(scope, start, end, total=accompanied_count)
    values["personnes_accompagnees"] = accompanied
    values["progression_employabilite"] = steps
    values["taux_progression_employabilite"] = step_rates
    response, satisfied, distribution = person_satisfaction(scope, start, end)
    values["satisfaction_personnes_taux_reponse"] = response
    values["satisfaction_personnes_taux"] = satisfied
    values["satisfaction_personnes_repartition"] = distribution
    response, satisfied, distribution = professional_satisfaction(scope, start, end)
    values["satisfaction_professionnels_taux_reponse"] = response
    values["satisfaction_professionnels_taux"] = satisfied
    values["satisfaction_professionnels_repartition"] = distribution
    return {key: values[key] for key in INDICATOR_IDS}, series
