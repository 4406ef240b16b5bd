"""Listes de valeurs du schéma data·inclusion v1, tirées du paquet ``data-inclusion-schema``.

Les énumérations du paquet sont la seule source : les ``choices`` Django, les libellés affichés et
l'expansion « catégorie → thématiques » en dérivent.
"""

from functools import cache

from data_inclusion.schema import v1

from parcours.core.text import lower_first


def enum_choices(enum_cls):
    """``[(valeur, libellé), …]`` d'une énumération du schéma, dans l'ordre de sa déclaration."""
    return [(member.value, member.label) for member in enum_cls]


TYPE_CHOICES = enum_choices(v1.TypeService)
FRAIS_CHOICES = enum_choices(v1.Frais)
PUBLIC_CHOICES = enum_choices(v1.Public)
MODE_ACCUEIL_CHOICES = enum_choices(v1.ModeAccueil)
MODE_MOBILISATION_CHOICES = enum_choices(v1.ModeMobilisation)
PERSONNE_MOBILISATRICE_CHOICES = enum_choices(v1.PersonneMobilisatrice)
THEMATIQUE_CHOICES = enum_choices(v1.Thematique)
CATEGORIE_CHOICES = enum_choices(v1.Categorie)
RESEAU_PORTEUR_CHOICES = enum_choices(v1.ReseauPorteur)

EN_PRESENTIEL = v1.ModeAccueil.EN_PRESENTIEL.value
A_DISTANCE = v1.ModeAccueil.A_DISTANCE.value
TOUS_PUBLICS = v1.Public.TOUS_PUBLICS.value
FRANCE_CODES = {"france", "99100"}

# Sépare la catégorie de la thématique dans les valeurs du schéma v1 (« mobilite--preparer-un-permis »).
THEMATIQUE_SEPARATOR = "--"


@cache
def _labels():
    labels = {}
    for enum_cls in (
        v1.TypeService,
        v1.Frais,
        v1.Public,
        v1.ModeAccueil,
        v1.ModeMobilisation,
        v1.PersonneMobilisatrice,
        v1.ReseauPorteur,
    ):
        labels[enum_cls.__name__] = {m.value: m.label for m in enum_cls}
    labels["Thematique"] = {m.value: m.label for m in v1.Thematique}
    labels["Categorie"] = {m.value: m.label for m in v1.Categorie}
    return labels


def label(enum_name, value):
    """Libellé français d'une valeur (la valeur elle-même si elle est inconnue)."""
    return _labels().get(enum_name, {}).get(value, value)


def labels(enum_name, values):
    return [label(enum_name, v) for v in (values or [])]


def categorie_of(thematique):
    return thematique.split(THEMATIQUE_SEPARATOR, 1)[0]


def thematique_label(value):
    """« Mobilité — Préparer un permis » pour une thématique, le libellé seul pour une catégorie."""
    if THEMATIQUE_SEPARATOR not in value:
        return label("Categorie", value)
    return f"{label('Categorie', categorie_of(value))} — {label('Thematique', value)}"


def thematiques_grouped(values):
    """Thématiques d'un service regroupées par catégorie, sans doublon : ``[(catégorie, [thématiques…])]``.

    Les thématiques du schéma sont hiérarchiques (« logement-hebergement--louer-un-logement ») : un
    service qui porte la catégorie et une de ses thématiques, ou deux thématiques de la même catégorie,
    ne montre la catégorie qu'une fois. Ordre : celui du schéma, catégories puis thématiques.
    """
    order = {c: i for i, c in enumerate(thematiques_by_categorie())}
    leaf_order = {t: i for leaves in thematiques_by_categorie().values() for i, t in enumerate(leaves)}
    groups = {}
    for value in dict.fromkeys(values or []):
        if not value:
            continue
        leaves = groups.setdefault(categorie_of(value), [])
        if THEMATIQUE_SEPARATOR in value and value not in leaves:
            leaves.append(value)
    return [
        (
            label("Categorie", categorie),
            [label("Thematique", t) for t in sorted(leaves, key=lambda t: (leaf_order.get(t, 999), t))],
        )
        for categorie, leaves in sorted(groups.items(), key=lambda item: (order.get(item[0], 999), item[0]))
    ]


def thematiques_summary(values):
    """« Logement et hébergement : louer un logement, changer de logement » : une ligne par catégorie."""
    lines = []
    for categorie, leaves in thematiques_grouped(values):
        if leaves:
            detail = ", ".join(lower_first(leaf) for leaf in leaves)
            lines.append(f"{categorie} : {detail}")
        else:
            lines.append(categorie)
    return lines


@cache
def thematiques_by_categorie():
    """``{catégorie: [thématiques…]}`` dans l'ordre du schéma."""
    grouped = {c.value: [] for c in v1.Categorie}
    for member in v1.Thematique:
        grouped.setdefault(categorie_of(member.value), []).append(member.value)
    return grouped


def expand_thematiques(values):
    """Remplace chaque catégorie par ses thématiques (feuilles) ; garde les thématiques telles quelles.

    Les valeurs inconnues sont ignorées. Renvoie un ensemble trié (liste).
    """
    grouped = thematiques_by_categorie()
    known = {m.value for m in v1.Thematique}
    result = set()
    for value in values or []:
        if value in grouped:
            result.update(grouped[value])
        elif value in known:
            result.add(value)
    return sorted(result)


def thematique_grouped_choices():
    """Choix groupés par catégorie, pour un ``<select>`` ou une liste de cases à cocher."""
    grouped = thematiques_by_categorie()
    return [
        (label("Categorie", categorie), [(t, label("Thematique", t)) for t in leaves])
        for categorie, leaves in grouped.items()
        if leaves
    ]
