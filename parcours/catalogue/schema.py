"""Validation des structures et services sur le schéma data·inclusion v1 (modèles pydantic du paquet).

- ``clean_record`` met une ligne brute (JSON de l'API, ligne de tableur, formulaire) dans la forme du
  schéma : chaînes nettoyées, listes séparées par des virgules, nombres de tableur convertis ;
- ``check`` renvoie les erreurs et avertissements du schéma, en français, champ par champ ;
- ``coerce`` sert à l'import : il retire les valeurs invalides des champs facultatifs (signalées),
  rejette l'enregistrement si un champ obligatoire manque, et renvoie l'objet pydantic validé ;
- ``quality_score`` est le score de qualité officiel de data·inclusion (``score_qualite``).
"""

import datetime
import difflib
import enum
import types
import typing
from dataclasses import dataclass, field

import pydantic
from data_inclusion.schema import v1
from data_inclusion.schema.v1 import score_qualite

ERROR = "erreur"
WARNING = "avertissement"


@dataclass
class Issue:
    field: str
    message: str
    value: typing.Any = None
    level: str = ERROR

    def as_dict(self):
        return {
            "field": self.field,
            "message": self.message,
            "value": _jsonable(self.value),
            "level": self.level,
        }


def _jsonable(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------------------------------
# Description des champs des modèles


def _base_types(annotation):
    """Types de base d'une annotation (``set[Thematique] | None`` → {set}, {Thematique})."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        result = set()
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                result |= _base_types(arg)
        return result
    if origin is typing.Literal:
        return {str}
    if origin is not None:
        return {origin}
    return {annotation}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    required: bool
    is_array: bool
    kind: str  # "str" | "int" | "float" | "date" | "enum" | "url" | "email"
    enum_cls: type | None = None


def _spec(name, info):
    annotation = info.annotation
    base = _base_types(annotation)
    is_array = bool(base & {list, set})
    item_types = base
    if is_array:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = typing.get_args(args[0]) if args else ()
        item_types = set()
        for arg in inner:
            item_types |= _base_types(arg)
    enum_cls = next((t for t in item_types if isinstance(t, type) and issubclass(t, enum.Enum)), None)
    if enum_cls:
        kind = "enum"
    elif datetime.date in item_types:
        kind = "date"
    elif float in item_types:
        kind = "float"
    elif int in item_types:
        kind = "int"
    elif pydantic.HttpUrl in item_types:
        kind = "url"
    elif name == "courriel":
        kind = "email"
    else:
        kind = "str"
    return FieldSpec(name=name, required=info.is_required(), is_array=is_array, kind=kind, enum_cls=enum_cls)


STRUCTURE_SPECS = {name: _spec(name, info) for name, info in v1.Structure.model_fields.items()}
SERVICE_SPECS = {name: _spec(name, info) for name, info in v1.Service.model_fields.items()}
STRUCTURE_FIELDS = list(STRUCTURE_SPECS)
SERVICE_FIELDS = list(SERVICE_SPECS)


def specs_for(model):
    return SERVICE_SPECS if model is v1.Service else STRUCTURE_SPECS


# --------------------------------------------------------------------------------------------------
# Nettoyage d'une ligne brute


def _clean_scalar(value, spec):
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if spec.kind == "date" else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and spec.kind in {"str", "enum", "url", "email", "date"}:
        # Nombre lu dans un tableur (code postal, SIRET, code INSEE…) : « 59260.0 » → « 59260 ».
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, int) and spec.kind in {"str", "enum", "url", "email", "date"}:
        return str(value)
    if isinstance(value, float) and spec.kind == "int" and value.is_integer():
        return int(value)
    return value


def clean_record(raw, model):
    """Ne garde que les champs du schéma, nettoyés. Renvoie ``(données, colonnes_inconnues)``."""
    specs = specs_for(model)
    data = {}
    for name, spec in specs.items():
        value = raw.get(name)
        if spec.is_array:
            if isinstance(value, str):
                value = value.split(",")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                value = [value]
            if value is not None:
                items = [_clean_scalar(v, spec) for v in value]
                value = [v for v in items if v is not None] or None
        else:
            value = _clean_scalar(value, spec)
        data[name] = value
    unknown = sorted(k for k in raw if k not in specs and k)
    return data, unknown


# --------------------------------------------------------------------------------------------------
# Messages en français


def _suggest(value, enum_cls):
    candidates = [m.value for m in enum_cls]
    close = difflib.get_close_matches(str(value), candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _enum_message(value, enum_cls):
    values = [m.value for m in enum_cls]
    if len(values) <= 4:
        quoted = [f"« {v} »" for v in values]
        return f"La valeur doit être {', '.join(quoted[:-1])} ou {quoted[-1]}."
    message = f"La valeur « {value} » n'existe pas."
    suggestion = _suggest(value, enum_cls)
    if suggestion:
        message += f" Vouliez-vous dire « {suggestion} » ?"
    return message


_PATTERN_MESSAGES = {
    "code_postal": "Le code postal doit comporter 5 chiffres.",
    "code_insee": "Le code commune (INSEE) doit comporter 5 caractères.",
    "siret": "Le numéro SIRET doit comporter 14 chiffres.",
}


def _translate(error, spec):
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    name = spec.name if spec else str(error["loc"][0])
    if kind == "missing" or (value is None and spec is not None and spec.required):
        return "Champ requis."
    if kind in {"avertissement"}:
        return error["msg"]
    if kind == "value_error":
        message = str(ctx.get("error") or error["msg"]).removeprefix("Value error, ")
        if name == "courriel" or "email" in message:
            return "La valeur n'est pas un courriel valide."
        return message
    if kind == "enum" and spec and spec.enum_cls:
        return _enum_message(value, spec.enum_cls)
    if kind.startswith("url"):
        return "La valeur doit être une URL valide (commençant par https://)."
    if (
        kind in {"string_too_short", "string_too_long", "string_pattern_mismatch"}
        and name in _PATTERN_MESSAGES
    ):
        return _PATTERN_MESSAGES[name]
    if kind == "string_too_short":
        return f"Le texte doit contenir au moins {ctx.get('min_length')} caractères."
    if kind == "string_too_long":
        return f"Le texte doit contenir au plus {ctx.get('max_length')} caractères."
    if kind == "string_pattern_mismatch":
        return "Format invalide."
    if kind == "too_short":
        return "La liste doit contenir au moins une valeur."
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "La valeur doit être un nombre entier."
    if kind in {"float_parsing", "float_type"}:
        return "La valeur doit être un nombre."
    if kind in {"greater_than_equal", "greater_than"}:
        bound = ctx.get("ge", ctx.get("gt"))
        return f"La valeur doit être supérieure ou égale à {bound}."
    if kind.startswith("date"):
        return "Date invalide (format attendu : AAAA-MM-JJ)."
    if kind.endswith("_type"):
        return "Type de valeur inattendu."
    return error["msg"]


def _zone_message(value):
    return (
        f"Le code « {value} » n'est ni un code commune (5 caractères), ni un code département, "
        "ni un code EPCI (9 chiffres), ni un code pays (99xxx), ni « france »."
    )


def _collect(exc, model):
    """Erreurs pydantic → liste d'``Issue`` dédoublonnées par (champ, position)."""
    specs = specs_for(model)
    issues = {}
    for error in exc.errors():
        loc = error["loc"]
        name = str(loc[0]) if loc else ""
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        key = (name, index)
        if key in issues:
            continue  # unions (zone d'éligibilité) : une seule erreur par valeur
        spec = specs.get(name)
        value = error.get("input") if error["type"] != "missing" else None
        if name == "zone_eligibilite" and index is not None:
            message = _zone_message(value)
        else:
            message = _translate(error, spec)
        level = WARNING if error["type"] == "avertissement" else ERROR
        issues[key] = (index, Issue(field=name, message=message, value=value, level=level))
    return list(issues.values())


def check(model, data):
    """Erreurs et avertissements du schéma pour ``data`` (déjà nettoyé). Renvoie ``(errors, warnings)``."""
    try:
        model.model_validate(data, context={"ignore_warnings": False})
    except pydantic.ValidationError as exc:
        found = [issue for _, issue in _collect(exc, model)]
        return [i for i in found if i.level == ERROR], [i for i in found if i.level == WARNING]
    return [], []


@dataclass
class CoerceResult:
    data: dict  # données retenues (valeurs invalides retirées)
    instance: pydantic.BaseModel | None  # objet validé, None si rejeté
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    date_maj_defaulted: bool = False

    @property
    def rejected(self):
        return self.instance is None


def coerce(model, data, default_date_maj=None):
    """Valide ``data`` pour l'import : retire les valeurs invalides des champs facultatifs.

    - une valeur invalide dans une liste est retirée de la liste, une valeur invalide d'un champ simple
      est retirée du champ : l'erreur est signalée et l'enregistrement est importé sans elle ;
    - ``date_maj`` absente ou invalide est remplacée par ``default_date_maj`` si elle est fournie ;
    - un autre champ obligatoire absent ou invalide rejette l'enregistrement.
    """
    specs = specs_for(model)
    data = dict(data)
    errors, warnings = [], []
    defaulted = False
    try:
        model.model_validate(data, context={"ignore_warnings": False})
    except pydantic.ValidationError as exc:
        drop_items = {}
        for index, issue in _collect(exc, model):
            if issue.level == WARNING:
                warnings.append(issue)
                continue
            spec = specs.get(issue.field)
            if spec is None:
                errors.append(issue)
                continue
            if spec.required:
                if issue.field == "date_maj" and default_date_maj is not None:
                    data["date_maj"] = default_date_maj.isoformat()
                    defaulted = True
                    issue.message += f" Date de l'import retenue ({default_date_maj:%d/%m/%Y})."
                    errors.append(issue)
                    continue
                issue.message += " L'enregistrement n'est pas importé."
                errors.append(issue)
                return CoerceResult(data=data, instance=None, errors=errors, warnings=warnings)
            if spec.is_array and index is not None:
                drop_items.setdefault(issue.field, set()).add(index)
                issue.message += " Valeur ignorée."
            else:
                data[issue.field] = None
                issue.message += " Valeur ignorée."
            errors.append(issue)
        for name, indexes in drop_items.items():
            if data.get(name) is None:
                continue
            kept = [v for i, v in enumerate(data[name]) if i not in indexes]
            data[name] = kept or None
    try:
        instance = model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors.extend(issue for _, issue in _collect(exc, model))
        return CoerceResult(data=data, instance=None, errors=errors, warnings=warnings)
    return CoerceResult(
        data=data, instance=instance, errors=errors, warnings=warnings, date_maj_defaulted=defaulted
    )


# --------------------------------------------------------------------------------------------------
# Sortie au format du schéma et score de qualité


def dump(instance):
    """Objet pydantic → dict JSON du schéma, listes triées (sortie stable)."""
    payload = instance.model_dump(mode="json")
    for key, value in payload.items():
        if isinstance(value, list):
            payload[key] = sorted(value)
    return payload


QUALITY_CRITERIA_LABELS = {
    "adresse_bien_definie": "Adresse renseignée (accueil en présentiel)",
    "modes_mobilisation_bien_definis": "Modes de mobilisation et personnes mobilisatrices",
    "au_moins_un_public": "Au moins un public",
    "au_moins_une_thematique": "Au moins une thématique",
    "au_moins_un_moyen_de_contact": "Au moins un moyen de contact",
    "courriel_bien_defini": "Courriel renseigné (mobilisation par courriel)",
    "date_maj_recente": "Mise à jour récente",
    "frais_bien_definis": "Frais précisés",
    "description_bien_definie": "Description de 200 à 2 000 caractères",
    "telephone_bien_defini": "Téléphone renseigné (mobilisation par téléphone)",
}


def quality_score(service):
    """Score de qualité data·inclusion (0 à 1) et détail par critère (None : non applicable)."""
    score, details = score_qualite.score(service)
    return score, {k: (round(v, 2) if v is not None else None) for k, v in details.items()}
