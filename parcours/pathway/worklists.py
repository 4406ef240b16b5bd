"""Listes de travail des agents : « mes personnes » ou « tout mon périmètre », référent en cours, recherche.

Les listes de travail (revues à tenir, contrats en retard, procédures en cours, vérifications à 6 mois…)
partent toujours du périmètre de l'agent (``Beneficiary.objects.visible_to``) : c'est la limite de sécurité.
« Mes personnes » en est un sous-ensemble : les personnes dont l'agent est le référent en cours (désignation
``ReferentAssignment`` ouverte, ``ended_on`` vide). Par défaut, un agent qui a au moins une personne en
portefeuille voit ses personnes ; un agent sans portefeuille (chargé d'orientation, responsable) voit tout
son périmètre.

Le nom du référent en cours est une sous-requête de la requête de la liste (aucune requête par ligne) ; la
recherche par nom est celle de la liste des personnes (``BeneficiaryQuerySet.search`` : sans accents ni casse,
identifiants compris).

Les listes d'objets que l'agent tient lui-même (rendez-vous dont il est l'un des professionnels, prescriptions
qu'il a faites) passent ``own`` : « mes » objets sont alors ceux de ses personnes **ou** les siens (``objects``).

Les pages des listes partagent la lecture du filtre (``work_list``), leur contexte (``work_list_context``,
gabarits ``pathway/_worklist_filters.html``, ``_worklist_header.html``, ``_worklist_pagination.html``) et l'export
CSV de toute la liste filtrée, inscrit au journal d'accès (``export_work_list``).
"""

import dataclasses
import itertools
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from parcours.audit.services import record_export
from parcours.beneficiaries.models import Beneficiary
from parcours.core.csv_export import streaming_csv_response
from parcours.orientation.models import ReferentAssignment

MINE = "moi"
ALL = "tous"
WHO_CHOICES = ((MINE, "Mes personnes"), (ALL, "Tout mon périmètre"))
WHO_PARAM = "qui"
SEARCH_PARAM = "q"
SEARCH_MAX_LENGTH = 100


def current_assignments():
    """Désignations de référent en cours (une au plus par personne, contrainte ``one_current_referent``)."""
    return ReferentAssignment.objects.filter(ended_on__isnull=True)


def has_portfolio(user):
    """Vrai si l'agent est le référent en cours d'au moins une personne."""
    if not getattr(user, "pk", None):
        return False
    return current_assignments().filter(referent=user).exists()


def portfolio_ids(user, *, former=False):
    """Sous-requête : identifiants des personnes dont ``user`` est le référent en cours ; ``former=True`` : ou
    le dernier référent désigné (désignation close depuis, par une sortie par exemple, sans successeur)."""
    if not former:
        return current_assignments().filter(referent=user).order_by().values("beneficiary_id")
    later = ReferentAssignment.objects.filter(
        beneficiary_id=OuterRef("beneficiary_id"), started_on__gt=OuterRef("started_on")
    )
    return (
        ReferentAssignment.objects.filter(referent=user)
        .filter(Q(ended_on__isnull=True) | ~Exists(later))
        .order_by()
        .values("beneficiary_id")
    )


def _assignments_of(person, former):
    if not former:
        return current_assignments().filter(beneficiary_id=OuterRef(person))
    # La désignation en cours d'abord, sinon la dernière.
    return ReferentAssignment.objects.filter(beneficiary_id=OuterRef(person)).order_by(
        F("ended_on").desc(nulls_first=True), "-started_on", "-pk"
    )


def referent_name(person="pk", *, former=False):
    """Sous-requête : nom du référent en cours de la personne désignée par ``person`` (référence extérieure,
    ``"pk"`` pour une liste de personnes, ``"beneficiary_id"`` pour une liste d'objets de la personne) ;
    prénom et nom, ou l'adresse électronique sans nom ; vide sans référent. ``former=True`` : à défaut de
    référent en cours, le dernier désigné (personnes sorties : la sortie clôt la désignation)."""
    name = NullIf(
        Trim(
            Concat(F("referent__first_name"), Value(" "), F("referent__last_name"), output_field=CharField())
        ),
        Value(""),
    )
    return Subquery(
        _assignments_of(person, former)
        .annotate(_name=Coalesce(name, F("referent__email"), output_field=CharField()))
        .values("_name")[:1],
        output_field=CharField(),
    )


def with_referent_name(queryset, person="pk", *, former=False):
    """``queryset`` annoté de ``referent_name`` (voir ``referent_name``)."""
    return queryset.annotate(referent_name=referent_name(person, former=former))


@dataclass(frozen=True)
class WorkListFilter:
    """Filtre d'une liste de travail, lu dans les paramètres de la requête."""

    who: str  # MINE ou ALL (valeur appliquée)
    query: str  # texte cherché (nom, prénom ou identifiant)
    has_portfolio: bool  # l'agent a-t-il des personnes en portefeuille (ou des objets de la liste à lui) ?

    @property
    def mine(self):
        return self.who == MINE

    def params(self, **extra):
        """Paramètres de la requête qui reproduisent ce filtre (pagination, export) ; vides omis."""
        params = {WHO_PARAM: self.who}
        if self.query:
            params[SEARCH_PARAM] = self.query
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return params


def read_filter(user, params, *, own=None):
    """Le filtre demandé (``?qui=moi|tous&q=…``) ; sans choix valide : « mes personnes » pour un agent qui a
    un portefeuille, sinon tout le périmètre. ``own`` : objets de la liste que l'agent tient lui-même
    (QuerySet) ; s'il en a, le choix lui est offert et « les miens » est le défaut, même sans portefeuille."""
    portfolio = has_portfolio(user) or (own is not None and own.exists())
    who = params.get(WHO_PARAM, "")
    if who not in (MINE, ALL):
        who = MINE if portfolio else ALL
    return WorkListFilter(who=who, query=read_query(params), has_portfolio=portfolio)


def read_query(params):
    """Le texte cherché (``?q=…``), espaces réduits, borné à ``SEARCH_MAX_LENGTH`` caractères."""
    return " ".join((params.get(SEARCH_PARAM) or "").split())[:SEARCH_MAX_LENGTH]


def matching(scope, query):
    """Les personnes de ``scope`` trouvées par ``query`` (recherche de la liste des personnes : sans accents ni
    casse, identifiants compris) ; toutes sans texte cherché. Seule la sélection compte : l'ordre par
    pertinence de la recherche n'est pas gardé (la liste garde le sien)."""
    if not query:
        return scope
    return Beneficiary.objects.filter(pk__in=scope.search(query).order_by().values("pk"))


def people(user, work_filter, *, former=False):
    """Les personnes de la liste : le périmètre de l'agent, restreint à son portefeuille (« mes personnes »)
    et aux personnes trouvées par la recherche. Toujours un sous-ensemble de ``visible_to(user)``.

    ``former=True`` : « mes personnes » comprend celles dont l'agent a été le dernier référent (liste des
    personnes sorties : la sortie a clos la désignation)."""
    scope = Beneficiary.objects.visible_to(user)
    if work_filter.mine:
        scope = scope.filter(pk__in=portfolio_ids(user, former=former))
    return matching(scope, work_filter.query)


def objects(queryset, user, work_filter, *, own=None, person="beneficiary"):
    """Les objets de la liste (rendez-vous, prescriptions…) des personnes du périmètre de l'agent trouvées par
    la recherche ; « les miens » : ceux des personnes de son portefeuille, ou ceux qu'il tient (``own`` : une
    condition ``Q`` sur les objets). ``person`` : le champ de la personne. Jamais hors de ``visible_to(user)``."""
    scope = people(user, dataclasses.replace(work_filter, who=ALL))
    queryset = queryset.filter(**{f"{person}__in": scope.values("pk")})
    if work_filter.mine:
        mine = Q(**{f"{person}__in": portfolio_ids(user)})
        if own is not None:
            mine |= own
        queryset = queryset.filter(mine)
    return queryset


# --- pages des listes de travail ------------------------------------------------------------------------


def work_list(request, *, former=False):
    """Filtre d'une liste de travail (« mes personnes » ou tout le périmètre, recherche) et ses personnes,
    toujours dans le périmètre de l'agent."""
    work_filter = read_filter(request.user, request.GET)
    return work_filter, people(request.user, work_filter, former=former)


def work_list_context(work_filter, page, *, who_choices=WHO_CHOICES, **params):
    """Contexte commun des listes de travail : filtre, page, paramètres de la pagination et de l'export."""
    return {
        "work_filter": work_filter,
        "who_choices": who_choices,
        "page_obj": page,
        "query_string": urlencode(work_filter.params(**params)),
    }


def wants_csv(request):
    return request.GET.get("format") == "csv"


def csv_date(value):
    return value.strftime("%d/%m/%Y") if value else ""


def export_work_list(request, queryset, *, people, header, row, filename, reason):
    """Export CSV en flux de toute la liste filtrée, inscrit au journal d'accès (une entrée par personne,
    comme l'export de la liste des personnes) ; ``people`` : couples (personne, Département) de la liste ;
    ``queryset`` : les objets de la liste (lus par paquets), ou une liste déjà lue."""
    record_export(request, people, reason=reason)
    if isinstance(queryset, QuerySet):
        queryset = queryset.iterator(chunk_size=2000)
    rows = (row(obj) for obj in queryset)
    return streaming_csv_response(
        itertools.chain([header], rows), f"{filename}-{timezone.localdate():%Y-%m-%d}.csv"
    )


def person_cells(person, referent_name):
    """Premières colonnes d'une ligne exportée : nom, prénom, territoire, référent."""
    territory = person.territory.name if person.territory_id else ""
    return [person.last_name, person.first_name, territory, referent_name or ""]


PERSON_HEADER = ["Nom", "Prénom", "Territoire", "Référent"]


# --- nouvelles des rendez-vous ------------------------------------------------------------------------------

NEWS_DAYS = 7  # rendez-vous pris, annulés, excusés : depuis 7 jours


def appointment_news_kinds():
    from parcours.journal.models import EventKind

    return (EventKind.APPOINTMENT_PLANNED, EventKind.APPOINTMENT_CANCELLED, EventKind.APPOINTMENT_EXCUSED)


def appointment_news(people, since, *, user=None):
    """Rendez-vous pris, annulés et absences excusées depuis ``since`` pour les personnes ``people`` (un
    ensemble déjà limité au périmètre de l'agent), lus dans le journal, les plus récents d'abord ; sans ce que
    l'agent ``user`` a saisi lui-même : le référent et l'équipe d'orientation sont prévenus de ce que d'autres
    (la personne en ligne, un partenaire, un collègue) ont fait."""
    from parcours.journal.models import Event

    events = Event.objects.filter(
        kind__in=appointment_news_kinds(),
        occurred_on__gte=since,
        beneficiary__in=people.order_by().values("pk"),
    )
    if getattr(user, "pk", None):
        events = events.exclude(actor=user)
    return events.select_related("beneficiary", "actor", "organisation", "batch").order_by(
        "-recorded_at", "-pk"
    )
