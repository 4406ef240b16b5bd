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
"""

from dataclasses import dataclass

from django.db.models import CharField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from parcours.beneficiaries.models import Beneficiary
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
    has_portfolio: bool  # l'agent a-t-il des personnes en portefeuille ?

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


def read_filter(user, params):
    """Le filtre demandé (``?qui=moi|tous&q=…``) ; sans choix valide : « mes personnes » pour un agent qui a
    un portefeuille, sinon tout le périmètre."""
    portfolio = has_portfolio(user)
    who = params.get(WHO_PARAM, "")
    if who not in (MINE, ALL):
        who = MINE if portfolio else ALL
    query = " ".join((params.get(SEARCH_PARAM) or "").split())[:SEARCH_MAX_LENGTH]
    return WorkListFilter(who=who, query=query, has_portfolio=portfolio)


def people(user, work_filter, *, former=False):
    """Les personnes de la liste : le périmètre de l'agent, restreint à son portefeuille (« mes personnes »)
    et aux personnes trouvées par la recherche. Toujours un sous-ensemble de ``visible_to(user)``.

    ``former=True`` : « mes personnes » comprend celles dont l'agent a été le dernier référent (liste des
    personnes sorties : la sortie a clos la désignation)."""
    scope = Beneficiary.objects.visible_to(user)
    if work_filter.mine:
        scope = scope.filter(pk__in=portfolio_ids(user, former=former))
    if work_filter.query:
        # La recherche trie par pertinence : seule la sélection compte ici (ordre des échéances gardé).
        scope = Beneficiary.objects.filter(pk__in=scope.search(work_filter.query).order_by().values("pk"))
    return scope
