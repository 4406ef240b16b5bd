"""Proposition d'orientation (parcours + organisme + critère retenu) à partir de ce que l'on sait de la
personne ; la décision reste humaine (décision du président du Conseil départemental, CASF L262-29, sur un
référentiel d'orientation partagé avec France Travail).

La **grille d'orientation** d'un Département est une liste ordonnée de règles (``ProposalRule``) : la
première dont toutes les conditions sont vérifiées l'emporte. Les conditions lisent le **diagnostic partagé**
(dernière version : thèmes de freins, situations, disponibilité, projet professionnel), l'âge, la RQTH et
l'inscription à France Travail. Chaque proposition s'explique : « Proposé : social — freins : logement,
santé, mobilité (règle « Plusieurs freins sociaux bloquants ») ».
"""

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string

from parcours.accounts.models import OrganisationKind
from parcours.core.text import lower_first

from .common import default_today
from .decisions import orientation_organisations
from .models import (
    FRANCE_TRAVAIL_CODES,
    Pathway,
    ProposalRule,
)

# --- vocabulaire des critères -----------------------------------------------------------------------------

# Codes des thèmes « freins » du référentiel du diagnostic (``accompaniment.referential.BARRIER_THEMES``).
SOCIAL_BARRIER_THEMES = [
    "sante",
    "logement",
    "justice",
    "difficulte_administrative",
    "difficulte_financiere",
]

# Situations des thèmes « freins » qui décrivent une ressource de la personne et non un frein (Permis B,
# propriétaire, dispose d'un ordinateur…) : elles ne font pas compter le thème parmi les freins. Clé
# « thème/situation » (codes du référentiel).
RESOURCE_SITUATIONS = frozenset(
    {
        "logement/locataire-du-parc-prive",
        "logement/locataire-du-parc-social",
        "logement/proprietaire",
        "mobilite/autres-permis-poids-lourd-bus",
        "mobilite/co-voiturage",
        "mobilite/code-obtenu",
        "mobilite/permis-b",
        "mobilite/vehicule-voiture-moto-scooter",
        "mobilite/velo-ou-trottinette-electrique",
        "numerique/dispose-dun-ordinateur",
        "numerique/dispose-dun-smartphone",
        "numerique/dispose-dune-tablette",
        "sante/difficulte-declaree-nentravant-pas-la-reprise-dune-activite-professionnelle",
    }
)

# Disponibilité lue dans les situations « emploi » du diagnostic, à défaut de date de disponibilité.
AVAILABLE_SITUATIONS = frozenset({"emploi/disponible-immediatement", "emploi/disponible-a-temps-partiel"})
UNAVAILABLE_SITUATIONS = frozenset({"emploi/indisponible-pour-un-emploi-dans-limmediat"})

# RQTH : une situation du diagnostic dont le code la nomme (le Département l'ajoute à son référentiel, ex.
# « Reconnaissance de la qualité de travailleur handicapé (RQTH) » dans le thème Emploi).
RQTH_MARKERS = ("rqth", "reconnaissance-de-la-qualite-de-travailleur-handicape")

ROME_PATTERN = re.compile(r"^[A-N](\d{0,4})$")


@dataclass(frozen=True)
class Criterion:
    """Une condition de la grille : clé JSON, libellé, nature de la valeur attendue."""

    key: str
    label: str
    kind: str  # "int", "bool", "themes", "situations", "rome"


CRITERIA = {
    c.key: c
    for c in (
        Criterion("barriers_min", "Nombre minimal de thèmes de freins", "int"),
        Criterion("barriers_any", "Au moins un de ces freins", "themes"),
        Criterion("situations_any", "Au moins une de ces situations", "situations"),
        Criterion("available_now", "Disponible immédiatement", "bool"),
        Criterion("weekly_hours_min", "Disponibilité hebdomadaire minimale (heures)", "int"),
        Criterion("has_project", "Projet professionnel défini", "bool"),
        Criterion("rome_any", "Métier recherché (codes ROME ou débuts de code)", "rome"),
        Criterion("age_min", "Âge minimal", "int"),
        Criterion("age_max", "Âge maximal", "int"),
        Criterion("rqth", "RQTH reconnue", "bool"),
        Criterion("france_travail_registered", "Inscrit·e à France Travail", "bool"),
    )
}
KNOWN_CRITERIA = set(CRITERIA)

# Grille par défaut, dans l'ordre (la première règle vérifiée l'emporte) ; un Département la remplace par
# ses propres ``ProposalRule`` (page « Grille d'orientation »).
DEFAULT_PROPOSAL_RULES = [
    {
        "label": "Plusieurs freins sociaux bloquants (au moins 3 thèmes)",
        "criteria": {"barriers_min": 3},
        "pathway": Pathway.SOCIAL,
        "organisation_kind": OrganisationKind.DEPARTEMENT,
    },
    {
        "label": "Reconnaissance de la qualité de travailleur handicapé",
        "criteria": {"rqth": True},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.CAP_EMPLOI,
    },
    {
        "label": "Moins de 26 ans",
        "criteria": {"age_max": 25},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.MISSION_LOCALE,
    },
    {
        "label": "Un frein social identifié (santé, logement, justice, administratif, finances)",
        "criteria": {"barriers_any": SOCIAL_BARRIER_THEMES},
        "pathway": Pathway.SOCIO_PROFESSIONNEL,
        "organisation_kind": OrganisationKind.DEPARTEMENT,
    },
    {
        "label": "Proche de l'emploi (par défaut)",
        "criteria": {},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.FRANCE_TRAVAIL,
    },
]


# --- ce que l'on sait de la personne --------------------------------------------------------------------


def _age(birth_date, today):
    if not birth_date:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _empty_diagnostic_facts():
    return {
        "diagnosed_on": None,
        "barriers": set(),
        "situations": set(),
        "rqth": None,
        "available_now": None,
        "weekly_hours": None,
        "has_project": None,
        "rome": "",
    }


def diagnostic_facts(people, today=None):
    """Faits du **dernier** diagnostic partagé de chaque personne, en deux requêtes : {pk: faits}.

    - ``barriers`` : codes des thèmes « freins » où au moins une situation retenue est un frein (les
      ressources de ``RESOURCE_SITUATIONS`` ne comptent pas) ; le thème sensible (santé) compte, il n'est
      montré qu'à l'équipe d'orientation ;
    - ``situations`` : « thème/situation » de toutes les situations retenues ;
    - ``available_now`` : date de disponibilité passée (ou situation « disponible ») / future (ou
      « indisponible dans l'immédiat ») ; ``None`` si le diagnostic ne le dit pas ;
    - ``weekly_hours``, ``has_project`` (projet écrit ou code ROME), ``rome``, ``rqth``.
    """
    today = default_today(today)
    ids = [p.pk for p in people]
    facts = {pk: _empty_diagnostic_facts() for pk in ids}
    if not ids:
        return facts
    DiagnosticVersion = apps.get_model("accompaniment", "DiagnosticVersion")
    latest = {}
    for row in (
        DiagnosticVersion.objects.filter(beneficiary_id__in=ids)
        .order_by("beneficiary_id", "number")
        .values(
            "pk",
            "beneficiary_id",
            "conducted_on",
            "professional_project",
            "rome_code",
            "available_from",
            "weekly_availability_hours",
        )
    ):
        latest[row["beneficiary_id"]] = row  # la dernière version l'emporte
    by_version = {row["pk"]: pk for pk, row in latest.items()}
    for pk, row in latest.items():
        known = facts[pk]
        known["diagnosed_on"] = row["conducted_on"]
        known["weekly_hours"] = row["weekly_availability_hours"]
        known["rome"] = (row["rome_code"] or "").upper()
        known["has_project"] = bool((row["professional_project"] or "").strip() or known["rome"])
        if row["available_from"]:
            known["available_now"] = row["available_from"] <= today
    through = DiagnosticVersion.situations.through
    for version_id, theme, kind, code in through.objects.filter(
        diagnosticversion_id__in=by_version
    ).values_list(
        "diagnosticversion_id", "situation__theme__code", "situation__theme__kind", "situation__code"
    ):
        known = facts[by_version[version_id]]
        key = f"{theme}/{code}"
        known["situations"].add(key)
        if kind == "frein" and key not in RESOURCE_SITUATIONS:
            known["barriers"].add(theme)
        if any(marker in code for marker in RQTH_MARKERS):
            known["rqth"] = True
    for known in facts.values():
        if known["available_now"] is None:
            if known["situations"] & UNAVAILABLE_SITUATIONS:
                known["available_now"] = False
            elif known["situations"] & AVAILABLE_SITUATIONS:
                known["available_now"] = True
    return facts


def person_facts(beneficiary, today=None, extra=None, diagnostic=None):
    """Ce que l'on sait de la personne pour la proposition : âge, inscription France Travail, dernier
    diagnostic partagé (``diagnostic_facts``), puis les fournisseurs déclarés dans
    ``PARCOURS_ORIENTATION_FACT_PROVIDERS`` (fonctions ``f(beneficiary) -> dict``) et enfin ``extra``.

    ``diagnostic`` : faits du diagnostic déjà lus (écran par lot, aperçu de la grille) ; lus sinon.
    """
    today = default_today(today)
    facts = {
        "age": _age(beneficiary.birth_date, today),
        "france_travail_registered": bool(beneficiary.france_travail_id),
    }
    if diagnostic is None:
        diagnostic = diagnostic_facts([beneficiary], today)[beneficiary.pk]
    facts.update(diagnostic)
    for path in getattr(settings, "PARCOURS_ORIENTATION_FACT_PROVIDERS", []):
        facts.update(import_string(path)(beneficiary) or {})
    facts.update(extra or {})
    facts["barriers"] = set(facts.get("barriers") or ())
    facts["situations"] = set(facts.get("situations") or ())
    return facts


# --- règles ---------------------------------------------------------------------------------------------


def _rome_matches(rome, prefixes):
    return bool(rome) and any(rome.startswith(p.upper()) for p in prefixes)


def _check(key, expected, facts):
    """Vrai si la condition ``key`` est vérifiée ; un fait inconnu (``None``) ne vérifie aucune condition."""
    if key == "age_min":
        return facts.get("age") is not None and facts["age"] >= expected
    if key == "age_max":
        return facts.get("age") is not None and facts["age"] <= expected
    if key == "barriers_any":
        return bool(facts["barriers"] & set(expected))
    if key == "barriers_min":
        return len(facts["barriers"]) >= expected
    if key == "situations_any":
        return bool(facts["situations"] & set(expected))
    if key == "weekly_hours_min":
        return facts.get("weekly_hours") is not None and facts["weekly_hours"] >= expected
    if key == "rome_any":
        return _rome_matches(facts.get("rome", ""), expected)
    if key in ("available_now", "has_project", "rqth", "france_travail_registered"):
        return facts.get(key) is not None and facts[key] == bool(expected)
    return False  # condition inconnue : jamais vraie


def criteria_match(criteria, facts):
    """Vrai si toutes les conditions de ``criteria`` sont vérifiées (une condition inconnue n'est jamais vraie)."""
    return all(_check(key, expected, facts) for key, expected in criteria.items())


class Labels:
    """Libellés des thèmes et situations du référentiel (lus une fois, au premier besoin)."""

    def __init__(self):
        self._themes = None
        self._situations = None

    def _load(self):
        Theme = apps.get_model("accompaniment", "Theme")
        Situation = apps.get_model("accompaniment", "Situation")
        self._themes = dict(Theme.objects.values_list("code", "label"))
        self._situations = {
            f"{theme}/{code}": label
            for theme, code, label in Situation.objects.values_list("theme__code", "code", "label")
        }

    def theme(self, code):
        if self._themes is None:
            self._load()
        return lower_first(self._themes.get(code, code))

    def situation(self, key):
        if self._situations is None:
            self._load()
        return lower_first(self._situations.get(key, key.split("/")[-1]))


def _yes_no(value, yes, no):
    return yes if value else no


# Ordre des faits dans l'explication : fixe, car l'ordre des clés d'un champ JSON n'est pas gardé par la base
# (PostgreSQL les range à sa façon dans jsonb).
REASON_ORDER = (
    "barriers_min",
    "barriers_any",
    "situations_any",
    "age_min",
    "age_max",
    "has_project",
    "rome_any",
    "available_now",
    "weekly_hours_min",
    "rqth",
    "france_travail_registered",
)


def reason_rank(key):
    return REASON_ORDER.index(key) if key in REASON_ORDER else len(REASON_ORDER)


def reasons_for(criteria, facts, labels):
    """Les faits de la personne qui vérifient chaque condition, en français (pour l'explication)."""
    reasons = []
    barriers = sorted(facts["barriers"])
    ordered = sorted(
        criteria.items(), key=lambda item: REASON_ORDER.index(item[0]) if item[0] in REASON_ORDER else 99
    )
    for key, expected in ordered:
        if key == "barriers_min":
            reasons.append("freins : " + ", ".join(labels.theme(b) for b in barriers))
        elif key == "barriers_any":
            if "barriers_min" not in criteria:
                matched = [b for b in barriers if b in set(expected)]
                reasons.append(
                    ("frein : " if len(matched) == 1 else "freins : ")
                    + ", ".join(labels.theme(b) for b in matched)
                )
        elif key == "situations_any":
            matched = sorted(facts["situations"] & set(expected))
            reasons.append(
                ("situation : " if len(matched) == 1 else "situations : ")
                + ", ".join(labels.situation(s) for s in matched)
            )
        elif key in ("age_min", "age_max"):
            if not any(r.endswith(" ans") for r in reasons):
                reasons.append(f"{facts['age']} ans")
        elif key == "available_now":
            reasons.append(_yes_no(expected, "disponible immédiatement", "pas disponible immédiatement"))
        elif key == "weekly_hours_min":
            reasons.append(f"disponible {facts['weekly_hours']} h par semaine")
        elif key == "has_project":
            reasons.append(
                _yes_no(expected, "projet professionnel défini", "sans projet professionnel défini")
            )
        elif key == "rome_any":
            reasons.append(f"métier recherché : {facts['rome']}")
        elif key == "rqth":
            reasons.append(_yes_no(expected, "RQTH", "sans RQTH"))
        elif key == "france_travail_registered":
            reasons.append(_yes_no(expected, "inscrit·e à France Travail", "non inscrit·e à France Travail"))
    if not reasons:
        reasons.append(
            "aucun critère particulier"
            + ("" if facts.get("diagnosed_on") else " (pas de diagnostic partagé enregistré)")
        )
    return reasons


@dataclass
class Proposal:
    pathway: str
    organisation: object
    rule: str
    code: str = ""
    reasons: list = field(default_factory=list)
    position: int | None = None  # rang de la règle retenue dans la grille (0 = première)

    @property
    def pathway_label(self):
        return Pathway(self.pathway).label

    @property
    def facts_text(self):
        return " ; ".join(self.reasons)

    @property
    def explanation(self):
        """« Proposé : social — freins : logement, santé (règle « Plusieurs freins sociaux bloquants ») »."""
        text = f"Proposé : {self.pathway_label.lower()}"
        if self.reasons:
            text += f" — {self.facts_text}"
        return f"{text} (règle « {self.rule} »)"

    @property
    def recorded_rule(self):
        """Ce que la décision garde de la proposition (``proposal_rule``) : le libellé de la règle seul — les faits
        peuvent nommer la santé (donnée sensible), ils restent à l'écran de l'équipe d'orientation."""
        return self.rule[:200]


class Proposer:
    """Proposition d'orientation pour les personnes d'un Département (grille et organismes lus une fois)."""

    def __init__(self, departement, *, rules=None):
        self.departement = departement
        if rules is None:
            rules = list(
                ProposalRule.objects.filter(departement=departement, is_active=True).order_by(
                    "position", "pk"
                )
            )
        self.is_default = not rules
        self.rules = (
            [
                {
                    "label": r.label,
                    "criteria": r.criteria,
                    "pathway": r.pathway,
                    "organisation_kind": r.organisation_kind,
                    "pk": r.pk,
                }
                for r in rules
            ]
            if rules
            else DEFAULT_PROPOSAL_RULES
        )
        self.organisations = list(orientation_organisations(departement).order_by("name", "pk"))
        self.labels = Labels()

    def organisation_for(self, kind, beneficiary):
        if kind == OrganisationKind.DEPARTEMENT or not kind:
            return self.departement
        candidates = [o for o in self.organisations if o.kind == kind]
        same_territory = [
            o for o in candidates if o.territory_id and o.territory_id == beneficiary.territory_id
        ]
        return (same_territory or candidates or [None])[0]

    def propose(self, beneficiary, *, today=None, facts=None, diagnostic=None):
        facts = person_facts(beneficiary, today, facts, diagnostic)
        for position, rule in enumerate(self.rules):
            if criteria_match(rule["criteria"], facts):
                organisation = self.organisation_for(rule["organisation_kind"], beneficiary)
                if organisation is None:
                    continue  # pas d'organisme de ce type dans le Département : règle suivante
                return Proposal(
                    rule["pathway"],
                    organisation,
                    rule["label"],
                    FRANCE_TRAVAIL_CODES[rule["pathway"]],
                    reasons_for(rule["criteria"], facts, self.labels),
                    position,
                )
        return None

    def propose_many(self, people, *, today=None):
        """{pk: proposition ou None} ; le diagnostic de toutes les personnes est lu en deux requêtes."""
        people = list(people)
        diagnostics = diagnostic_facts(people, today)
        return {p.pk: self.propose(p, today=today, diagnostic=diagnostics[p.pk]) for p in people}


def propose_orientation(beneficiary, *, today=None, facts=None):
    """Proposition (parcours + organisme + critère retenu et faits qui l'expliquent) ; la décision reste
    humaine."""
    return Proposer(beneficiary.departement).propose(beneficiary, today=today, facts=facts)
