"""Indicateurs par organisation et par référent : une ligne par groupe, calculée avec les mêmes définitions.

Une requête par tableau (une pour les deux tableaux du tableau de bord, ``dashboard_breakdowns``), quel que
soit le nombre de personnes et de groupes : la base joint les entrées
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

from .attachments import organisation_member_sources, organisation_pair_sources, referent_pair_sources
from .definitions import (
    DEFINITIONS_BY_ID,
    cohort_queryset,
    cohort_tally_sql,
    followed_people,
    tally_values,
)

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


def _union(sources, columns):
    """SQL et paramètres de l'union (sans doublons) des ``columns`` des QuerySets ``sources`` ; une source vide
    par construction (``none()``) est sautée, et sans aucune source la requête ne rend aucune ligne."""
    parts, params = [], []
    for queryset in sources:
        try:
            sql, query_params = _sql(queryset)
        except EmptyResultSet:  # source vide par construction (``none()``) : aucun couple
            continue
        parts.append(f"SELECT {', '.join(columns)} FROM ({sql}) s")  # noqa: S608
        params.extend(query_params)
    if not parts:
        casts = ", ".join(f"CAST(NULL AS bigint) AS {column}" for column in columns)
        parts.append(f"SELECT {casts} WHERE 1 = 0")
    return " UNION ".join(parts), params


def _grouped(scope, start, end, tables, *, target_days):
    """Pour chaque tableau de ``tables`` (``(sources, members)``) : {groupe, NONE, TOTAL: (comptes de la cohorte
    ou None, personnes suivies)}, tous en une requête. Les entrées de ``scope`` (et ses personnes suivies) sont
    lues une fois, puis jointes aux couples (personne, groupe) de ``sources`` de chaque tableau (toutes
    personnes : le périmètre est celui des entrées et des personnes suivies). ``members`` (ou ``None``) :
    QuerySets de couples dont les personnes restreignent le périmètre du tableau (les personnes rattachées
    aux organisations détaillées par référent)."""
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
    tallies = cohort_tally_sql(connection.vendor, interview=False)  # pas une colonne des tableaux
    columns = ", ".join(f"{expression} AS t_{name}" for name, expression in tallies.items())
    try:
        cohort_sql, cohort_params = _sql(cohort)
        followed_sql, followed_params = _sql(followed)
        scope_sql, scope_params = _sql(scope.order_by().values("pk"))
    except EmptyResultSet:  # périmètre vide (agent sans personne visible) : ni entrée ni personne suivie
        return [{} for _ in tables]
    ctes = [f"c0 AS ({cohort_sql})", f"f0 AS ({followed_sql})"]
    params = [*cohort_params, *followed_params]
    entries, people, groups, kept, kept_params = [], [], [], [], []
    for index, (sources, members) in enumerate(tables, start=1):
        pair_sql, pair_params = _union(sources, ("beneficiary_id", "group_id"))
        ctes.append(f"g{index} AS ({pair_sql})")
        params.extend(pair_params)
        c, f, among = "c0", "f0", ""
        if members is not None:
            # Le périmètre du tableau : celles de ses personnes rattachées à ``members`` (semi-jointure).
            member_sql, member_params = _union(members, ("beneficiary_id",))
            ctes.append(f"m{index} AS ({member_sql})")
            params.extend(member_params)
            among = f" AND x.beneficiary_id IN (SELECT beneficiary_id FROM m{index})"  # noqa: S608
            for name, base in (("c", "c0"), ("f", "f0")):
                ctes.append(
                    f"{name}{index} AS (SELECT * FROM {base} "  # noqa: S608
                    f"WHERE beneficiary_id IN (SELECT beneficiary_id FROM m{index}))"
                )
            c, f = f"c{index}", f"f{index}"
        g = f"g{index}"
        # Une entrée (une personne suivie) rattachée à plusieurs groupes compte dans chacun ; sans groupe, dans
        # la ligne NONE : une seule jointure de la cohorte (des personnes suivies) aux couples.
        entries.append(
            f"SELECT {index} AS tbl, COALESCE({g}.group_id, {NONE}) AS grp, {columns} "  # noqa: S608
            f"FROM {c} c LEFT JOIN {g} ON {g}.beneficiary_id = c.beneficiary_id "
            f"GROUP BY COALESCE({g}.group_id, {NONE}) "
            f"UNION ALL SELECT {index}, {TOTAL}, {columns} FROM {c} c"
        )
        # Couples distincts (UNION) et personnes suivies distinctes : un simple COUNT est exact.
        people.append(
            f"SELECT {index} AS tbl, COALESCE({g}.group_id, {NONE}) AS grp, COUNT(*) AS n "  # noqa: S608
            f"FROM {f} f LEFT JOIN {g} ON {g}.beneficiary_id = f.beneficiary_id "
            f"GROUP BY COALESCE({g}.group_id, {NONE}) "
            f"UNION ALL SELECT {index}, {TOTAL}, COUNT(*) FROM {f}"
        )
        groups.append(
            f"SELECT {index} AS tbl, grp FROM (SELECT DISTINCT group_id AS grp FROM {g}) d{index} "  # noqa: S608
            f"UNION ALL SELECT {index}, {NONE} UNION ALL SELECT {index}, {TOTAL}"
        )
        # Un groupe sans entrée ni personne suivie : gardé s'il rattache une personne du périmètre du tableau.
        kept.append(
            f"(groups.tbl = {index} AND EXISTS (SELECT 1 FROM {g} x WHERE x.group_id = groups.grp "  # noqa: S608
            f"AND x.beneficiary_id IN ({scope_sql}){among}))"
        )
        kept_params.extend(scope_params)
    statement = f"""
        WITH {", ".join(ctes)},
        entries AS ({" UNION ALL ".join(entries)}),
        people AS ({" UNION ALL ".join(people)}),
        groups AS ({" UNION ALL ".join(groups)})
        SELECT groups.tbl, groups.grp, COALESCE(people.n, 0),
            {", ".join(f"entries.t_{name}" for name in tallies)}
        FROM groups
        LEFT JOIN people ON people.tbl = groups.tbl AND people.grp = groups.grp
        LEFT JOIN entries ON entries.tbl = groups.tbl AND entries.grp = groups.grp
        WHERE groups.grp < 0 OR people.grp IS NOT NULL OR entries.grp IS NOT NULL OR {" OR ".join(kept)}
    """  # noqa: S608 (SQL compilé par l'ORM, constantes du code)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *kept_params])
        rows = cursor.fetchall()
    result = [{} for _ in tables]
    for table, grp, followed_count, *values in rows:
        # Un groupe sans entrée dans la période (personnes suivies seulement) : comptes vides.
        counts = dict(zip(tallies, values, strict=True)) if values[0] is not None else _EMPTY
        result[table - 1][grp] = (counts, followed_count)
    return result


_EMPTY = {name: (None if name.startswith("median_") else 0) for name in cohort_tally_sql("postgresql")}


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


def _organisation_table(start, end, organisations):
    sources = organisation_pair_sources(None, start, end)
    if organisations is not None:
        sources = [q.filter(organisation_id__in=organisations.values("pk")) for q in sources]
    return sources, None


def _organisation_rows(grouped):
    candidates = Organisation.objects.filter(pk__in=[g for g in grouped if g not in (NONE, TOTAL)])
    groups = list(candidates.order_by("name").values_list("pk", "name"))
    return _rows(grouped, groups, none_label=NO_ORGANISATION, key_field="organisation_id")


def _referent_table(start, end, organisation_ids):
    # Le périmètre : ses personnes rattachées à l'une des organisations dans la période.
    members = organisation_member_sources(start, end, organisation_ids)
    return referent_pair_sources(None, start, end, organisation_ids), members


def _referent_rows(grouped, organisation_ids):
    referent_ids = [g for g in grouped if g not in (NONE, TOTAL)]
    staff = Membership.objects.filter(
        organisation_id__in=organisation_ids, role=Role.REFERENT, is_active=True
    ).values("user_id")
    users = User.objects.filter(Q(pk__in=referent_ids) | Q(pk__in=staff)).order_by(
        "last_name", "first_name", "pk"
    )
    groups = [(u.pk, str(u)) for u in users.only("pk", "first_name", "last_name", "email")]
    return _rows(grouped, groups, none_label=NO_REFERENT, key_field="referent_id")


def organisation_breakdown(scope, start, end, *, organisations=None, target_days=None):
    """Une ligne par organisation (celles de ``organisations`` si donné, sinon toutes celles qui ont suivi
    ou reçu en orientation une personne du périmètre pendant la période)."""
    table = _organisation_table(start, end, organisations)
    [grouped] = _grouped(scope, start, end, [table], target_days=target_days)
    return _organisation_rows(grouped)


def referent_breakdown(scope, start, end, organisations, *, target_days=None):
    """Une ligne par référent des ``organisations`` : les personnes de ces organisations dans la période
    (``attachments.organisation_members``), réparties selon leur référent."""
    organisation_ids = [o.pk for o in organisations]
    if not organisation_ids:
        return []
    table = _referent_table(start, end, organisation_ids)
    [grouped] = _grouped(scope, start, end, [table], target_days=target_days)
    return _referent_rows(grouped, organisation_ids)


def dashboard_breakdowns(scope, start, end, *, organisations, referent_organisations, target_days=None):
    """``(organisation_breakdown(scope, …, organisations=organisations), referent_breakdown(scope, …,
    referent_organisations))`` en une seule requête (tableau de bord) : les entrées et les personnes suivies
    de ``scope`` sont lues une fois pour les deux tableaux. Mêmes lignes, mêmes valeurs (vérifié par les
    tests)."""
    organisation_ids = [o.pk for o in referent_organisations]
    tables = [_organisation_table(start, end, organisations)]
    if organisation_ids:
        tables.append(_referent_table(start, end, organisation_ids))
    grouped = _grouped(scope, start, end, tables, target_days=target_days)
    by_referent = _referent_rows(grouped[1], organisation_ids) if organisation_ids else []
    return _organisation_rows(grouped[0]), by_referent


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
