"""L'accueil de chaque rôle : « sa journée ».

Chaque agent voit les blocs de ses rôles (appartenances actives, ``accounts.roles.memberships_of``), dans
l'ordre du travail de la journée :

- **référent** (rôle référent hors structure et État, ou personnes en portefeuille) : mes personnes et leur
  prochaine échéance (la règle de la fiche racontée, ``story.situations``), mes rendez-vous de la semaine
  (agenda de l'orientation), mes listes de travail comptées sur mes personnes, les réponses des structures à
  mes prescriptions ;
- **structure** (organisation rattachée à une structure du catalogue) : les prescriptions reçues en attente ;
- **équipe d'orientation** : les files et leur total plafonné (``orientation.queues.queue_counts``, une
  requête), le plus ancien nouvel entrant des files de personnes (lu dans l'ordre de l'index de la file) ;
- **dépôt des flux** : les derniers imports ;
- **responsable, services de l'État** : quelques chiffres des nouveaux entrants de la table de la cohorte
  (une requête) et les liens du pilotage qu'ils peuvent ouvrir ; les échéances des bilans de conventions ;
- **délégué à la protection des données** : les dernières entrées du journal d'accès.

Chaque lien passe par la déclaration d'accès de sa page (``link``, comme le menu) : l'accueil ne montre
aucun lien qui mènerait à un refus. Le nombre de requêtes ne dépend pas du nombre de personnes (aucune
requête par ligne) ; les listes de personnes partent de ``Beneficiary.objects.visible_to``.

Ce module lit plusieurs applications métier : il vit dans la couche web, qu'aucune application n'importe, et
n'écrit rien.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.urls import resolve, reverse
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.accounts.roles import (
    CONVENTION_READER,
    DATA_PROTECTION,
    FLUX_IMPORTER,
    ORIENTATION_TEAM,
    PEOPLE_FOLLOWER,
    READ_ONLY,
    TEAM,
    memberships_of,
)
from parcours.core.access import policy_of

PEOPLE_SHOWN = 10  # personnes du portefeuille montrées (les échéances les plus proches)
ANSWERS_DAYS = 30  # réponses des structures à mes prescriptions : depuis 30 jours
ANSWERS_SHOWN = 5
RECEIVED_SHOWN = 10
AUDIT_SHOWN = 10
IMPORTS_SHOWN = 5
REPORTS_SHOWN = 5
REVIEWS_HORIZON_DAYS = 30  # comme la liste des revues à tenir

NOT_REFERENT_KINDS = frozenset({OrganisationKind.STRUCTURE, OrganisationKind.ETAT})


def link(user, name, *args, query=None):
    """L'adresse de la page ``name`` si ``user`` passe sa déclaration d'accès (niveau et capacité), sinon
    None : le même contrôle que le menu principal."""
    path = reverse(name, args=args)
    policy = policy_of(resolve(path).func)
    if policy is None or not policy.allows(user):
        return None
    return f"{path}?{urlencode(query)}" if query else path


@dataclass
class Tile:
    """Un chiffre et la liste qu'il résume."""

    label: str
    url: str | None
    count: object  # int ou ``CappedCount``
    hint: str = ""

    @property
    def number(self):
        """Le nombre pour l'accord (un ``CappedCount`` au-delà du plafond compte « plusieurs »)."""
        return int(self.count)


@dataclass
class Block:
    """Un bloc de l'accueil : son gabarit (``www/home/_<key>.html``) et ses données."""

    key: str
    title: str
    data: dict = field(default_factory=dict)

    @property
    def template(self):
        return f"www/home/_{self.key}.html"


# --- rôles ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roles:
    """Les rôles de l'accueil, lus dans les appartenances gardées pour la requête (aucune requête)."""

    referent: bool
    team: bool
    importer: bool
    manager: bool
    state: bool
    dpo: bool
    conventions: bool
    people: bool  # voit des personnes (listes de travail)
    partner: bool  # organisation autre que le Département et l'État (structure possible)


def roles_of(user):
    memberships = memberships_of(user)
    superuser = user.is_superuser
    kinds = {m.organisation.kind for m in memberships}
    return Roles(
        referent=any(
            m.role == Role.REFERENT and m.organisation.kind not in NOT_REFERENT_KINDS for m in memberships
        ),
        team=ORIENTATION_TEAM.allows(user),
        importer=FLUX_IMPORTER.allows(user),
        manager=superuser or any(m.role in READ_ONLY for m in memberships),
        state=any(m.organisation.kind == OrganisationKind.ETAT and m.role != Role.DPO for m in memberships),
        dpo=superuser or any(m.role in DATA_PROTECTION for m in memberships),
        conventions=CONVENTION_READER.allows(user),
        people=PEOPLE_FOLLOWER.allows(user),
        partner=bool(kinds - {OrganisationKind.DEPARTEMENT, OrganisationKind.ETAT}),
    )


def home_blocks(user, today=None, now=None):
    """Les blocs de l'accueil de ``user``, dans l'ordre du travail de ses rôles."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    roles = roles_of(user)
    blocks = []
    # Un chargé d'orientation ou un administrateur peut aussi être référent de quelques personnes.
    referent = roles.referent or (any(m.role in TEAM for m in memberships_of(user)) and _has_portfolio(user))
    if referent:
        blocks.append(referent_block(user, today))
    if roles.partner:
        block = structure_block(user)
        if block is not None:
            blocks.append(block)
    if roles.team:
        blocks.append(orientation_block(user, today, now))
    if roles.importer:
        blocks.append(imports_block(user))
    if roles.manager or roles.state:
        blocks.append(pilotage_block(user, today, state=roles.state))
    if roles.conventions:
        blocks.append(conventions_block(user, today))
    if roles.dpo:
        blocks.append(audit_block(user))
    if roles.people:
        block = worklists_block(user)
        if block is not None:
            blocks.append(block)
    return blocks


def _has_portfolio(user):
    from parcours.pathway.worklists import has_portfolio

    return has_portfolio(user)


# --- référent ---------------------------------------------------------------------------------------------


@dataclass
class PersonRow:
    person: object
    url: str | None
    stage: str
    deadline: object  # ``story.Deadline`` ou None


def _week(today):
    monday = today - datetime.timedelta(days=today.weekday())
    return monday, monday + datetime.timedelta(days=6)


def my_people(user, mine, today):
    """(nombre de personnes de mon portefeuille, les ``PEOPLE_SHOWN`` dont l'échéance est la plus proche) ;
    ``mine`` : mes personnes (``pathway.worklists.people``, « mes personnes »).

    Les échéances sont celles de la fiche racontée (``story.situations``), calculées pour tout le portefeuille
    en cinq requêtes ; les personnes sans échéance viennent en dernier."""
    from .story import people_for_situations, situations

    count = mine.count()
    if count > settings.PARCOURS_SITUATIONS_MAX:
        return count, []  # échéances lues dans le portefeuille, page par page
    people = list(people_for_situations(mine).order_by("last_name", "pk"))
    found = situations(people, today)
    far = datetime.date.max

    def key(person):
        deadline = found[person.pk].next
        return (deadline.on if deadline else far, person.last_name, person.pk)

    rows = [
        PersonRow(
            person,
            link(user, "beneficiary_detail", person.pk),
            found[person.pk].stage,
            found[person.pk].next,
        )
        for person in sorted(people, key=key)[:PEOPLE_SHOWN]
    ]
    return count, rows


def my_appointments(user, today):
    """Mes rendez-vous de la semaine (agenda de l'orientation : ceux où je suis l'un des professionnels)."""
    from parcours.beneficiaries.models import Beneficiary
    from parcours.orientation.services import appointments_for_agent

    monday, sunday = _week(today)
    appointments = list(appointments_for_agent(user, monday, sunday))
    ids = {a.beneficiary_id for a in appointments}
    visible = (
        set(Beneficiary.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
        if ids
        else set()
    )
    return [
        {
            "appointment": a,
            "url": link(user, "beneficiary_detail", a.beneficiary_id)
            if a.beneficiary_id in visible
            else None,
            "past": a.starts_at < timezone.now(),
        }
        for a in appointments
    ]


def my_work_counts(user, people, today):
    """Mes listes de travail (« mes personnes ») et leur total plafonné, lus en une requête (plus celles des
    délais par Département de chaque liste)."""
    from parcours.accompaniment import exits, reviews, sanctions
    from parcours.accompaniment.services import late_contracts
    from parcours.core.pagination import capped_counts

    counts = capped_counts(
        {
            "reviews": reviews.reviews_due(people, today, horizon_days=REVIEWS_HORIZON_DAYS),
            "contracts": late_contracts(people, today),
            "cases": sanctions.cases_in_progress(people),
            "checks": exits.durable_checks_due_queryset(people, today),
        }
    )
    mine = {"qui": "moi"}
    return [
        Tile(
            "Revues à tenir",
            link(user, "accompaniment:reviews_due", query=mine),
            counts["reviews"],
            f"échéance d'ici {REVIEWS_HORIZON_DAYS} jours ou dépassée",
        ),
        Tile(
            "Contrats d'engagement en retard",
            link(user, "accompaniment:late_contracts", query=mine),
            counts["contracts"],
        ),
        Tile(
            "Procédures en cours", link(user, "accompaniment:cases_in_progress", query=mine), counts["cases"]
        ),
        Tile(
            "Vérifications à 6 mois",
            link(user, "accompaniment:durable_checks_due", query=mine),
            counts["checks"],
            "emploi durable après une sortie",
        ),
    ]


def my_answered_prescriptions(user, now):
    """Les réponses des structures à mes prescriptions depuis ``ANSWERS_DAYS`` jours (la plus récente d'abord),
    pour les personnes de mon périmètre."""
    from parcours.catalogue.models import PrescriptionStatus
    from parcours.catalogue.prescriptions import visible_prescriptions

    answered = (
        visible_prescriptions(user)
        .filter(
            prescriber=user,
            status__in=[PrescriptionStatus.ACCEPTED, PrescriptionStatus.REFUSED],
            answered_at__gte=now - datetime.timedelta(days=ANSWERS_DAYS),
        )
        .select_related("beneficiary", "service", "structure")
        .order_by("-answered_at", "-pk")[:ANSWERS_SHOWN]
    )
    return [{"prescription": p, "url": link(user, "catalogue:prescription_detail", p.pk)} for p in answered]


NEWS_SHOWN = 8


def appointment_news(user, people, today, *, target="beneficiary_detail"):
    """Rendez-vous pris, annulés, absences excusées des ``NEWS_DAYS`` derniers jours pour ``people``, saisis par
    d'autres que l'agent (``pathway.worklists.appointment_news``), en phrases de la fiche racontée ; une
    requête, plus les noms cités."""
    from parcours.pathway.worklists import NEWS_DAYS
    from parcours.pathway.worklists import appointment_news as news

    from .story import timeline

    since = today - datetime.timedelta(days=NEWS_DAYS)
    lines = timeline(news(people, since, user=user)[:NEWS_SHOWN])
    return [{"line": line, "url": link(user, target, line.event.beneficiary_id)} for line in lines]


def referent_block(user, today):
    from parcours.pathway import worklists

    # « Mes personnes » des listes de travail (``?qui=moi``) : mon portefeuille, dans mon périmètre.
    mine = worklists.people(user, worklists.WorkListFilter(who=worklists.MINE, query="", has_portfolio=True))
    count, rows = my_people(user, mine, today)
    monday, sunday = _week(today)
    return Block(
        "referent",
        "Mes personnes",
        {
            "count": count,
            "rows": rows,
            "too_many": count > settings.PARCOURS_SITUATIONS_MAX,
            "today": today,
            "portfolio_url": link(user, "orientation:portfolio"),
            "appointments": my_appointments(user, today),
            "monday": monday,
            "sunday": sunday,
            "agenda_url": link(user, "orientation:agenda"),
            "tiles": my_work_counts(user, mine, today) if count else [],
            "answers": my_answered_prescriptions(user, timezone.now()),
            "news": appointment_news(user, mine, today) if count else [],
            "answers_days": ANSWERS_DAYS,
            "prescriptions_url": link(user, "catalogue:prescription_list"),
        },
    )


# --- périmètre -------------------------------------------------------------------------------------------


def scope_tiles(user):
    """« Votre périmètre » (``/accueil/perimetre/``, demandé par l'accueil après la page) : ``(comptes, tuiles)``
    des personnes du périmètre, des nouveaux entrants récents et des soumis aux droits et devoirs, plafonnés et
    lus en une requête (``beneficiaries.queries.dashboard_counts``)."""
    from parcours.beneficiaries.models import Beneficiary
    from parcours.beneficiaries.queries import NEW_ENTRANTS_WINDOW_DAYS, dashboard_counts
    from parcours.beneficiaries.scope import followed_only

    counts = dashboard_counts(Beneficiary.objects.visible_to(user), partners=followed_only(user))
    people = reverse("beneficiary_list")
    since = counts["new_entrants_since"]
    tiles = [
        Tile("Bénéficiaires dans votre périmètre", people, counts["beneficiaries"]),
        Tile(
            f"Nouveaux entrants depuis le {since:%d/%m/%Y}",
            f"{people}?{urlencode({'entrant_depuis': since.isoformat()})}",
            counts["new_entrants"],
            f"T0 dans les {NEW_ENTRANTS_WINDOW_DAYS} derniers jours",
        ),
        Tile("Soumis aux droits et devoirs", f"{people}?{urlencode({'sdd': 'oui'})}", counts["sdd"]),
    ]
    return counts, tiles


# --- structure --------------------------------------------------------------------------------------------


def structure_block(user):
    """Prescriptions reçues en attente de réponse, l'échéance la plus proche d'abord ; None si aucune
    structure du catalogue n'est rattachée aux organisations de l'agent."""
    from parcours.catalogue import permissions as catalogue_permissions
    from parcours.catalogue.models import PrescriptionStatus
    from parcours.catalogue.prescriptions import received_prescriptions
    from parcours.core.pagination import capped_count

    if not catalogue_permissions.space_structures(user).exists():
        return None
    waiting = received_prescriptions(user).filter(status=PrescriptionStatus.OPEN)
    rows = waiting.select_related("service", "structure").order_by("expires_on", "pk")[:RECEIVED_SHOWN]
    count = capped_count(waiting)
    return Block(
        "structure",
        "Prescriptions reçues",
        {
            "count": count,
            "number": int(count),
            "rows": [
                {"prescription": p, "url": link(user, "catalogue:received_prescription", p.pk)} for p in rows
            ],
            "space_url": link(user, "catalogue:structure_space"),
        },
    )


# --- équipe d'orientation ---------------------------------------------------------------------------------


def _oldest(queryset, today):
    """Le plus ancien nouvel entrant d'une file de personnes (ordre de l'index de la file : T0, nom) et ses
    délais d'orientation ; None si la file est vide."""
    from parcours.orientation.queues import deadlines

    person = queryset.order_by("new_entrant_t0", "last_name", "pk").select_related("departement").first()
    if person is None:
        return None
    target, legal = deadlines(person.new_entrant_t0, person.departement)
    return {
        "person": person,
        "t0": person.new_entrant_t0,
        "target": target,
        "legal": legal,
        "target_overdue": target < today,
        "legal_overdue": legal < today,
    }


def orientation_block(user, today, now):
    from parcours.orientation import permissions as orientation_permissions
    from parcours.orientation.queues import new_entrants_to_invite, people_to_orient, queue_counts
    from parcours.orientation.views import QUEUES

    scope = orientation_permissions.team_scope(user)
    counts = queue_counts(scope, today, now)
    oldest = {
        "a_inviter": _oldest(new_entrants_to_invite(scope, today), today),
        "a_orienter": _oldest(people_to_orient(scope, today), today),
    }
    queues = [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "number": int(counts[key]),
            "url": link(user, "orientation:queues", query={"file": key}),
            "oldest": oldest.get(key),
        }
        for key, label in QUEUES
    ]
    return Block(
        "orientation",
        "Files de l'orientation",
        {
            "queues": queues,
            "queues_url": link(user, "orientation:queues"),
            "batch_url": link(user, "orientation:batch"),
            "convocations_url": link(user, "orientation:convocations"),
            "news": appointment_news(user, scope, today, target="orientation:panel"),
        },
    )


# --- imports de flux --------------------------------------------------------------------------------------


def imports_block(user):
    from .views.imports import visible_batches

    memberships = memberships_of(user)
    return Block(
        "imports",
        "Derniers imports de flux",
        {
            "last_imports": list(visible_batches(user, memberships)[:IMPORTS_SHOWN]),
            "new_url": link(user, "import_new"),
            "list_url": link(user, "import_list"),
        },
    )


# --- pilotage (responsable, services de l'État) -----------------------------------------------------------

PILOTAGE_FIGURES = (
    "nouveaux_entrants",
    "taux_orientation_15j",
    "delai_median_t0_orientation_jours",
    "part_nouveaux_entrants_avec_contrat",
)


def pilotage_figures(user, today):
    """Quelques chiffres des nouveaux entrants des 12 derniers mois (période par défaut du tableau de bord),
    lus dans la table de la cohorte en une requête, par les définitions des indicateurs."""
    from parcours.beneficiaries.models import Beneficiary
    from parcours.indicators.definitions import DEFINITIONS, cohort_aggregate, cohort_queryset
    from parcours.indicators.formatting import display
    from parcours.indicators.forms import default_period

    start, end = default_period(today)
    cohort = cohort_queryset(Beneficiary.objects.countable_by(user), start, end, table=True, lean=True)
    values, _series, _counts = cohort_aggregate(cohort, start, end)
    definitions = {d.id: d for d in DEFINITIONS}
    figures = [
        {"label": definitions[key].label, "display": display(definitions[key], values[key])}
        for key in PILOTAGE_FIGURES
        if key in definitions
    ]
    return start, end, figures


def pilotage_block(user, today, *, state=False):
    from parcours.indicators.drees import departements_for_aggregates

    start, end, figures = pilotage_figures(user, today)
    aggregates = departements_for_aggregates(user, memberships_of(user))
    links = [
        ("Tableau de bord de pilotage", link(user, "indicators:dashboard")),
        (
            "Questionnaire annuel DREES",
            link(user, "indicators:drees") if aggregates is None or aggregates else None,
        ),
    ]
    return Block(
        "pilotage",
        "Indicateurs du Département" if state else "Pilotage",
        {
            "start": start,
            "end": end,
            "figures": figures,
            "dashboard_url": link(user, "indicators:dashboard"),
            "links": [(label, url) for label, url in links if url],
        },
    )


# --- conventions ------------------------------------------------------------------------------------------


def conventions_block(user, today):
    """Les bilans de convention à produire (non transmis), l'échéance la plus proche d'abord."""
    from parcours.conventions.models import Convention, ReportDeadline

    deadlines = (
        ReportDeadline.objects.filter(
            convention__in=Convention.objects.visible_to(user).values("pk"), submitted_on__isnull=True
        )
        .select_related("convention")
        .order_by("due_on", "pk")[:REPORTS_SHOWN]
    )
    return Block(
        "conventions",
        "Bilans de conventions à produire",
        {
            "rows": [
                {
                    "deadline": d,
                    "url": link(user, "conventions:detail", d.convention_id),
                    "overdue": d.due_on < today,
                }
                for d in deadlines
            ],
            "list_url": link(user, "conventions:list"),
        },
    )


# --- délégué à la protection des données ------------------------------------------------------------------


def audit_block(user):
    from parcours.audit.services import visible_entries

    return Block(
        "audit",
        "Journal d'accès",
        {
            "entries": list(visible_entries(user).order_by("-pk")[:AUDIT_SHOWN]),
            "list_url": link(user, "audit:list"),
        },
    )


# --- listes de travail ------------------------------------------------------------------------------------

WORK_LISTS = [
    ("Revues à tenir", "accompaniment:reviews_due"),
    ("Contrats d'engagement en retard", "accompaniment:late_contracts"),
    ("Procédures de suspension-remobilisation en cours", "accompaniment:cases_in_progress"),
    ("Équipes pluridisciplinaires : calendrier des séances", "accompaniment:session_list"),
    ("Vérifications à 6 mois après une sortie", "accompaniment:durable_checks_due"),
    ("Mon portefeuille", "orientation:portfolio"),
    ("Mon agenda", "orientation:agenda"),
    ("Agenda des rendez-vous par agent et par organisation", "booking:agenda"),
    ("Plages de rendez-vous et fermetures", "booking:openings"),
    ("Contrats d'engagement à imprimer", "accompaniment:contract_index"),
    ("Notifications d'orientation à imprimer", "orientation:notification_list"),
    ("Prescriptions", "catalogue:prescription_list"),
]


def worklists_block(user):
    """Les listes de travail que l'agent peut ouvrir (filtrées par leur déclaration d'accès)."""
    links = [(label, url) for label, name in WORK_LISTS if (url := link(user, name))]
    if not links:
        return None
    return Block("worklists", "Listes de travail", {"links": links})
