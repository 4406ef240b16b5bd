"""Indicateurs par organisation et par référent : une ligne par groupe, calculée avec les mêmes définitions.

Une requête par tableau, quel que soit le nombre de personnes et de groupes : la base joint les entrées
de la cohorte (``cohort_queryset``, lue dans la table de la cohorte) aux couples (personne, groupe) du
rattachement (``attachments.py``) et compte chaque groupe, la ligne des personnes sans groupe et
l'ensemble ; les personnes suivies à la fin de la période (``followed_people``) aussi. Les couples sont
lus pour toute la période sans le périmètre : seules comptent leurs personnes parmi les entrées et les
personnes suivies, qui en sont ; un groupe dont aucune n'en est ne garde sa ligne (à zéro) que s'il
rattache une personne du périmètre (vérifié pour ces seuls groupes). Les comptes sont
changés en indicateurs par ``definitions.tally_values``, comme ceux du tableau de bord : une ligne donne
donc les mêmes valeurs que le tableau de bord filtré sur cette organisation (vérifié par les tests).

Les lignes « aucune organisation » / « sans référent » regroupent les personnes du périmètre sans
rattachement dans la période (par exemple les nouveaux entrants pas encore orientés).
"""

from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Q

from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User

from .attachments import organisation_members, organisation_pair_sources, referent_pair_sources
from .definitions import (
    DEFINITIONS_BY_ID,
    DELAY_BUCKETS,
    NOT_ORIENTED,
    PATHWAY_KEYS,
    cohort_queryset,
    followed_people,
    tally_values,
)
from .sql import SQLITE_MEDIAN

# Colonnes des tableaux par organisation / par référent (indicateurs des nouveaux entrants et suivis).
BREAKDOWN_IDS = [
    "nouveaux_entrants",
    "nouveaux_entrants_orientes_15j",
    "taux_orientation_15j",
    "delai_median_t0_orientation_jours",
    "part_nouveaux_entrants_avec_referent",
    "part_nouveaux_entrants_avec_contrat",
    "delai_median_orientation_contrat_jours",
    "beneficiaires_suivis",
]
BREAKDOWN_DEFINITIONS = [DEFINITIONS_BY_ID[key] for key in BREAKDOWN_IDS]

NO_ORGANISATION = "Aucune organisation dans la période"
NO_REFERENT = "Sans référent dans la période"
EVERYONE = "Ensemble du périmètre"


@dataclass
class Row:
    label: str
    values: dict
    organisation_id: int | None = None  # pour filtrer le tableau de bord sur la ligne
    referent_id: int | None = None
    kind: str = "group"  # "group", "none" (sans rattachement), "total"
    extra: dict = field(default_factory=dict)


NONE, TOTAL = -1, -2  # lignes « sans groupe » et « ensemble » dans le résultat de la requête


def _sql(queryset):
    return queryset.query.get_compiler(using=queryset.db).as_sql()


def _literal(value):
    return "'" + str(value).replace("'", "''") + "'"


def _tallies(vendor):
    """Les comptes lus par ``tally_values``, en SQL sur les colonnes de ``cohort_queryset`` (alias ``c``)."""

    def count(condition):
        return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"

    def median(column):
        if vendor == "sqlite":
            return f"{SQLITE_MEDIAN}(c.{column})"
        return f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY c.{column})"

    tallies = {
        "total": "COUNT(*)",
        "referent": count("c.referent_on IS NOT NULL"),
        "contract": count("c.contract_on IS NOT NULL"),
        "median_orientation": median("orientation_days"),
        "median_interview": "NULL",  # pas une colonne des tableaux (``BREAKDOWN_IDS``)
        "median_contract": median("contract_days"),
    }
    for bucket in DELAY_BUCKETS:
        tallies[f"bucket_{bucket}"] = count(f"c.bucket = {_literal(bucket)}")
    for pathway in PATHWAY_KEYS:
        tallies[f"pathway_{pathway}"] = count(
            f"c.pathway = {_literal(pathway)} AND c.bucket <> {_literal(NOT_ORIENTED)}"
        )
    return tallies


def _grouped(scope, start, end, sources, *, target_days):
    """{groupe, NONE, TOTAL: (comptes de la cohorte ou None, personnes suivies)} en une requête : les
    entrées de ``scope`` jointes aux couples (personne, groupe) de ``sources`` (toutes personnes : le
    périmètre est celui des entrées et des personnes suivies)."""
    cohort = cohort_queryset(scope, start, end, target_days=target_days, table=True, lean=True).values(
        "beneficiary_id",
        "bucket",
        "pathway",
        "orientation_days",
        "contract_days",
        "referent_on",
        "contract_on",
    )
    followed = followed_people(scope, end).values(beneficiary_id=F("pk"))
    connection = connections[cohort.db]
    tallies = _tallies(connection.vendor)
    columns = ", ".join(f"{expression} AS t_{name}" for name, expression in tallies.items())
    pair_sql, pair_params = [], []
    for queryset in sources:
        try:
            sql, params = _sql(queryset)
        except EmptyResultSet:  # source vide par construction (``none()``) : aucun couple
            continue
        pair_sql.append(f"SELECT beneficiary_id, group_id FROM ({sql}) s")  # noqa: S608
        pair_params.extend(params)
    if not pair_sql:
        pair_sql.append(
            "SELECT CAST(NULL AS bigint) AS beneficiary_id, CAST(NULL AS bigint) AS group_id WHERE 1 = 0"
        )
    try:
        cohort_sql, cohort_params = _sql(cohort)
        followed_sql, followed_params = _sql(followed)
        scope_sql, scope_params = _sql(scope.order_by().values("pk"))
    except EmptyResultSet:  # périmètre vide (agent sans personne visible) : ni entrée ni personne suivie
        return {}
    # Une entrée (une personne suivie) rattachée à plusieurs groupes compte dans chacun ; sans groupe, dans la
    # ligne NONE : une seule jointure de la cohorte (des personnes suivies) aux couples.
    statement = f"""
        WITH c AS ({cohort_sql}),
        g AS ({" UNION ".join(pair_sql)}),
        f AS ({followed_sql}),
        entries AS (
            SELECT COALESCE(g.group_id, {NONE}) AS grp, {columns}
            FROM c LEFT JOIN g ON g.beneficiary_id = c.beneficiary_id
            GROUP BY COALESCE(g.group_id, {NONE})
            UNION ALL
            SELECT {TOTAL}, {columns} FROM c
        ),
        people AS (
            -- couples distincts (UNION) et personnes suivies distinctes : un simple COUNT est exact.
            SELECT COALESCE(g.group_id, {NONE}) AS grp, COUNT(*) AS n
            FROM f LEFT JOIN g ON g.beneficiary_id = f.beneficiary_id
            GROUP BY COALESCE(g.group_id, {NONE})
            UNION ALL
            SELECT {TOTAL}, COUNT(*) FROM f
        ),
        groups AS (
            SELECT DISTINCT group_id AS grp FROM g
            UNION ALL SELECT {NONE}
            UNION ALL SELECT {TOTAL}
        )
        SELECT groups.grp, COALESCE(people.n, 0), {", ".join(f"entries.t_{name}" for name in tallies)}
        FROM groups
        LEFT JOIN people ON people.grp = groups.grp
        LEFT JOIN entries ON entries.grp = groups.grp
        -- Un groupe sans entrée ni personne suivie : gardé s'il rattache une personne du périmètre.
        WHERE groups.grp < 0 OR people.grp IS NOT NULL OR entries.grp IS NOT NULL
            OR EXISTS (SELECT 1 FROM g x WHERE x.group_id = groups.grp AND x.beneficiary_id IN ({scope_sql}))
    """  # noqa: S608 (SQL compilé par l'ORM, constantes du code)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*cohort_params, *pair_params, *followed_params, *scope_params])
        rows = cursor.fetchall()
    result = {}
    for grp, followed_count, *values in rows:
        # Un groupe sans entrée dans la période (personnes suivies seulement) : comptes vides.
        counts = dict(zip(tallies, values, strict=True)) if values[0] is not None else _EMPTY
        result[grp] = (counts, followed_count)
    return result


_EMPTY = {name: (None if name.startswith("median_") else 0) for name in _tallies("postgresql")}


def _values(counts, followed_count):
    values = tally_values(counts)
    values["beneficiaires_suivis"] = followed_count
    return {key: values[key] for key in BREAKDOWN_IDS}


def _rows(grouped, groups, *, none_label, key_field):
    """Une ligne par groupe ``(id, libellé)``, puis la ligne des personnes sans groupe et l'ensemble."""
    nothing = (_EMPTY, 0)
    rows = [
        Row(label, _values(*grouped.get(group_id, nothing)), **{key_field: group_id})
        for group_id, label in groups
    ]
    rows.append(Row(none_label, _values(*grouped.get(NONE, nothing)), kind="none"))
    rows.append(Row(EVERYONE, _values(*grouped.get(TOTAL, nothing)), kind="total"))
    return rows


def organisation_breakdown(scope, start, end, *, organisations=None, target_days=None):
    """Une ligne par organisation (celles de ``organisations`` si donné, sinon toutes celles qui ont suivi
    ou reçu en orientation une personne du périmètre pendant la période)."""
    sources = organisation_pair_sources(None, start, end)
    if organisations is not None:
        sources = [q.filter(organisation_id__in=organisations.values("pk")) for q in sources]
    grouped = _grouped(scope, start, end, sources, target_days=target_days)
    candidates = Organisation.objects.filter(pk__in=[g for g in grouped if g not in (NONE, TOTAL)])
    groups = list(candidates.order_by("name").values_list("pk", "name"))
    return _rows(grouped, groups, none_label=NO_ORGANISATION, key_field="organisation_id")


def referent_breakdown(scope, start, end, organisations, *, target_days=None):
    """Une ligne par référent des ``organisations`` : les personnes de ces organisations dans la période
    (``attachments.organisation_members``), réparties selon leur référent."""
    organisation_ids = [o.pk for o in organisations]
    if not organisation_ids:
        return []
    attached = Q(pk__in=[])
    for organisation in organisations:
        attached |= organisation_members(organisation, start, end)
    scope = scope.filter(attached)
    sources = referent_pair_sources(None, start, end, organisation_ids)
    grouped = _grouped(scope, start, end, sources, target_days=target_days)
    referent_ids = [g for g in grouped if g not in (NONE, TOTAL)]
    staff = Membership.objects.filter(
        organisation_id__in=organisation_ids, role=Role.REFERENT, is_active=True
    ).values("user_id")
    users = User.objects.filter(Q(pk__in=referent_ids) | Q(pk__in=staff)).order_by(
        "last_name", "first_name", "pk"
    )
    groups = [(u.pk, str(u)) for u in users.only("pk", "first_name", "last_name", "email")]
    return _rows(grouped, groups, none_label=NO_REFERENT, key_field="referent_id")


def own_organisations(user, memberships):
    """Les organisations de l'agent dont on peut détailler les référents (pas les services de l'État)."""
    return [
        m.organisation
        for m in memberships
        if m.role != Role.DPO and m.organisation.kind != OrganisationKind.ETAT
    ]


def visible_organisations(user, memberships):
    """Organisations proposées dans le filtre : pour un agent du Département (ou des services de l'État),
    le Département et ses partenaires ; pour un partenaire, sa seule organisation ; tout pour un
    super-utilisateur."""
    from .forms import followable_organisations

    if user.is_superuser:
        return followable_organisations(None)
    departements, own = set(), set()
    for m in memberships:
        if m.role == Role.DPO:
            continue
        org = m.organisation
        if org.kind in (OrganisationKind.DEPARTEMENT, OrganisationKind.ETAT):
            if org.home_departement is not None:
                departements.add(org.home_departement.pk)
        else:
            own.add(org.pk)
    return followable_organisations(departements) | followable_organisations(None).filter(pk__in=own)


def breakdown_table(rows, first_column):
    """Lignes d'export : en-tête puis une ligne par groupe (valeurs brutes, vide pour « non calculable »)."""
    table = [[first_column, *BREAKDOWN_IDS]]
    for r in rows:
        table.append([r.label, *(_export_value(r.values[k]) for k in BREAKDOWN_IDS)])
    return table


def _export_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value
