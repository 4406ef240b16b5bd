"""Grille d'orientation partagée d'un Département : règles ordonnées qui proposent un parcours et un organisme
à partir du diagnostic partagé (thèmes de freins, situations, disponibilité, projet professionnel), de l'âge,
de la RQTH et de l'inscription à France Travail.

La grille est tenue par les administrateurs du Département (pages ``views_grid.py``) ; la proposition qui en
découle (``proposal.Proposer``) pré-remplit la décision, qui reste celle du président du Conseil
départemental (CASF L262-29). Sans règle active, la grille par défaut s'applique
(``proposal.DEFAULT_PROPOSAL_RULES``).
"""

from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from parcours.accounts.models import OrganisationKind

from .decisions import orientation_organisations
from .models import Pathway, ProposalRule
from .proposal import CRITERIA, DEFAULT_PROPOSAL_RULES, ROME_PATTERN, Proposer, diagnostic_facts

# Types d'organisme vers lesquels une règle peut proposer d'orienter (pas l'État ni une structure du catalogue).
ORGANISATION_KINDS = [
    (kind.value, kind.label)
    for kind in OrganisationKind
    if kind not in (OrganisationKind.ETAT, OrganisationKind.STRUCTURE)
]

# Bornes des conditions numériques : (minimum, maximum, libellé de l'unité).
BOUNDS = {
    "barriers_min": (1, 9, "thèmes"),
    "age_min": (16, 99, "ans"),
    "age_max": (16, 99, "ans"),
    "weekly_hours_min": (1, 35, "heures"),
}

# Taille de l'échantillon de l'aperçu : les personnes du Département entrées le plus récemment.
PREVIEW_SAMPLE = 500


def rules_of(departement):
    """Toutes les règles du Département (actives ou non), dans l'ordre de la grille."""
    return ProposalRule.objects.filter(departement=departement).order_by("position", "pk")


def barrier_themes():
    """[(code, libellé)] des thèmes « freins » actifs du référentiel du diagnostic."""
    Theme = apps.get_model("accompaniment", "Theme")
    return list(
        Theme.objects.filter(kind="frein", active=True)
        .order_by("position", "label")
        .values_list("code", "label")
    )


def situation_choices():
    """[(libellé du thème, [(« thème/situation », libellé)])] des situations actives, par thème."""
    Situation = apps.get_model("accompaniment", "Situation")
    groups = {}
    for theme_label, theme, code, label in (
        Situation.objects.filter(active=True, theme__active=True)
        .order_by("theme__position", "theme__label", "position", "label")
        .values_list("theme__label", "theme__code", "code", "label")
    ):
        groups.setdefault(theme_label, []).append((f"{theme}/{code}", label))
    return list(groups.items())


def clean_criteria(criteria):
    """Conditions vérifiées et normalisées (messages en français) ; ``ValidationError`` sinon.

    Une condition vide (liste vide, valeur absente) est retirée ; une règle sans condition s'applique à tout
    le monde (règle « par défaut », à placer en dernier).
    """
    errors = []
    cleaned = {}
    for key, value in (criteria or {}).items():
        if value is None or value == "" or value == [] or value == ():
            continue
        criterion = CRITERIA.get(key)
        if criterion is None:
            errors.append(f"Condition inconnue : « {key} ».")
            continue
        if criterion.kind == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                errors.append(f"{criterion.label} : un nombre entier est attendu.")
                continue
            low, high, unit = BOUNDS[key]
            if not low <= number <= high:
                errors.append(f"{criterion.label} : entre {low} et {high} {unit}.")
                continue
            cleaned[key] = number
        elif criterion.kind == "bool":
            if not isinstance(value, bool):
                errors.append(f"{criterion.label} : oui ou non.")
                continue
            cleaned[key] = value
        elif criterion.kind == "themes":
            known = {code for code, _label in barrier_themes()}
            unknown = [v for v in value if v not in known]
            if unknown:
                errors.append(f"{criterion.label} : thème inconnu ou inactif ({', '.join(unknown)}).")
                continue
            cleaned[key] = sorted(set(value))
        elif criterion.kind == "situations":
            known = {k for _theme, items in situation_choices() for k, _label in items}
            unknown = [v for v in value if v not in known]
            if unknown:
                errors.append(f"{criterion.label} : situation inconnue ou inactive ({', '.join(unknown)}).")
                continue
            cleaned[key] = sorted(set(value))
        elif criterion.kind == "rome":
            codes = [str(v).strip().upper() for v in value if str(v).strip()]
            wrong = [c for c in codes if not ROME_PATTERN.match(c)]
            if wrong:
                errors.append(
                    f"{criterion.label} : « {', '.join(wrong)} » n'est pas un code ROME (une lettre de A à N "
                    "suivie de 0 à 4 chiffres, ex. K21 ou N1105)."
                )
                continue
            if codes:
                cleaned[key] = sorted(set(codes))
    if "age_min" in cleaned and "age_max" in cleaned and cleaned["age_min"] > cleaned["age_max"]:
        errors.append(
            f"L'âge minimal ({cleaned['age_min']} ans) dépasse l'âge maximal ({cleaned['age_max']} ans) : "
            "la règle ne s'appliquerait à personne."
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def rule_warnings(departement, organisation_kind):
    """Avertissements (la règle est enregistrée) : pas d'organisme du type proposé dans le Département."""
    if not organisation_kind or organisation_kind == OrganisationKind.DEPARTEMENT:
        return []
    if orientation_organisations(departement).filter(kind=organisation_kind).exists():
        return []
    label = OrganisationKind(organisation_kind).label
    return [
        f"Aucun organisme de type « {label} » n'est rattaché au Département : tant qu'il n'y en a pas, la "
        "règle est sautée et la suivante s'applique."
    ]


def _check_rule(label, pathway, organisation_kind):
    errors = {}
    if not (label or "").strip():
        errors["label"] = "Libellé de la règle : champ obligatoire."
    if pathway not in Pathway.values:
        errors["pathway"] = "Parcours proposé : choisissez emploi, socio-professionnel ou social."
    if organisation_kind not in dict(ORGANISATION_KINDS):
        errors["organisation_kind"] = "Type d'organisme proposé : choisissez un type de la liste."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_rule(departement, *, author, rule=None, label, criteria, pathway, organisation_kind, is_active=True):
    """Crée (en fin de grille) ou modifie une règle du Département ; renvoie (règle, avertissements)."""
    _check_rule(label, pathway, organisation_kind)
    criteria = clean_criteria(criteria)
    if rule is None:
        last = rules_of(departement).aggregate(last=Max("position"))["last"]
        rule = ProposalRule(departement=departement, position=(last or 0) + 1)
    elif rule.departement_id != departement.pk:
        raise ValidationError("Cette règle appartient à un autre Département.")
    rule.label = label.strip()
    rule.criteria = criteria
    rule.pathway = pathway
    rule.organisation_kind = organisation_kind
    rule.is_active = is_active
    rule.updated_by = author
    rule.save()
    return rule, rule_warnings(departement, organisation_kind)


def _renumber(rules):
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            rule.position = position
            rule.save(update_fields=["position", "updated_at"])


@transaction.atomic
def move_rule(rule, offset, *, author):
    """Monte (``offset=-1``) ou descend (``+1``) la règle d'un rang ; les rangs sont renumérotés 1, 2, 3…"""
    rules = list(rules_of(rule.departement_id).select_for_update())
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    target = index + offset
    if 0 <= target < len(rules):
        rules[index], rules[target] = rules[target], rules[index]
        rules[target].updated_by = author
        rules[target].save(update_fields=["updated_by", "updated_at"])
    _renumber(rules)


def set_active(rule, active, *, author):
    rule.is_active = bool(active)
    rule.updated_by = author
    rule.save(update_fields=["is_active", "updated_by", "updated_at"])
    return rule


@transaction.atomic
def delete_rule(rule):
    departement_id = rule.departement_id
    rule.delete()
    _renumber(list(rules_of(departement_id).select_for_update()))


@transaction.atomic
def adopt_defaults(departement, *, author):
    """Copie la grille par défaut dans celle du Département (point de départ à modifier) ; refusé si le
    Département a déjà des règles."""
    if rules_of(departement).exists():
        raise ValidationError("Le Département a déjà sa grille : modifiez ses règles.")
    return [
        ProposalRule.objects.create(
            departement=departement,
            position=position,
            label=rule["label"],
            criteria=dict(rule["criteria"]),
            pathway=rule["pathway"],
            organisation_kind=rule["organisation_kind"],
            updated_by=author,
        )
        for position, rule in enumerate(DEFAULT_PROPOSAL_RULES, start=1)
    ]


# --- aperçu ---------------------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    label: str
    pathway: str
    organisation_kind: str
    count: int
    share: float
    examples: list = field(default_factory=list)

    @property
    def pathway_label(self):
        return Pathway(self.pathway).label

    @property
    def organisation_kind_label(self):
        return dict(ORGANISATION_KINDS).get(self.organisation_kind, "Département")


@dataclass
class Preview:
    rows: list
    sample: int
    diagnosed: int
    without_proposal: int
    is_default: bool


def preview(departement, *, sample_size=PREVIEW_SAMPLE, today=None):
    """Combien de personnes d'un échantillon du Département vont à chaque règle active de la grille (règles par
    défaut si le Département n'en a pas) : les plus récemment entrées, diagnostic lu en deux requêtes."""
    Beneficiary = apps.get_model("beneficiaries", "Beneficiary")
    people = list(
        Beneficiary.objects.filter(departement=departement, anonymised_on__isnull=True)
        .select_related("departement")
        .order_by("-created_at", "-pk")[:sample_size]
    )
    proposer = Proposer(departement)
    diagnostics = diagnostic_facts(people, today)
    proposals = [proposer.propose(p, today=today, diagnostic=diagnostics[p.pk]) for p in people]
    counts = Counter(p.position for p in proposals if p is not None)
    examples = {}
    for p in proposals:
        shown = examples.setdefault(p.position, []) if p is not None else None
        if shown is not None and len(shown) < 3 and p.facts_text not in shown:
            shown.append(p.facts_text)
    total = len(people) or 1
    rows = [
        PreviewRow(
            rule["label"],
            rule["pathway"],
            rule["organisation_kind"],
            counts.get(position, 0),
            100 * counts.get(position, 0) / total,
            examples.get(position, []),
        )
        for position, rule in enumerate(proposer.rules)
    ]
    return Preview(
        rows=rows,
        sample=len(people),
        diagnosed=sum(1 for facts in diagnostics.values() if facts["diagnosed_on"]),
        without_proposal=sum(1 for p in proposals if p is None),
        is_default=proposer.is_default,
    )
