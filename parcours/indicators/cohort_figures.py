"""Les chiffres du tableau de bord dont on peut voir les personnes : qui, parmi les nouveaux entrants de la
période, compte dans « orientés dans les 15 jours », « parcours emploi », « au-delà du délai légal »…

Chaque chiffre est un prédicat sur une entrée de ``new_entrant_cohort`` (``definitions.Entry``), dont la
tranche de délai et l'orientation à temps sont calculées par la base avec la définition des indicateurs
(``definitions.cohort_queryset``). Le tunnel du tableau de bord et la liste des personnes derrière un chiffre
sont calculés ici, avec les mêmes prédicats : le nombre de personnes de la liste est le chiffre affiché
(vérifié par les tests contre ``compute_indicators``).
"""

from dataclasses import dataclass

from .definitions import NOT_ORIENTED, PATHWAY_KEYS


@dataclass(slots=True)
class Classified:
    """Une entrée et sa place dans les répartitions du tableau de bord."""

    entry: object
    in_time: bool
    bucket: str  # DELAY_BUCKETS
    pathway: str  # PATHWAY_KEYS ou NOT_ORIENTED


def classify(entries):
    """Les entrées avec leur tranche de délai et leur parcours (« non orienté » sans orientation)."""
    return [Classified(e, e.in_time, e.bucket, e.pathway_key) for e in entries]


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    test: object  # Classified -> bool


PATHWAY_LABELS = {
    "emploi": "Emploi",
    "socio_professionnel": "Socio-professionnel",
    "social": "Social",
    NOT_ORIENTED: "Non orienté",
}

FIGURES = [
    Figure("nouveaux_entrants", "Nouveaux entrants", lambda c: True),
    Figure("orientes", "Orientés (orientation notifiée)", lambda c: c.entry.oriented_on is not None),
    Figure("orientes_15j", "Orientés dans l'objectif (15 jours)", lambda c: c.in_time),
    Figure(
        "orientes_en_retard",
        "Orientés après l'objectif",
        lambda c: c.entry.oriented_on is not None and not c.in_time,
    ),
    Figure("non_orientes", "Pas encore orientés", lambda c: c.entry.oriented_on is None),
    Figure(
        "delai_legal", "Orientés dans le délai légal (après l'objectif)", lambda c: c.bucket == "delai_legal"
    ),
    Figure("au_dela", "Orientés au-delà du délai légal", lambda c: c.bucket == "au_dela"),
    Figure("avec_referent", "Avec un référent désigné", lambda c: c.entry.referent_on is not None),
    Figure("avec_contrat", "Avec un contrat signé", lambda c: c.entry.contract_on is not None),
    *(
        Figure(
            f"parcours_{key}", f"Parcours {PATHWAY_LABELS[key].lower()}", lambda c, k=str(key): c.pathway == k
        )
        for key in PATHWAY_KEYS
    ),
]
FIGURES_BY_KEY = {f.key: f for f in FIGURES}

# Répartitions du tableau de bord → chiffre à détailler pour chaque modalité.
PATHWAY_FIGURES = {**{str(k): f"parcours_{k}" for k in PATHWAY_KEYS}, NOT_ORIENTED: "non_orientes"}
DELAY_FIGURES = {
    "objectif": "orientes_15j",
    "delai_legal": "delai_legal",
    "au_dela": "au_dela",
    "non_oriente": "non_orientes",
}
FUNNEL = ["nouveaux_entrants", "orientes", "orientes_15j", "avec_referent", "avec_contrat"]
FUNNEL_LABELS = {
    "nouveaux_entrants": "Nouveaux entrants",
    "orientes": "Orientés",
    "orientes_15j": "Orientés dans l'objectif",
    "avec_referent": "Avec un référent",
    "avec_contrat": "Avec un contrat",
}


def members(classified, key):
    """Les entrées classées qui comptent dans le chiffre ``key``."""
    test = FIGURES_BY_KEY[key].test
    return [c for c in classified if test(c)]


def funnel(classified):
    """[(clé, libellé, nombre, part des nouveaux entrants)] : du nouvel entrant au contrat."""
    total = len(classified)
    steps = []
    for key in FUNNEL:
        count = len(members(classified, key))
        steps.append(
            {
                "key": key,
                "label": FUNNEL_LABELS[key],
                "count": count,
                "percent": None if not total else round(count * 100 / total, 1),
            }
        )
    return steps


def orientation_delay_histogram(classified, week_count=7):
    """Nouveaux entrants orientés par semaine de délai depuis T0 (semaine 1 : jours 0 à 6…), la dernière
    classe regroupant les délais plus longs, puis les personnes pas encore orientées."""
    counts = [0] * (week_count + 1)
    not_oriented = 0
    for c in classified:
        days = c.entry.orientation_days
        if days is None:
            not_oriented += 1
        elif days >= 0:
            counts[min(days // 7, week_count)] += 1
    rows = []
    for index, count in enumerate(counts):
        label = f"{index * 7} à {index * 7 + 6} j" if index < week_count else f"{week_count * 7} j et plus"
        rows.append({"key": f"semaine_{index + 1}", "label": label, "count": count})
    rows.append({"key": "non_oriente", "label": "Pas encore orienté", "count": not_oriented})
    total = sum(r["count"] for r in rows)
    for r in rows:
        r["percent"] = None if not total else round(r["count"] * 100 / total, 1)
    return rows
