"""Questionnaire annuel de la DREES sur l'orientation et l'accompagnement des bénéficiaires du RSA
(enquête OARSA), prêt à remplir : pour un Département et une année civile, une série de tableaux.

Chaque tableau est une fonction qui prend le périmètre (``Beneficiary`` restreint au Département et aux
personnes que l'agent peut compter) et l'année, et renvoie une :class:`Table` (colonnes et lignes en
français). Les comptages sont faits par la base en requêtes groupées (``GROUP BY``) : aucune boucle Python
sur la population ; Python ne fait que mettre en forme les quelques lignes agrégées.

Règles communes (voir ``docs/indicateurs.md``) :

- une orientation compte dans l'année qui contient sa **date de notification** ; une décision annulée ne
  compte pas ; première orientation et réorientation sont distinguées (``OrientationDecision.is_reorientation``) ;
- l'âge et l'ancienneté dans le RSA sont calculés **au 31 décembre** de l'année ;
- les délais et durées en mois sont des mois calendaires : « 1 mois ou moins » = au plus tard le même
  quantième du mois suivant (notifiée le 15/03 : contrat signé au plus tard le 15/04 ; le 31/01 : au plus
  tard le 28/02) ;
- un comptage sur rien vaut 0 ; une part ou une médiane dont la population est vide est vide (``None``),
  jamais 0.
"""

import datetime
import statistics
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, ExtractYear

from parcours.accompaniment.models import Contract, ContractKind, ContractStatus, DiagnosticVersion
from parcours.accounts.models import OrganisationKind
from parcours.orientation.models import (
    DecisionStatus,
    OrientationDecision,
    Pathway,
    ReorientationRequest,
    RequestStatus,
)

from .definitions import analytics_session, beneficiary_scope

PATHWAYS = list(Pathway)  # emploi, socio-professionnel, social
PATHWAY_LABELS = dict(Pathway.choices)
UNKNOWN = "non_renseigne"
UNKNOWN_LABEL = "Non renseigné"
TOTAL_LABEL = "Ensemble"

# Organismes vers lesquels on oriente (les structures partenaires et l'État ne reçoivent pas d'orientation).
ORIENTATION_ORGANISATION_KINDS = [
    k for k in OrganisationKind if k not in (OrganisationKind.STRUCTURE, OrganisationKind.ETAT)
]

# Tranches d'âge au 31/12 : (clé, libellé, âge minimal inclus). La dernière n'a pas de borne haute.
AGE_BANDS = [
    ("moins_25", "Moins de 25 ans", 0),
    ("25_29", "25 à 29 ans", 25),
    ("30_39", "30 à 39 ans", 30),
    ("40_49", "40 à 49 ans", 40),
    ("50_59", "50 à 59 ans", 50),
    ("60_plus", "60 ans ou plus", 60),
]

# Ancienneté dans le RSA au 31/12 (depuis la date d'ouverture du droit) : (clé, libellé, mois minimal inclus).
SENIORITY_BANDS = [
    ("moins_6m", "Moins de 6 mois", 0),
    ("6m_1a", "6 mois à moins d'1 an", 6),
    ("1a_2a", "1 an à moins de 2 ans", 12),
    ("2a_5a", "2 ans à moins de 5 ans", 24),
    ("5a_10a", "5 ans à moins de 10 ans", 60),
    ("10a_plus", "10 ans ou plus", 120),
]

# Délai entre la notification de l'orientation et la signature du premier contrat (mois calendaires).
NO_CONTRACT = "sans_contrat"
DELAY_BANDS = [
    ("1m", "1 mois ou moins", 1),
    ("1_3m", "Plus d'1 mois à 3 mois", 3),
    ("3m_plus", "Plus de 3 mois", None),
]
DELAY_LABELS = {**{k: label for k, label, _ in DELAY_BANDS}, NO_CONTRACT: "Pas de contrat signé"}

# Durée prévue des contrats signés (du début, ou de la signature, à la fin prévue ; mois calendaires).
DURATION_BANDS = [
    ("6m", "6 mois ou moins", 6),
    ("6_12m", "Plus de 6 mois à 12 mois", 12),
    ("12m_plus", "Plus de 12 mois", None),
]
DURATION_LABELS = {**{k: label for k, label, _ in DURATION_BANDS}, UNKNOWN: "Durée non renseignée"}
CONTRACT_LABELS = {
    ContractKind.CONTRAT_ENGAGEMENT: "Contrat d'engagement",
    ContractKind.CER: "CER (historique)",
    ContractKind.PPAE: "PPAE (historique)",
}

# Niveau de formation : lu dans le diagnostic, thème ``niveau_formation`` du référentiel (une situation
# par niveau). Nomenclature des niveaux de diplôme de 2019 (anciens niveaux de 1969 entre parenthèses).
EDUCATION_THEME = "niveau_formation"
EDUCATION_THEME_LABEL = "Niveau de formation"
EDUCATION_LEVELS = [
    ("infra-3", "Sans diplôme ou niveau inférieur au CAP-BEP (niveaux 1 et 2, anciens VI et V bis)"),
    ("niveau-3", "CAP, BEP ou équivalent (niveau 3, ancien V)"),
    ("niveau-4", "Baccalauréat ou équivalent (niveau 4, ancien IV)"),
    ("niveau-5-et-plus", "Bac + 2 ou plus (niveaux 5 à 8, anciens III et plus)"),
]

REQUEST_LABELS = {
    RequestStatus.ACCEPTED: "Acceptée",
    RequestStatus.REFUSED: "Refusée",
    RequestStatus.PENDING: "En attente de décision",
}


@dataclass
class Table:
    """Un tableau du questionnaire : identifiant, titre, définition, colonnes et lignes (valeurs brutes :
    entiers, parts entre 0 et 1, médianes, ``None`` pour « non calculable »)."""

    id: str
    title: str
    sheet: str  # nom de la feuille XLSX (31 caractères au plus)
    definition: str
    columns: list
    rows: list = field(default_factory=list)
    rate_columns: frozenset = frozenset()  # colonnes qui sont des parts (0 à 1)
    rate_rows: frozenset = frozenset()  # lignes qui sont des parts (tableau de synthèse)

    def is_rate(self, row, column):
        return column in self.rate_columns or (row in self.rate_rows and column > 0)


# --- outils ---------------------------------------------------------------------------------------------


def year_bounds(year):
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def add_months(day, months):
    """``day`` + ``months`` mois calendaires (négatif : en arrière), au dernier jour du mois si besoin."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def _share(count, total):
    return None if not total else count / total


def _median_of_histogram(histogram):
    """Médiane d'une distribution donnée par ``{valeur: effectif}`` ; None si elle est vide."""
    values = []
    for value, count in sorted(histogram.items()):
        values.extend([value] * count)
    return statistics.median(values) if values else None


def _month_index(expression):
    return ExtractYear(expression) * 12 + ExtractMonth(expression)


def _months_band(later, earlier, bands, *, missing):
    """(alias, expression SQL) : la bande de ``bands`` où tombe ``later`` - ``earlier`` en mois calendaires.

    ``later`` ≤ ``earlier`` + k mois ⇔ écart de mois < k, ou écart = k et quantième de ``later`` ≤ celui
    de ``earlier`` (vrai aussi quand le mois d'arrivée est plus court : 31/01 + 1 mois = 28/02). Les alias
    sont à poser (``.alias(**alias)``) avant d'utiliser l'expression."""
    alias = {
        "_gap": _month_index(later) - _month_index(earlier),
        "_later_day": ExtractDay(later),
        "_earlier_day": ExtractDay(earlier),
    }
    whens = [When(**{f"{later}__isnull": True}, then=Value(missing))]
    for key, _label, months in bands[:-1]:
        whens.append(
            When(
                Q(_gap__lt=months) | Q(_gap=months, _later_day__lte=F("_earlier_day")),
                then=Value(key),
            )
        )
    return alias, Case(*whens, default=Value(bands[-1][0]))


def _age_band(birth_field, reference):
    """Expression SQL : tranche d'âge au jour ``reference`` (né le 31/12/1999 : 25 ans au 31/12/2024)."""
    whens = [When(**{f"{birth_field}__isnull": True}, then=Value(UNKNOWN))]
    for key, _label, minimum in reversed(AGE_BANDS):
        # Âge ≥ minimum ⇔ né au plus tard le même jour, ``minimum`` ans plus tôt.
        born_by = add_months(reference, -12 * minimum)
        whens.append(When(**{f"{birth_field}__lte": born_by}, then=Value(key)))
    return Case(*whens, default=Value(UNKNOWN))


def _seniority_band(opened_field, reference):
    """Expression SQL : ancienneté du droit au jour ``reference`` ; ouverture inconnue ou postérieure : non
    renseignée (le droit actuel a été ouvert après l'année)."""
    whens = [
        When(**{f"{opened_field}__isnull": True}, then=Value(UNKNOWN)),
        When(**{f"{opened_field}__gt": reference}, then=Value(UNKNOWN)),
    ]
    for key, _label, months in reversed(SENIORITY_BANDS):
        whens.append(When(**{f"{opened_field}__lte": add_months(reference, -months)}, then=Value(key)))
    return Case(*whens, default=Value(UNKNOWN))


def _people(scope):
    return scope.order_by().values("pk")


def notified_decisions(scope, start, end):
    """Décisions d'orientation notifiées entre ``start`` et ``end`` et non annulées, sur le périmètre."""
    return OrientationDecision.objects.filter(
        beneficiary__in=_people(scope),
        status=DecisionStatus.NOTIFIED,
        notified_on__gte=start,
        notified_on__lte=end,
    ).order_by()


def first_orientations(scope, start, end):
    return notified_decisions(scope, start, end).filter(is_reorientation=False)


def reorientations(scope, start, end):
    return notified_decisions(scope, start, end).filter(is_reorientation=True)


def _latest_education_level(end, situation_ids):
    """Expression : la situation « niveau de formation » du diagnostic le plus récent (au plus tard ``end``)
    qui en renseigne un, pour la personne de la décision ; None sinon. ``situation_ids`` : les situations
    du thème (liste fixe : la base cherche par personne sans joindre le référentiel). La sous-requête ne
    tourne que pour les personnes qui ont un niveau renseigné (test d'appartenance haché)."""
    recorded = DiagnosticVersion.situations.through.objects.filter(
        situation_id__in=situation_ids, diagnosticversion__conducted_on__lte=end
    )
    latest = Subquery(
        recorded.filter(diagnosticversion__beneficiary_id=OuterRef("beneficiary_id"))
        .order_by("-diagnosticversion__conducted_on", "-diagnosticversion__number")
        .values("situation_id")[:1]
    )
    return Case(
        When(beneficiary_id__in=recorded.values("diagnosticversion__beneficiary_id"), then=latest),
        default=Value(None, output_field=IntegerField()),
        output_field=IntegerField(),
    )


def _by_pathway_table(counts, keys, labels):
    """Lignes « modalité × parcours » à partir de ``{(modalité, parcours): n}``, avec total et part."""
    total = sum(counts.values())
    rows = []
    for key in keys:
        per_pathway = [counts.get((key, p), 0) for p in PATHWAYS]
        n = sum(per_pathway)
        rows.append([labels[key], *per_pathway, n, _share(n, total)])
    per_pathway = [sum(v for (_k, p), v in counts.items() if p == pathway) for pathway in PATHWAYS]
    rows.append([TOTAL_LABEL, *per_pathway, total, _share(total, total)])
    return rows


def _pathway_columns(first):
    return [first, *(PATHWAY_LABELS[p] for p in PATHWAYS), "Ensemble", "Part"]


# --- les tableaux ---------------------------------------------------------------------------------------


def orientations_by_organisation(scope, year):
    start, end = year_bounds(year)
    rows = (
        notified_decisions(scope, start, end)
        .values("organisation_id", "organisation__kind", "organisation__name", "is_reorientation", "pathway")
        .annotate(n=Count("pk"))
    )
    organisations = {}
    for r in rows:
        key = (
            str(OrganisationKind(r["organisation__kind"]).label),
            r["organisation__name"],
            r["organisation_id"],
        )
        counts = organisations.setdefault(key, {"reorientations": 0})
        if r["is_reorientation"]:
            counts["reorientations"] += r["n"]
        else:
            counts[r["pathway"]] = counts.get(r["pathway"], 0) + r["n"]
    table_rows = []
    totals = [0] * (len(PATHWAYS) + 3)
    for (kind_label, name, _pk), counts in sorted(organisations.items()):
        firsts = [counts.get(p, 0) for p in PATHWAYS]
        values = [*firsts, sum(firsts), counts["reorientations"], sum(firsts) + counts["reorientations"]]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        table_rows.append([kind_label, name, *values])
    table_rows.append([TOTAL_LABEL, "", *totals])
    return Table(
        "orientations_organisme",
        "Orientations notifiées dans l'année, par organisme",
        "Par organisme",
        "Décisions d'orientation notifiées dans l'année (date de notification du 1er janvier au 31 décembre) "
        "et non annulées, par organisme vers lequel la personne est orientée : premières orientations par "
        "parcours, réorientations vers cet organisme, total.",
        [
            "Type d'organisme",
            "Organisme",
            *(f"Premières orientations — {PATHWAY_LABELS[p]}" for p in PATHWAYS),
            "Premières orientations",
            "Réorientations",
            "Total",
        ],
        table_rows,
    )


def orientations_by_organisation_kind(scope, year):
    start, end = year_bounds(year)
    counts = {
        (r["organisation__kind"], r["is_reorientation"]): r["n"]
        for r in notified_decisions(scope, start, end)
        .values("organisation__kind", "is_reorientation")
        .annotate(n=Count("pk"))
    }
    first_total = sum(n for (_k, again), n in counts.items() if not again)
    kinds = [*ORIENTATION_ORGANISATION_KINDS]
    kinds += sorted({OrganisationKind(k) for k, _again in counts} - set(kinds))
    rows = []
    for kind in kinds:
        first = counts.get((kind.value, False), 0)
        rows.append([kind.label, first, _share(first, first_total), counts.get((kind.value, True), 0)])
    reoriented = sum(n for (_k, again), n in counts.items() if again)
    rows.append([TOTAL_LABEL, first_total, _share(first_total, first_total), reoriented])
    return Table(
        "orientations_type_organisme",
        "Premières orientations de l'année, par type d'organisme",
        "Par type d'organisme",
        "Premières orientations notifiées dans l'année et non annulées, par type de l'organisme d'orientation "
        "(France Travail, Département, Mission locale, Cap emploi, CCAS, association délégataire) ; part dans "
        "l'ensemble des premières orientations (vide s'il n'y en a aucune) ; réorientations vers ce type "
        "d'organisme.",
        ["Type d'organisme", "Premières orientations", "Part", "Réorientations"],
        rows,
        frozenset({2}),
    )


def orientations_by_age(scope, year):
    start, end = year_bounds(year)
    rows = (
        first_orientations(scope, start, end)
        .values(band=_age_band("beneficiary__birth_date", end), parcours=F("pathway"))
        .annotate(n=Count("pk"))
    )
    counts = {(r["band"], r["parcours"]): r["n"] for r in rows}
    labels = {**{k: label for k, label, _ in AGE_BANDS}, UNKNOWN: "Date de naissance inconnue"}
    return Table(
        "orientations_age",
        "Premières orientations de l'année, par tranche d'âge",
        "Par âge",
        "Premières orientations notifiées dans l'année et non annulées, par âge de la personne au 31 décembre "
        "de l'année (25 ans révolus au 31/12 : « 25 à 29 ans ») et par parcours.",
        _pathway_columns("Âge au 31 décembre"),
        _by_pathway_table(counts, [*labels], labels),
        frozenset({len(PATHWAYS) + 2}),
    )


def orientations_by_education(scope, year):
    from parcours.accompaniment.models import Situation

    start, end = year_bounds(year)
    situations = list(
        Situation.objects.filter(theme__code=EDUCATION_THEME)
        .order_by("position", "pk")
        .values_list("pk", "code", "label")
    )
    codes = {pk: code for pk, code, _label in situations}
    # Sans le thème au référentiel, personne n'a de niveau renseigné : pas de sous-requête.
    level = (
        _latest_education_level(end, list(codes)) if situations else Value(None, output_field=IntegerField())
    )
    rows = (
        first_orientations(scope, start, end)
        .annotate(level=level)
        .values("level", parcours=F("pathway"))
        .annotate(n=Count("pk"))
    )
    counts = {}
    for r in rows:
        key = (codes.get(r["level"], UNKNOWN), r["parcours"])
        counts[key] = counts.get(key, 0) + r["n"]
    labels = dict(EDUCATION_LEVELS)
    labels.update((code, label) for _pk, code, label in situations)
    labels.pop(UNKNOWN, None)
    labels[UNKNOWN] = "Non renseigné au diagnostic"
    return Table(
        "orientations_niveau_formation",
        "Premières orientations de l'année, par niveau de formation",
        "Par niveau de formation",
        "Premières orientations notifiées dans l'année et non annulées, par niveau de formation relevé au "
        "diagnostic le plus récent (au plus tard le 31 décembre) qui en renseigne un (thème « Niveau de "
        "formation » du référentiel du diagnostic), et par parcours. Sans diagnostic ou sans niveau "
        "renseigné : « non renseigné ».",
        _pathway_columns("Niveau de formation"),
        _by_pathway_table(counts, [*labels], labels),
        frozenset({len(PATHWAYS) + 2}),
    )


def orientations_by_seniority(scope, year):
    start, end = year_bounds(year)
    rows = (
        first_orientations(scope, start, end)
        .values(band=_seniority_band("beneficiary__household__right__opened_on", end), parcours=F("pathway"))
        .annotate(n=Count("pk"))
    )
    counts = {(r["band"], r["parcours"]): r["n"] for r in rows}
    labels = {**{k: label for k, label, _ in SENIORITY_BANDS}, UNKNOWN: UNKNOWN_LABEL}
    return Table(
        "orientations_anciennete",
        "Premières orientations de l'année, par ancienneté dans le RSA",
        "Par ancienneté RSA",
        "Premières orientations notifiées dans l'année et non annulées, par ancienneté dans le RSA au 31 "
        "décembre, comptée depuis la date d'ouverture du droit du foyer (ouvert le 30/06 : 6 mois tout juste "
        "au 31/12, « 6 mois à moins d'1 an »), et par parcours. Date inconnue, ou droit actuel ouvert après "
        "l'année : « non renseigné ».",
        _pathway_columns("Ancienneté au 31 décembre"),
        _by_pathway_table(counts, [*labels], labels),
        frozenset({len(PATHWAYS) + 2}),
    )


def _first_contract_on():
    """Sous-requête : date de signature du premier contrat signé depuis la notification de la décision."""
    return Subquery(
        Contract.objects.filter(
            beneficiary_id=OuterRef("beneficiary_id"),
            signed_on__isnull=False,
            signed_on__gte=OuterRef("notified_on"),
        )
        .exclude(status=ContractStatus.DRAFT)
        .order_by("signed_on", "pk")
        .values("signed_on")[:1]
    )


def delay_band(notified_on, contract_on):
    """Bande de délai (clé de ``DELAY_BANDS``) d'un contrat signé ``contract_on`` après une orientation
    notifiée ``notified_on`` ; ``NO_CONTRACT`` sans contrat. « 1 mois ou moins » : au plus tard le même
    quantième du mois suivant (31/01 → 28/02)."""
    if contract_on is None:
        return NO_CONTRACT
    for key, _label, months in DELAY_BANDS:
        if months is None or contract_on <= add_months(notified_on, months):
            return key
    return DELAY_BANDS[-1][0]


def contract_delay_counts(decisions):
    """``{(bande, réorientation): n}`` et ``{réorientation: {jours: n}}`` (pour les médianes).

    Une requête groupée par type de décision, date de notification et date du premier contrat (la
    sous-requête est évaluée une fois par décision) ; Python ne classe que les couples de dates distincts
    (au plus 366 dates de notification × quelques centaines de dates de contrat)."""
    rows = (
        decisions.values("is_reorientation", notified=F("notified_on"), contract_on=_first_contract_on())
        .annotate(n=Count("pk"))
        .values_list("is_reorientation", "notified", "contract_on", "n")
    )
    bands, days = {}, {False: {}, True: {}}
    for again, notified, contract_on, n in rows:
        notified, contract_on = _as_date(notified), _as_date(contract_on)
        key = (delay_band(notified, contract_on), again)
        bands[key] = bands.get(key, 0) + n
        if contract_on is not None:
            delay = (contract_on - notified).days
            days[again][delay] = days[again].get(delay, 0) + n
    return bands, days


def _as_date(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def contract_delays(scope, year):
    start, end = year_bounds(year)
    bands, days = contract_delay_counts(notified_decisions(scope, start, end))
    keys = [*(k for k, _l, _m in DELAY_BANDS), NO_CONTRACT]
    firsts = sum(n for (_b, again), n in bands.items() if not again)
    agains = sum(n for (_b, again), n in bands.items() if again)
    rows = []
    for key in keys:
        first, again = bands.get((key, False), 0), bands.get((key, True), 0)
        rows.append([DELAY_LABELS[key], first, again, first + again, _share(first + again, firsts + agains)])
    rows.append([TOTAL_LABEL, firsts, agains, firsts + agains, _share(firsts + agains, firsts + agains)])
    both = {}
    for histogram in days.values():
        for delay, n in histogram.items():
            both[delay] = both.get(delay, 0) + n
    rows.append(
        [
            "Délai médian jusqu'au contrat (jours)",
            _median_of_histogram(days[False]),
            _median_of_histogram(days[True]),
            _median_of_histogram(both),
            None,
        ]
    )
    return Table(
        "delais_premier_contrat",
        "Délai entre l'orientation et le premier contrat",
        "Délai jusqu'au contrat",
        "Orientations (premières orientations et réorientations) notifiées dans l'année et non annulées, "
        "par délai entre la notification et la signature du premier contrat signé depuis (contrat "
        "d'engagement, CER ou PPAE), tel que connu au moment du calcul : 1 mois ou moins (au plus tard le "
        "même quantième du mois suivant : notifiée le 15/03, signé le 15/04 au plus tard), plus d'1 mois à 3 "
        "mois, plus de 3 mois, pas de contrat signé. Délai médian en jours sur les orientations suivies "
        "d'un contrat (vide s'il n'y en a aucune).",
        ["Délai", "Premières orientations", "Réorientations", "Ensemble", "Part"],
        rows,
        frozenset({4}),
    )


def _previous_pathway():
    """Sous-requête : parcours de la décision notifiée qui précède la réorientation (la précédente en vigueur)."""
    earlier = Q(notified_on__lt=OuterRef("notified_on")) | Q(
        notified_on=OuterRef("notified_on"), pk__lt=OuterRef("pk")
    )
    return Subquery(
        OrientationDecision.objects.filter(
            earlier, beneficiary_id=OuterRef("beneficiary_id"), status=DecisionStatus.NOTIFIED
        )
        .order_by("-notified_on", "-pk")
        .values("pathway")[:1]
    )


def reorientations_by_direction(scope, year):
    start, end = year_bounds(year)
    rows = (
        reorientations(scope, start, end)
        .annotate(origin=Coalesce(_previous_pathway(), Value(UNKNOWN)))
        .values("origin", destination=F("pathway"))
        .annotate(n=Count("pk"))
    )
    counts = {(r["origin"], r["destination"]): r["n"] for r in rows}
    labels = {**PATHWAY_LABELS, UNKNOWN: "Inconnu"}
    table_rows = []
    for origin in [*PATHWAYS, UNKNOWN]:
        for destination in PATHWAYS:
            n = counts.get((origin, destination), 0)
            if n or origin != UNKNOWN:
                table_rows.append([labels[origin], labels[destination], n])
    table_rows.append([TOTAL_LABEL, "", sum(counts.values())])
    return Table(
        "reorientations",
        "Réorientations de l'année, par parcours d'origine et de destination",
        "Réorientations",
        "Réorientations notifiées dans l'année et non annulées, par parcours de l'orientation notifiée "
        "précédente (« inconnu » si elle n'est pas dans Parcours) et parcours de destination.",
        ["Parcours d'origine", "Parcours de destination", "Réorientations"],
        table_rows,
    )


def reorientation_reasons(scope, year):
    start, end = year_bounds(year)
    grouped = reorientations(scope, start, end).values("reason").annotate(n=Count("pk"))
    counts = {}
    labels = {}
    for r in grouped:  # mêmes motifs à la casse et aux espaces près : une seule ligne
        text = " ".join((r["reason"] or "").split())
        key = text.casefold()
        counts[key] = counts.get(key, 0) + r["n"]
        # Libellé stable : la graphie qui vient en premier dans l'ordre alphabétique (majuscule d'abord).
        labels[key] = min(labels.get(key, text or "Motif non renseigné"), text or "Motif non renseigné")
    total = sum(counts.values())
    rows = [
        [labels[key], n, _share(n, total)]
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    rows.append([TOTAL_LABEL, total, _share(total, total)])
    return Table(
        "motifs_reorientation",
        "Motifs des réorientations de l'année",
        "Motifs de réorientation",
        "Réorientations notifiées dans l'année et non annulées, par motif inscrit sur la décision (motif de "
        "la demande de réorientation lorsqu'elle a été acceptée sans autre motif), du plus fréquent au moins "
        "fréquent ; les motifs identiques à la casse et aux espaces près sont regroupés.",
        ["Motif", "Réorientations", "Part"],
        rows,
        frozenset({2}),
    )


def reorientation_requests(scope, year):
    start, end = year_bounds(year)
    counts = dict(
        ReorientationRequest.objects.filter(
            beneficiary__in=_people(scope), requested_on__gte=start, requested_on__lte=end
        )
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    total = sum(counts.values())
    rows = [
        [label, counts.get(status, 0), _share(counts.get(status, 0), total)]
        for status, label in REQUEST_LABELS.items()
    ]
    rows.append([TOTAL_LABEL, total, _share(total, total)])
    return Table(
        "demandes_reorientation",
        "Demandes de réorientation reçues dans l'année",
        "Demandes de réorientation",
        "Demandes de réorientation (du référent ou de la personne) reçues dans l'année, selon la décision "
        "prise à ce jour.",
        ["Décision", "Demandes", "Part"],
        rows,
        frozenset({2}),
    )


def contracts_by_kind_and_duration(scope, year):
    start, end = year_bounds(year)
    alias, band = _months_band("ends_on", "_from", DURATION_BANDS, missing=UNKNOWN)
    rows = (
        Contract.objects.filter(beneficiary__in=_people(scope), signed_on__gte=start, signed_on__lte=end)
        .exclude(status=ContractStatus.DRAFT)
        .order_by()
        .alias(_from=Coalesce("starts_on", "signed_on"))
        .alias(**alias)
        .values("kind", band=band)
        .annotate(n=Count("pk"))
    )
    counts = {(r["kind"], r["band"]): r["n"] for r in rows}
    keys = [*(k for k, _l, _m in DURATION_BANDS), UNKNOWN]
    table_rows = []
    for kind, label in CONTRACT_LABELS.items():
        values = [counts.get((kind.value, key), 0) for key in keys]
        table_rows.append([label, sum(values), *values])
    totals = [sum(r[i] for r in table_rows) for i in range(1, len(keys) + 2)]
    table_rows.append([TOTAL_LABEL, *totals])
    return Table(
        "contrats",
        "Contrats signés dans l'année, par type et durée prévue",
        "Contrats",
        "Contrats signés dans l'année (date de signature), par type (contrat d'engagement de la loi pour le "
        "plein emploi, CER et PPAE historiques) et par durée prévue, du début du contrat (à défaut, de sa "
        "signature) à sa fin prévue, en mois calendaires : 6 mois ou moins (début le 01/03, fin le 01/09 "
        "au plus tard), plus de 6 à 12 mois, plus de 12 mois ; sans fin prévue : durée non renseignée.",
        ["Type de contrat", "Contrats signés", *(DURATION_LABELS[k] for k in keys)],
        table_rows,
    )


def summary(tables):
    """Tableau de synthèse, tiré des autres tableaux (aucune requête de plus)."""
    by_id = {t.id: t for t in tables}
    delays = by_id["delais_premier_contrat"].rows
    within_month = delays[0][3]
    oriented = delays[len(DELAY_BANDS) + 1][3]
    rows = [
        ["Premières orientations notifiées", by_id["orientations_type_organisme"].rows[-1][1]],
        ["Réorientations notifiées", by_id["orientations_type_organisme"].rows[-1][3]],
        ["Demandes de réorientation reçues", by_id["demandes_reorientation"].rows[-1][1]],
        ["Contrats signés", by_id["contrats"].rows[-1][1]],
        ["Part des orientations suivies d'un contrat dans le mois", _share(within_month, oriented)],
        ["Délai médian entre l'orientation et le premier contrat (jours)", delays[-1][3]],
    ]
    return Table(
        "synthese",
        "Synthèse",
        "Synthèse",
        "Les totaux des tableaux suivants. La part des orientations suivies d'un contrat dans le mois "
        "(objectif légal : Code du travail D5411-14-1) est vide s'il n'y a eu aucune orientation ; le délai "
        "médian est vide si aucune orientation n'a été suivie d'un contrat.",
        ["Indicateur", "Valeur"],
        rows,
        rate_rows=frozenset({4}),
    )


TABLE_FUNCTIONS = [
    orientations_by_organisation,
    orientations_by_organisation_kind,
    orientations_by_age,
    orientations_by_education,
    orientations_by_seniority,
    contract_delays,
    reorientations_by_direction,
    reorientation_reasons,
    reorientation_requests,
    contracts_by_kind_and_duration,
]


def drees_report(departement, year, *, base=None):
    """Toutes les tables du questionnaire pour ``departement`` et ``year`` ; ``base`` : les bénéficiaires que
    l'utilisateur peut compter (défaut : tous). La synthèse vient en premier."""
    scope = beneficiary_scope(departement=departement, base=base)
    with analytics_session():
        tables = [function(scope, year) for function in TABLE_FUNCTIONS]
    return [summary(tables), *tables]


def install_education_levels():
    """Ajoute au référentiel du diagnostic le thème « Niveau de formation » et ses niveaux (idempotent : un
    élément déjà présent n'est ni dupliqué ni modifié). Renvoie le nombre d'éléments créés."""
    from parcours.accompaniment.models import ReferentialSource, Situation, Theme, ThemeKind

    theme, created = Theme.objects.get_or_create(
        code=EDUCATION_THEME,
        defaults={
            "label": EDUCATION_THEME_LABEL,
            "kind": ThemeKind.EMPLOYMENT,
            "source": ReferentialSource.PARCOURS,
            "position": 100,
        },
    )
    count = int(created)
    for position, (code, label) in enumerate(EDUCATION_LEVELS, start=1):
        _situation, made = Situation.objects.get_or_create(
            theme=theme,
            code=code,
            defaults={"label": label, "position": position, "source": ReferentialSource.PARCOURS},
        )
        count += int(made)
    return count


# --- fichiers -------------------------------------------------------------------------------------------


def _cell(value):
    """Valeur exportée : vide pour ``None`` (part ou médiane sans population), arrondie sinon."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def _presentation(departement, year, scope_label):
    return [
        ["Questionnaire annuel DREES — orientation et accompagnement des bénéficiaires du RSA"],
        ["Département", f"{departement.name} ({departement.departement_code})" if departement else "Tous"],
        ["Année", year],
        ["Périmètre", scope_label],
        ["Produit le", datetime.date.today().isoformat()],
    ]


def to_xlsx(tables, departement, year, scope_label=""):
    """Classeur XLSX : une feuille de présentation, une feuille par tableau (en-têtes en français, parts au
    format pourcentage, cellule vide quand une part ou une médiane n'est pas calculable), une feuille des
    définitions."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from parcours.core.csv_export import safe_cell

    def clean(value):
        return safe_cell(value) if isinstance(value, str) else value

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Présentation"
    for row in _presentation(departement, year, scope_label):
        sheet.append([clean(c) for c in row])
    sheet["A1"].font = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(table.sheet[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append([table.definition])
        sheet.append([])
        sheet.append(table.columns)
        for cell in sheet[4]:
            cell.font = Font(bold=True)
        for row_index, row in enumerate(table.rows):
            sheet.append([None if v is None else clean(_cell(v)) for v in row])
            for index in range(len(row)):
                cell = sheet.cell(row=sheet.max_row, column=index + 1)
                if table.is_rate(row_index, index) and isinstance(cell.value, (int, float)):
                    cell.number_format = "0.0%"
        sheet.column_dimensions["A"].width = 48
    sheet = workbook.create_sheet("Définitions")
    sheet.append(["Tableau", "Définition"])
    for table in tables:
        sheet.append([table.title, table.definition])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_rows(tables, departement, year, scope_label=""):
    """Lignes d'un CSV unique : la présentation, puis chaque tableau (titre, définition, en-tête, lignes),
    séparés par une ligne vide."""
    yield from _presentation(departement, year, scope_label)
    for table in tables:
        yield []
        yield [table.title]
        yield [table.definition]
        yield table.columns
        for row in table.rows:
            yield [_cell(v) for v in row]


def to_csv(tables, departement, year, scope_label=""):
    import csv
    import io

    from parcours.core.csv_export import safe_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    for row in csv_rows(tables, departement, year, scope_label):
        writer.writerow([safe_cell(c) for c in row])
    return "\ufeff" + buffer.getvalue()


def departements_for_aggregates(user, memberships):
    """Départements pour lesquels l'utilisateur peut produire le questionnaire (agrégats seulement) : ceux
    dont relève une de ses organisations, services de l'État compris ; pas le délégué à la protection des
    données. ``None`` : tous (super-utilisateur)."""
    from parcours.accounts.models import Role

    if user.is_superuser:
        return None
    ids = set()
    for membership in memberships:
        if membership.role == Role.DPO:
            continue
        home = membership.organisation.home_departement
        if home is not None:
            ids.add(home.pk)
    return ids
