"""Le périmètre de l'agent évalué sur les tables du tableau de bord, sans relire les personnes.

Le périmètre (``Beneficiary.objects.countable_by`` ou ``visible_to``, restreint au territoire et à
l'organisation choisis : ``definitions.beneficiary_scope``) est une condition sur la personne : son
Département, son territoire, son identifiant parmi les personnes suivies par une organisation. Les tables de
la cohorte (``models.CohortEntry``, ``models.FirstDiagnosis``) gardent ces colonnes de la personne, tenues à
jour (migration 0003) : ``stored_condition`` y recopie **la même condition**, lue dans la requête du
périmètre, colonne par colonne. La règle du périmètre reste écrite une fois (``beneficiaries``) ; ici, rien
n'est décidé, on ne fait que changer de table.

À 150 000 personnes, la table des personnes (large : adresses, NIR chiffré…) n'est ainsi plus parcourue pour
savoir lesquelles comptent. Une condition qui lit autre chose (une autre colonne, une jointure, une négation)
n'est pas recopiée : ``None``, et l'appelant garde la sous-requête sur les personnes (mêmes chiffres).
"""

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In, IsNull
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, OR, NothingNode, WhereNode

from parcours.beneficiaries.models import Beneficiary

# Colonne de la personne → colonne gardée (mêmes valeurs) dans les tables de la cohorte.
STORED_COLUMNS = {"id": "beneficiary_id", "departement_id": "departement_id", "territory_id": "territory_id"}
_LOOKUPS = ((Exact, "exact"), (In, "in"), (IsNull, "isnull"))  # et leurs variantes des clés étrangères


class _NotStored(Exception):
    pass


def stored_condition(scope):
    """``Q`` sur les colonnes gardées (``STORED_COLUMNS``) qui choisit les mêmes personnes que ``scope`` (un
    QuerySet de ``Beneficiary``), ou ``None`` si ``scope`` lit autre chose."""
    query = scope.query
    if (
        query.model is not Beneficiary
        or query.combinator
        or query.is_sliced
        or query.distinct
        # Une seule table : la personne elle-même, sans jointure.
        or len([a for a, join in query.alias_map.items() if query.alias_refcount.get(a)]) > 1
    ):
        return None
    try:
        return _condition(query.where, query.get_initial_alias(), scope.db)
    except _NotStored:
        return None


def _condition(node, alias, using):
    if isinstance(node, NothingNode):
        return Q(pk__in=[])
    if isinstance(node, WhereNode):
        if node.negated or node.connector not in (AND, OR):
            raise _NotStored
        parts = [_condition(child, alias, using) for child in node.children]
        if not parts:
            return Q()
        condition = parts[0]
        for part in parts[1:]:
            condition = condition & part if node.connector == AND else condition | part
        return condition
    name = next((name for kind, name in _LOOKUPS if isinstance(node, kind)), None)
    lhs = getattr(node, "lhs", None)
    if name is None or not isinstance(lhs, Col) or lhs.alias != alias:
        raise _NotStored
    column = STORED_COLUMNS.get(lhs.target.column)
    if column is None or lhs.target.model is not Beneficiary:
        raise _NotStored
    rhs = node.rhs
    if isinstance(rhs, Query):
        # Sous-requête (personnes suivies par une organisation…) : reprise telle quelle, si elle ne se réfère
        # pas à la personne de la requête extérieure (sous-requête corrélée).
        sql, _params = rhs.get_compiler(using=using).as_sql()
        if f"{connections[using].ops.quote_name(alias)}." in sql:
            raise _NotStored
        rhs = QuerySet(model=rhs.model, query=rhs)
    elif hasattr(rhs, "resolve_expression"):  # expression (F, sous-requête corrélée…) : non recopiée
        raise _NotStored
    return Q(**{f"{column}__{name}": rhs})
