"""Validation d'un document contre un JSON Schema (sous-ensemble utilisé par le schéma data·inclusion v1).

Le paquet ``jsonschema`` n'est pas une dépendance du projet : ce validateur couvre les mots-clés présents
dans ``schema-v1/service.json`` et ``structure.json`` et refuse tout mot-clé qu'il ne connaît pas, pour
qu'une évolution du schéma ne passe pas inaperçue.
"""

import datetime
import re

_ANNOTATIONS = {"title", "description", "default", "examples", "$defs"}
_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
    "boolean": bool,
    "null": type(None),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")


def _is_type(value, name):
    if name in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def errors(instance, schema, root=None, path="$"):
    """Liste des erreurs (chemin : message) ; vide si ``instance`` est conforme."""
    root = root or schema
    found = []
    unknown = set(schema) - _ANNOTATIONS - {
        "$ref", "type", "enum", "const", "anyOf", "properties", "required", "items", "minItems",
        "uniqueItems", "minLength", "maxLength", "pattern", "minimum", "format",
    }  # fmt: skip
    if unknown:
        return [f"{path}: mots-clés non gérés {sorted(unknown)}"]
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        found += errors(instance, target, root, path)
    if "anyOf" in schema and all(errors(instance, sub, root, path) for sub in schema["anyOf"]):
        found.append(f"{path}: aucune alternative de anyOf ne convient ({instance!r})")
    if "type" in schema and not _is_type(instance, schema["type"]):
        return [*found, f"{path}: type {schema['type']} attendu ({instance!r})"]
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{path}: {instance!r} hors de l'énumération")
    if "const" in schema and instance != schema["const"]:
        found.append(f"{path}: {instance!r} différent de {schema['const']!r}")
    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            found.append(f"{path}: trop court")
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            found.append(f"{path}: trop long")
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            found.append(f"{path}: ne respecte pas {schema['pattern']}")
        fmt = schema.get("format")
        if fmt == "date":
            try:
                datetime.date.fromisoformat(instance)
            except ValueError:
                found.append(f"{path}: date invalide")
        elif fmt == "email" and not _EMAIL.match(instance):
            found.append(f"{path}: courriel invalide")
        elif fmt == "uri" and not _URI.match(instance):
            found.append(f"{path}: URI invalide")
    is_number = isinstance(instance, int | float) and not isinstance(instance, bool)
    if is_number and "minimum" in schema and instance < schema["minimum"]:
        found.append(f"{path}: inférieur à {schema['minimum']}")
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0):
            found.append(f"{path}: liste trop courte")
        if schema.get("uniqueItems") and len({repr(v) for v in instance}) != len(instance):
            found.append(f"{path}: valeurs en double")
        if "items" in schema:
            for index, item in enumerate(instance):
                found += errors(item, schema["items"], root, f"{path}[{index}]")
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            if name not in instance:
                found.append(f"{path}.{name}: requis")
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                found += errors(instance[name], sub, root, f"{path}.{name}")
    return found
