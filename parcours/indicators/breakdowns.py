"""Indicateurs par organisation et par référent : une ligne par groupe, calculée avec les mêmes définitions.

Les nouveaux entrants de la période sont lus **une fois** (``new_entrant_cohort``) ; le rattachement des
personnes aux organisations ou aux référents (``attachments.py``) aussi, en deux requêtes groupées ; chaque
ligne compte ensuite (``cohort_indicators``) les entrées de ses personnes, classées par la base. Une ligne donne donc les mêmes
valeurs que le tableau de bord filtré sur cette organisation (vérifié par les tests), et le nombre de
requêtes ne dépend pas du nombre de personnes (une petite requête par ligne : les délais du Département).

Les lignes « aucune organisation » / « sans référent » regroupent les personnes du périmètre sans
rattachement dans la période (par exemple les nouveaux entrants pas encore orientés).
"""

from dataclasses import dataclass, field

from django.db.models import Q

from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User

from .attachments import organisation_members, organisation_pairs, referent_pairs
from .definitions import DEFINITIONS_BY_ID, cohort_indicators, followed_people, new_entrant_cohort

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


def _values(entries, people, followed):
    values = cohort_indicators(entries)
    values["beneficiaires_suivis"] = len(people & followed)
    return {key: values[key] for key in BREAKDOWN_IDS}


def _rows(scope, start, end, pairs, groups, *, entries, target_days, none_label, key_field):
    """Une ligne par groupe ``(id, libellé)``, puis la ligne des personnes sans groupe et l'ensemble."""
    if entries is None:
        entries = new_entrant_cohort(scope, start, end, target_days=target_days)
    followed = set(followed_people(scope, end))
    by_person = {}
    for e in entries:
        by_person.setdefault(e.beneficiary_id, []).append(e)
    members = {}
    for beneficiary_id, group_ids in pairs.items():
        for group_id in group_ids:
            members.setdefault(group_id, set()).add(beneficiary_id)
    rows = []
    for group_id, label in groups:
        people = members.get(group_id, set())
        group_entries = [e for b in people for e in by_person.get(b, ())]
        rows.append(Row(label, _values(group_entries, people, followed), **{key_field: group_id}))
    attached = set(pairs)
    loose_entries = [e for e in entries if e.beneficiary_id not in attached]
    loose_people = {e.beneficiary_id for e in loose_entries} | (followed - attached)
    rows.append(Row(none_label, _values(loose_entries, loose_people, followed), kind="none"))
    everyone = set(by_person) | followed
    rows.append(Row(EVERYONE, _values(entries, everyone, followed), kind="total"))
    return rows


def organisation_breakdown(scope, start, end, *, organisations=None, entries=None, target_days=None):
    """Une ligne par organisation (celles de ``organisations`` si donné, sinon toutes celles qui ont suivi
    ou reçu en orientation une personne du périmètre pendant la période)."""
    pairs = organisation_pairs(scope, start, end)
    ids = {o for group in pairs.values() for o in group}
    candidates = Organisation.objects.filter(pk__in=ids)
    if organisations is not None:
        candidates = candidates.filter(pk__in=organisations.values("pk"))
    groups = list(candidates.order_by("name").values_list("pk", "name"))
    allowed = {pk for pk, _ in groups}
    pairs = {b: orgs & allowed for b, orgs in pairs.items() if orgs & allowed}
    return _rows(
        scope,
        start,
        end,
        pairs,
        groups,
        entries=entries,
        target_days=target_days,
        none_label=NO_ORGANISATION,
        key_field="organisation_id",
    )


def referent_breakdown(scope, start, end, organisations, *, entries=None, target_days=None):
    """Une ligne par référent des ``organisations`` : les personnes de ces organisations dans la période
    (``attachments.organisation_members``), réparties selon leur référent. ``entries`` : les nouveaux
    entrants de ``scope`` s'ils sont déjà lus (ceux des organisations en sont extraits)."""
    organisation_ids = [o.pk for o in organisations]
    if not organisation_ids:
        return []
    attached = Q(pk__in=[])
    for organisation in organisations:
        attached |= organisation_members(organisation, start, end)
    scope = scope.filter(attached)
    if entries is not None:
        people = set(scope.order_by().values_list("pk", flat=True))
        entries = [e for e in entries if e.beneficiary_id in people]
    pairs = referent_pairs(scope, start, end, organisation_ids)
    referent_ids = {r for group in pairs.values() for r in group}
    staff = Membership.objects.filter(
        organisation_id__in=organisation_ids, role=Role.REFERENT, is_active=True
    ).values("user_id")
    users = User.objects.filter(Q(pk__in=referent_ids) | Q(pk__in=staff)).order_by(
        "last_name", "first_name", "pk"
    )
    groups = [(u.pk, str(u)) for u in users.only("pk", "first_name", "last_name", "email")]
    return _rows(
        scope,
        start,
        end,
        pairs,
        groups,
        entries=entries,
        target_days=target_days,
        none_label=NO_REFERENT,
        key_field="referent_id",
    )


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
