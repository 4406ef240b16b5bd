"""Les chiffres du tableau de bord dont on peut voir les personnes : qui, parmi les nouveaux entrants de la
période, compte dans « orientés dans les 15 jours », « parcours emploi », « au-delà du délai légal »…

Chaque chiffre est une condition (``Q``) sur les colonnes de ``definitions.cohort_queryset`` (tranche de
délai, parcours, dates des étapes), calculées par la base avec la définition des indicateurs. La même
condition compte le chiffre (tunnel, répartitions : ``definitions.cohort_aggregate``) et liste ses personnes
(``/pilotage/personnes/``) : le nombre de personnes de la liste est le chiffre affiché (vérifié par les tests
contre ``compute_indicators``).
"""

from dataclasses import dataclass

from django.db.models import Q

from .definitions import NOT_ORIENTED, PATHWAY_KEYS


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    condition: Q  # sur une ligne de ``cohort_queryset``


PATHWAY_LABELS = {
    "emploi": "Emploi",
    "socio_professionnel": "Socio-professionnel",
    "social": "Social",
    NOT_ORIENTED: "Non orienté",
}

ORIENTED = Q(oriented_on__isnull=False)
IN_TIME = Q(bucket="objectif")

FIGURES = [
    Figure("nouveaux_entrants", "Nouveaux entrants", Q()),
    Figure("orientes", "Orientés (orientation notifiée)", ORIENTED),
    Figure("orientes_15j", "Orientés dans l'objectif (15 jours)", IN_TIME),
    Figure("orientes_en_retard", "Orientés après l'objectif", ORIENTED & ~IN_TIME),
    Figure("non_orientes", "Pas encore orientés", Q(oriented_on__isnull=True)),
    Figure("delai_legal", "Orientés dans le délai légal (après l'objectif)", Q(bucket="delai_legal")),
    Figure("au_dela", "Orientés au-delà du délai légal", Q(bucket="au_dela")),
    Figure("avec_referent", "Avec un référent désigné", Q(referent_on__isnull=False)),
    Figure("avec_contrat", "Avec un contrat signé", Q(contract_on__isnull=False)),
    *(
        # Comme ``Entry.pathway_key`` : le parcours d'une entrée orientée.
        Figure(
            f"parcours_{key}",
            f"Parcours {PATHWAY_LABELS[key].lower()}",
            Q(pathway=str(key)) & ~Q(bucket=NOT_ORIENTED),
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


WEEKS = 7  # histogramme des délais : semaines 1 à 7, puis « 7 semaines et plus »


def _week_conditions():
    conditions = {}
    for index in range(WEEKS + 1):
        days = Q(orientation_days__gte=index * 7)
        if index < WEEKS:
            days &= Q(orientation_days__lte=index * 7 + 6)
        conditions[f"semaine_{index + 1}"] = days
    return conditions


def counted_conditions():
    """``{nom: Q}`` des effectifs du tableau de bord comptés par la base avec les indicateurs : chaque chiffre
    (``FIGURES``) et chaque semaine de délai."""
    return {**{f.key: f.condition for f in FIGURES}, **_week_conditions()}


def funnel(counts):
    """[(clé, libellé, nombre, part des nouveaux entrants)] : du nouvel entrant au contrat ; ``counts`` :
    comptes de ``counted_conditions``."""
    total = counts["nouveaux_entrants"]
    steps = []
    for key in FUNNEL:
        count = counts[key]
        steps.append(
            {
                "key": key,
                "label": FUNNEL_LABELS[key],
                "count": count,
                "percent": None if not total else round(count * 100 / total, 1),
            }
        )
    return steps


def orientation_delay_histogram(counts, week_count=WEEKS):
    """Nouveaux entrants orientés par semaine de délai depuis T0 (semaine 1 : jours 0 à 6…), la dernière
    classe regroupant les délais plus longs, puis les personnes pas encore orientées."""
    rows = []
    for index in range(week_count + 1):
        label = f"{index * 7} à {index * 7 + 6} j" if index < week_count else f"{week_count * 7} j et plus"
        key = f"semaine_{index + 1}"
        rows.append({"key": key, "label": label, "count": counts[key]})
    rows.append({"key": "non_oriente", "label": "Pas encore orienté", "count": counts["non_orientes"]})
    total = sum(r["count"] for r in rows)
    for r in rows:
        r["percent"] = None if not total else round(r["count"] * 100 / total, 1)
    return rows
