"""Proposition d'orientation (parcours + organisme + critère retenu) à partir de ce que l'on sait de la
personne ; la décision reste humaine."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from parcours.accounts.models import OrganisationKind

from .common import default_today
from .decisions import orientation_organisations
from .models import (
    Pathway,
    ProposalRule,
)

# --- proposition d'orientation ----------------------------------------------------------------------------

SOCIAL_BARRIER_THEMES = [
    "sante",
    "logement",
    "justice",
    "difficultes_administratives",
    "difficultes_financieres",
]

# Critères par défaut, dans l'ordre (la première règle vérifiée l'emporte) ; un Département les remplace
# par ses propres ``ProposalRule`` (administration).
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

KNOWN_CRITERIA = {"age_min", "age_max", "france_travail_registered", "barriers_any", "barriers_min", "rqth"}


def _age(birth_date, today):
    if not birth_date:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def person_facts(beneficiary, today=None, extra=None):
    """Ce que l'on sait de la personne pour la proposition : âge, inscription France Travail, freins…

    Les freins (``barriers`` : codes de thèmes du diagnostic) et la RQTH viennent des fournisseurs déclarés
    dans ``PARCOURS_ORIENTATION_FACT_PROVIDERS`` (fonctions ``f(beneficiary) -> dict``, ex. le diagnostic
    partagé) ou de ``extra``.
    """
    facts = {
        "age": _age(beneficiary.birth_date, default_today(today)),
        "france_travail_registered": bool(beneficiary.france_travail_id),
        "barriers": set(),
        "rqth": None,
    }
    for path in getattr(settings, "PARCOURS_ORIENTATION_FACT_PROVIDERS", []):
        facts.update(import_string(path)(beneficiary) or {})
    facts.update(extra or {})
    facts["barriers"] = set(facts.get("barriers") or ())
    return facts


def criteria_match(criteria, facts):
    """Vrai si toutes les conditions de ``criteria`` sont vérifiées (une condition inconnue n'est jamais vraie)."""
    for key, expected in criteria.items():
        if key not in KNOWN_CRITERIA:
            return False
        if key == "age_min" and (facts["age"] is None or facts["age"] < expected):
            return False
        if key == "age_max" and (facts["age"] is None or facts["age"] > expected):
            return False
        if key == "france_travail_registered" and facts["france_travail_registered"] != bool(expected):
            return False
        if key == "barriers_any" and not (facts["barriers"] & set(expected)):
            return False
        if key == "barriers_min" and len(facts["barriers"]) < expected:
            return False
        if key == "rqth" and facts.get("rqth") != bool(expected):
            return False
    return True


@dataclass
class Proposal:
    pathway: str
    organisation: object
    rule: str
    code: str = ""

    @property
    def pathway_label(self):
        return Pathway(self.pathway).label


class Proposer:
    """Proposition d'orientation pour les personnes d'un Département (règles et organismes lus une fois)."""

    def __init__(self, departement):
        self.departement = departement
        rules = list(
            ProposalRule.objects.filter(departement=departement, is_active=True).order_by("position", "pk")
        )
        self.rules = (
            [
                {
                    "label": r.label,
                    "criteria": r.criteria,
                    "pathway": r.pathway,
                    "organisation_kind": r.organisation_kind,
                }
                for r in rules
            ]
            if rules
            else DEFAULT_PROPOSAL_RULES
        )
        self.organisations = list(orientation_organisations(departement).order_by("name", "pk"))

    def organisation_for(self, kind, beneficiary):
        if kind == OrganisationKind.DEPARTEMENT or not kind:
            return self.departement
        candidates = [o for o in self.organisations if o.kind == kind]
        same_territory = [
            o for o in candidates if o.territory_id and o.territory_id == beneficiary.territory_id
        ]
        chosen = (same_territory or candidates or [None])[0]
        return chosen

    def propose(self, beneficiary, *, today=None, facts=None):
        facts = person_facts(beneficiary, today, facts)
        for rule in self.rules:
            if criteria_match(rule["criteria"], facts):
                organisation = self.organisation_for(rule["organisation_kind"], beneficiary)
                if organisation is None:
                    continue  # pas d'organisme de ce type dans le Département : règle suivante
                from .models import FRANCE_TRAVAIL_CODES

                return Proposal(
                    rule["pathway"], organisation, rule["label"], FRANCE_TRAVAIL_CODES[rule["pathway"]]
                )
        return None


def propose_orientation(beneficiary, *, today=None, facts=None):
    """Proposition (parcours + organisme + critère retenu) ; la décision reste humaine."""
    return Proposer(beneficiary.departement).propose(beneficiary, today=today, facts=facts)
