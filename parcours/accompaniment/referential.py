"""Chargement du référentiel du diagnostic (thèmes, situations, objectifs, actions).

Source : les tables de référence de Carnet de bord (alignées sur le diagnostic de France Travail),
copiées dans ``data/carnet-de-bord/``, plus le thème « Justice » propre à Parcours. Le chargement est
idempotent : un élément déjà présent (même thème, même code) n'est jamais dupliqué ni écrasé — les
libellés modifiés ou les éléments désactivés par le Département restent tels quels.

Le code d'une situation / d'un objectif / d'une action est dérivé de son libellé d'origine
(``slugify``) : il reste stable si le Département renomme ensuite l'élément.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

DATA_DIR = Path(__file__).resolve().parent / "data" / "carnet-de-bord"

THEMES_FILE = "ref_theme.csv"
SITUATIONS_FILE = "ref_situation.csv"
OBJECTIVES_FILE = "ref_target.csv"
ACTIONS_FILE = "ref_action.csv"
FRANCE_TRAVAIL_MAPPING_FILE = "pe_contrainte_theme_mapping.csv"

# Nature des thèmes de Carnet de bord : les freins périphériques structurent le diagnostic social.
BARRIER_THEMES = {
    "mobilite",
    "sante",
    "logement",
    "contraintes_familiales",
    "maitrise_langue",
    "numerique",
    "difficulte_financiere",
    "difficulte_administrative",
    "justice",
}
EMPLOYMENT_THEMES = {"emploi", "formation"}
SENSITIVE_THEMES = {"sante"}

# Ordre d'affichage : d'abord les freins (dans l'ordre de la loi et de France Travail), puis le reste.
THEME_ORDER = [
    "mobilite",
    "sante",
    "logement",
    "contraintes_familiales",
    "maitrise_langue",
    "numerique",
    "difficulte_financiere",
    "difficulte_administrative",
    "justice",
    "emploi",
    "formation",
    "choisir_un_metier",
    "se_former",
    "preparer_sa_candidature",
    "trouver_un_emploi",
    "creer_une_entreprise",
    "s_ouvrir_a_l_international",
]

# Complément Parcours : la justice n'a pas de thème dans Carnet de bord (les difficultés juridiques y sont
# rangées avec l'administratif) ; le diagnostic rénové la demande comme frein à part entière.
JUSTICE_THEME = ("justice", "Justice et difficultés juridiques")
JUSTICE_SITUATIONS = [
    "Mesure de justice en cours (contrôle judiciaire, suivi SPIP, sursis probatoire)",
    "Sortie de détention récente",
    "Procédure judiciaire en cours (séparation, garde d'enfant, expulsion, dettes)",
    "Besoin d'un accès au droit (avocat, aide juridictionnelle)",
]
JUSTICE_OBJECTIVES = ["Faire valoir ses droits et régulariser sa situation judiciaire"]
JUSTICE_ACTIONS = [
    "Orientation vers un point-justice ou le conseil départemental de l'accès au droit",
    "Demande d'aide juridictionnelle",
    "Coordination avec le service pénitentiaire d'insertion et de probation (SPIP)",
]

CODE_MAX_LENGTH = 120

# Libellés d'origine corrigés à l'affichage (coquilles de la source, « Pôle emploi » devenu France Travail
# quand il désigne l'institution actuelle). Le code reste dérivé du libellé d'origine (``item_code``) : un
# élément déjà chargé est retrouvé, et la migration 0008 corrige les libellés que le Département n'a pas
# modifiés.
LABEL_CORRECTIONS = {
    "Réalisation de démarches visant à devenir obtenir le statut d'aidant": (
        "Réalisation de démarches visant à obtenir le statut d'aidant"
    ),
    "Réalisation d'une Déclaration Trimestrielle des Ressourcess revenues ( CAF, Pôle emploi… )": (
        "Réalisation d'une déclaration trimestrielle de ressources (CAF, France Travail…)"
    ),
    "Réalisation d’une demande d’aide financière ou/et allocation Pôle emploi ( ARE, ASS… )": (
        "Réalisation d’une demande d’aide financière ou d’allocation France Travail (ARE, ASS…)"
    ),
    "Réaliseration d’une demande pièce d’identité, titre de séjour, Etat civil…": (
        "Réalisation d’une demande de pièce d’identité, de titre de séjour ou d’état civil…"
    ),
    "Demande de protection administratives ou judiciaires ( MASP, tutelle, curatelle, sauvegarde de justice… )": (
        "Demande de protection administrative ou judiciaire (MASP, tutelle, curatelle, sauvegarde de justice…)"
    ),
    "Inscription à Pôle emploi": "Inscription à France Travail",
    "Inscrit à Pôle emploi": "Inscrit à France Travail",
    "Prêt  à suivre une formation": "Prêt à suivre une formation",
    "Prestation Pole emploi": "Prestation France Travail",
    "Enfant(s) de moins de 3 ans sans solution de garde": "Enfant de moins de 3 ans sans solution de garde",
    "Enfant(s) en situation de handicap": "Enfant en situation de handicap",
    "Contrainte horaires": "Contraintes horaires",
    "Difficulté a réaliser des démarches administratives en ligne": (
        "Difficulté à réaliser des démarches administratives en ligne"
    ),
    "Demande d'aide au Fond de Solidarité pour le Logement": (
        "Demande d'aide au Fonds de solidarité pour le logement (FSL)"
    ),
    "Intervention face à une procédure expulsion": "Intervention face à une procédure d'expulsion",
    "Réalisation d’un plan d’apurement dette": "Réalisation d’un plan d’apurement de dette",
    "Réalisation d’une demande de prestation ou / droit CAF/MSA ( allocation familiale, PAJE… )": (
        "Réalisation d’une demande de prestation ou de droit CAF/MSA (allocation familiale, PAJE…)"
    ),
    "Réalisation d’une demande prestation ou aide de la Sécurité sociale  (indemnité journalière… )": (
        "Réalisation d’une demande de prestation ou d’aide de la Sécurité sociale (indemnités journalières…)"
    ),
    "Réalisation d'une demande de mesure de protection administrative ou juridique\"": (
        "Réalisation d'une demande de mesure de protection administrative ou juridique"
    ),
    "Inscription permis/code de la route( auto-école, internet… )": (
        "Inscription au permis ou au code de la route (auto-école, internet…)"
    ),
    "Ecrivain Public Numérique": "Écrivain public numérique",
    "Evaluation RQTH": "Évaluation RQTH",
    "Ecole de la 2ème chance": "École de la 2e chance",
    "Mettre en place une mesure de protection financières (tutelles, curatelles, …)": (
        "Mettre en place une mesure de protection financière (tutelle, curatelle…)"
    ),
}


def corrected_label(label):
    """Libellé affiché d'un élément de la source (corrigé s'il figure dans ``LABEL_CORRECTIONS``)."""
    return LABEL_CORRECTIONS.get(label, label)


def correct_labels(*, apps=None):
    """Corrige les libellés déjà chargés qui sont encore ceux de la source ; renvoie le nombre corrigé."""
    models = _models(apps)[1:]
    count = 0
    for original, corrected in LABEL_CORRECTIONS.items():
        for model in models:
            count += model.objects.filter(code=item_code(original), label=original).update(label=corrected)
    return count


class ReferentialFileError(Exception):
    """Fichier du référentiel absent ou mal formé : message en français nommant le fichier et la ligne."""


@dataclass
class LoadReport:
    created: dict = field(default_factory=dict)
    existing: dict = field(default_factory=dict)

    def add(self, kind, created):
        target = self.created if created else self.existing
        target[kind] = target.get(kind, 0) + 1

    @property
    def total_created(self):
        return sum(self.created.values())

    def as_dict(self):
        kinds = ("themes", "situations", "objectives", "actions")
        return {
            "created": {k: self.created.get(k, 0) for k in kinds},
            "existing": {k: self.existing.get(k, 0) for k in kinds},
        }


def item_code(label):
    """Code stable d'un élément du référentiel, dérivé de son libellé d'origine."""
    return slugify(label)[:CODE_MAX_LENGTH]


def _read(source, name, columns):
    path = Path(source) / name
    if not path.exists():
        raise ReferentialFileError(f"Fichier du référentiel introuvable : {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            columns_word = "colonne manquante" if len(missing) == 1 else "colonnes manquantes"
            raise ReferentialFileError(f"{name} : {columns_word} {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            values = {c: (row.get(c) or "").strip() for c in columns}
            empty = [c for c in columns if not values[c]]
            if empty:
                raise ReferentialFileError(f"{name}, ligne {line} : valeur manquante pour {', '.join(empty)}")
            rows.append((line, values))
        return rows


def _models(apps):
    if apps is None:
        from parcours.accompaniment import models

        return models.Theme, models.Situation, models.Objective, models.Action
    return tuple(
        apps.get_model("accompaniment", name) for name in ("Theme", "Situation", "Objective", "Action")
    )


def load_referential(source=None, *, apps=None):
    """Charge (ou complète) le référentiel depuis ``source`` (dossier des CSV ; par défaut celui du paquet).

    ``apps`` : registre historique quand la fonction est appelée depuis une migration de données.
    Renvoie un ``LoadReport`` (créés / déjà présents par nature d'élément).
    """
    source = Path(source) if source else DATA_DIR
    theme_rows = _read(source, THEMES_FILE, ["name", "label"])
    mapping_rows = _read(source, FRANCE_TRAVAIL_MAPPING_FILE, ["pe_contrainte_code", "cdb_theme"])
    item_rows = {
        "situations": _read(source, SITUATIONS_FILE, ["theme", "description"]),
        "objectives": _read(source, OBJECTIVES_FILE, ["theme", "description"]),
        "actions": _read(source, ACTIONS_FILE, ["theme", "description"]),
    }
    Theme, Situation, Objective, Action = _models(apps)
    item_models = {"situations": Situation, "objectives": Objective, "actions": Action}
    theme_codes = {values["name"] for _, values in theme_rows}
    france_travail = {}
    for line, values in mapping_rows:
        if values["cdb_theme"] not in theme_codes:
            raise ReferentialFileError(
                f"{FRANCE_TRAVAIL_MAPPING_FILE}, ligne {line} : thème inconnu « {values['cdb_theme']} »"
            )
        france_travail[values["cdb_theme"]] = values["pe_contrainte_code"]
    for kind, rows in item_rows.items():
        for line, values in rows:
            if values["theme"] not in theme_codes:
                name = {
                    "situations": SITUATIONS_FILE,
                    "objectives": OBJECTIVES_FILE,
                    "actions": ACTIONS_FILE,
                }[kind]
                raise ReferentialFileError(f"{name}, ligne {line} : thème inconnu « {values['theme']} »")

    report = LoadReport()
    with transaction.atomic():
        themes = {}
        all_themes = [(values["name"], values["label"], "carnet_de_bord") for _, values in theme_rows]
        all_themes.append((*JUSTICE_THEME, "parcours"))
        for code, label, origin in all_themes:
            position = THEME_ORDER.index(code) if code in THEME_ORDER else len(THEME_ORDER)
            kind = "frein" if code in BARRIER_THEMES else "emploi" if code in EMPLOYMENT_THEMES else "projet"
            theme, created = Theme.objects.get_or_create(
                code=code,
                defaults={
                    "label": label,
                    "kind": kind,
                    "sensitive": code in SENSITIVE_THEMES,
                    "france_travail_code": france_travail.get(code, ""),
                    "position": position,
                    "source": origin,
                },
            )
            themes[code] = theme
            report.add("themes", created)

        extra = {
            "situations": JUSTICE_SITUATIONS,
            "objectives": JUSTICE_OBJECTIVES,
            "actions": JUSTICE_ACTIONS,
        }
        for kind, rows in item_rows.items():
            model = item_models[kind]
            known = set(model.objects.values_list("theme__code", "code"))
            entries = [(values["theme"], values["description"], "carnet_de_bord") for _, values in rows]
            entries += [("justice", label, "parcours") for label in extra[kind]]
            positions = {}
            to_create = []
            for theme_code, label, origin in entries:
                position = positions[theme_code] = positions.get(theme_code, 0) + 1
                code = item_code(label)
                if (theme_code, code) in known:
                    report.add(kind, False)
                    continue
                known.add((theme_code, code))
                to_create.append(
                    model(
                        theme=themes[theme_code],
                        code=code,
                        label=corrected_label(label),
                        position=position,
                        source=origin,
                    )
                )
                report.add(kind, True)
            model.objects.bulk_create(to_create)
    return report


def theme_for_france_travail_constraint(code):
    """Le thème du diagnostic correspondant à un code « contrainte » France Travail (23 à 29), ou None."""
    from parcours.accompaniment.models import Theme

    return Theme.objects.filter(france_travail_code=str(code).strip()).first()
