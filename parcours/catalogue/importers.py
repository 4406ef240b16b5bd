"""Import du catalogue : pages JSON de l'API data·inclusion et tableur modèle du valideur (XLSX).

Un import met à jour ce qui existe (clé : source + identifiant), crée ce qui est nouveau et désactive ce
qui a disparu de la source (jamais de doublon, jamais de suppression). Chaque valeur invalide est
signalée par fichier, ligne et champ ; une valeur invalide d'un champ facultatif est retirée et
l'enregistrement importé quand même ; un champ obligatoire absent rejette la ligne.
"""

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from data_inclusion.schema import v1
from django.db import transaction
from django.utils import timezone

from parcours.core.text import plural

from . import conf
from .geo import valid_coordinates
from .models import CatalogueImport, Commune, Origin, Service, Structure
from .schema import ERROR, WARNING, Issue, clean_record, coerce
from .text import slug

BATCH = 200


class ImportRejected(Exception):
    """Fichier inutilisable : rien n'est écrit. Message en français destiné à l'agent."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class RawRow:
    kind: str  # "structure" | "service"
    file: str
    row: int  # ligne du tableur, ou rang de l'élément dans la page JSON (à partir de 1)
    data: dict
    sheet: str = ""


@dataclass
class ParsedInput:
    format: str
    rows: list = field(default_factory=list)
    file_warnings: list = field(default_factory=list)  # dicts
    # Pages JSON lues par type d'objet : {kind: {"pages": {n…}, "total_pages": n}} (export complet ?)
    pagination: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Lecture des fichiers


def detect_format(path):
    suffix = Path(path).suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix == ".json":
        return "json"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "xlsx"
    return "json"


def _kind_of(item):
    return "service" if "structure_id" in item else "structure"


def read_json(paths, parsed):
    for path in paths:
        name = Path(path).name
        try:
            with open(path, encoding="utf-8-sig") as fh:
                document = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportRejected(f"{name} : fichier JSON illisible ({exc}).") from exc
        if isinstance(document, dict) and isinstance(document.get("items"), list):
            items = document["items"]
            page, pages = document.get("page"), document.get("pages")
        elif isinstance(document, list):
            items, page, pages = document, None, None
        elif isinstance(document, dict) and "id" in document:
            items, page, pages = [document], None, None
        else:
            raise ImportRejected(
                f"{name} : ce n'est pas un export data·inclusion (attendu : une page {{items, page, pages}} "
                "ou une liste de structures ou de services)."
            )
        kinds = set()
        for index, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                parsed.file_warnings.append(
                    {
                        "file": name,
                        "row": index,
                        "field": "",
                        "message": "Élément ignoré : ce n'est pas un objet.",
                    }
                )
                continue
            if isinstance(item.get("service"), dict):  # résultat de recherche {service, distance}
                item = item["service"]
            nested = item.get("structure")
            if isinstance(nested, dict):
                parsed.rows.append(RawRow("structure", name, index, nested))
                item = {k: v for k, v in item.items() if k != "structure"}
            kind = _kind_of(item)
            kinds.add(kind)
            parsed.rows.append(RawRow(kind, name, index, item))
        for kind in kinds:
            info = parsed.pagination.setdefault(kind, {"pages": set(), "total_pages": None, "paged": True})
            if page is None or pages is None:
                info["paged"] = False
            else:
                info["pages"].add(int(page))
                info["total_pages"] = max(int(pages), info["total_pages"] or 0)


XLSX_SHEETS = {"Structures": "structure", "Services": "service"}


def read_xlsx(path, parsed):
    import openpyxl

    from parcours.core import xlsx

    name = Path(path).name
    # Bombe zip, onglet déclarant trop de lignes : refus avant l'ouverture ; lignes et temps bornés ensuite.
    xlsx.check_workbook(path, name=name, error=ImportRejected)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - tout classeur illisible est refusé proprement
        raise ImportRejected(f"{name} : classeur XLSX illisible ({exc}).") from exc
    xlsx.guard_workbook(workbook, name=name, error=ImportRejected)
    try:
        found = [s for s in XLSX_SHEETS if s in workbook.sheetnames]
        if not found:
            raise ImportRejected(
                f"{name} : aucune feuille « Structures » ni « Services » (modèle du valideur data·inclusion)."
            )
        for sheet_name in found:
            kind = XLSX_SHEETS[sheet_name]
            specs = v1.Service.model_fields if kind == "service" else v1.Structure.model_fields
            rows = workbook[sheet_name].iter_rows(values_only=True)
            header = next(rows, None)
            if not header:
                continue
            columns = {}
            for position, cell in enumerate(header):
                letter = openpyxl.utils.get_column_letter(position + 1)
                if cell is None:
                    continue
                if not isinstance(cell, str):
                    parsed.file_warnings.append(
                        {
                            "file": name,
                            "sheet": sheet_name,
                            "row": 1,
                            "field": letter,
                            "message": f"En-tête illisible en colonne {letter} ({cell}) : colonne ignorée.",
                        }
                    )
                    continue
                title = cell.strip()
                if title == "__ignore__":
                    columns[position] = title
                elif title in columns.values():
                    parsed.file_warnings.append(
                        {
                            "file": name,
                            "sheet": sheet_name,
                            "row": 1,
                            "field": title,
                            "message": f"Colonne « {title} » en double (colonne {letter}) : seule la première est lue.",
                        }
                    )
                elif title not in specs:
                    parsed.file_warnings.append(
                        {
                            "file": name,
                            "sheet": sheet_name,
                            "row": 1,
                            "field": title,
                            "message": f"Colonne « {title} » inconnue du schéma (colonne {letter}) : ignorée.",
                        }
                    )
                else:
                    columns[position] = title
            for number, values in enumerate(rows, start=2):
                record = {}
                for position, title in columns.items():
                    if position < len(values):
                        record[title] = values[position]
                if record.pop("__ignore__", None):
                    continue  # lignes de description et d'exemple du modèle
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in record.values()):
                    continue
                parsed.rows.append(RawRow(kind, name, number, record, sheet=sheet_name))
    finally:
        workbook.close()


def parse(paths, fmt="auto"):
    paths = [Path(p) for p in paths]
    expanded = []
    for path in paths:
        if path.is_dir():
            expanded.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in {".json", ".xlsx"}))
        elif path.exists():
            expanded.append(path)
        else:
            raise ImportRejected(f"Fichier introuvable : {path}")
    if not expanded:
        raise ImportRejected("Aucun fichier à importer.")
    formats = {detect_format(p) if fmt == "auto" else fmt for p in expanded}
    if len(formats) > 1:
        raise ImportRejected("Un import ne mélange pas fichiers JSON et tableurs : importez-les séparément.")
    kind = formats.pop()
    if kind not in {"json", "xlsx"}:
        raise ImportRejected(f"Format inconnu : {kind} (attendu : json ou xlsx).")
    parsed = ParsedInput(format=kind)
    if kind == "json":
        read_json(expanded, parsed)
    else:
        for path in expanded:
            read_xlsx(path, parsed)
    return expanded, parsed


# --------------------------------------------------------------------------------------------------
# Validation et écriture


def _issue_dict(raw, issue, record_id):
    item = {
        "file": raw.file,
        "row": raw.row,
        "kind": raw.kind,
        "id": record_id,
        "field": issue.field,
        "value": issue.as_dict()["value"],
        "message": issue.message,
    }
    if raw.sheet:
        item["sheet"] = raw.sheet
    return item


class _CommuneCheck:
    """Signale un code commune absent du référentiel, quand le référentiel couvre son département."""

    def __init__(self):
        self.by_dep = defaultdict(set)
        for code, dep in Commune.objects.values_list("code", "departement"):
            self.by_dep[dep].add(code)

    def __call__(self, code):
        if not code:
            return None
        dep = code[:3] if code.startswith("97") else code[:2]
        known = self.by_dep.get(dep)
        if known and code not in known:
            return Issue(
                field="code_insee",
                message=f"Le code commune {code} n'existe pas dans le référentiel des communes.",
                value=code,
                level=WARNING,
            )
        return None


def _prepare(raw, model, source, today, commune_check):
    """Nettoie et valide une ligne. Renvoie (données retenues | None, erreurs, avertissements)."""
    data, _unknown = clean_record(raw.data, model)
    if not data.get("source") and source:
        data["source"] = source
    result = coerce(model, data, default_date_maj=today)
    errors, warnings = list(result.errors), list(result.warnings)
    if result.rejected:
        return None, errors, warnings
    kept = result.data
    if result.date_maj_defaulted:
        kept["_date_maj_defaulted"] = True
    lat, lon = kept.get("latitude"), kept.get("longitude")
    if (lat is not None or lon is not None) and not valid_coordinates(lat, lon):
        warnings.append(
            Issue(
                field="latitude",
                message="Coordonnées absentes, hors bornes ou nulles (0, 0) : ignorées.",
                value=[lat, lon],
                level=WARNING,
            )
        )
        kept["latitude"] = kept["longitude"] = None
    issue = commune_check(kept.get("code_insee"))
    if issue:
        warnings.append(issue)
    return kept, errors, warnings


_STRUCTURE_ATTRS = [n for n in v1.Structure.model_fields if n not in {"id", "source"}]
_SERVICE_ATTRS = [n for n in v1.Service.model_fields if n not in {"id", "source", "structure_id"}]


def _assign(obj, data, attrs, list_fields):
    for name in attrs:
        value = data.get(name)
        if name == "date_maj":
            value = datetime.date.fromisoformat(value) if isinstance(value, str) else value
        elif name in list_fields:
            value = sorted(value) if value else None
        elif value is None:
            model_field = obj._meta.get_field(name)
            value = None if model_field.null else ""
        setattr(obj, name, value)


def _counters():
    return {"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "rejected": 0}


def _complete_export(parsed, kind):
    info = parsed.pagination.get(kind)
    if info is None:
        return True  # tableur : le fichier est l'export complet de sa source
    if not info["paged"]:
        return True
    expected = set(range(1, (info["total_pages"] or 0) + 1))
    return info["pages"] >= expected


def import_catalogue(paths, fmt="auto", source=None, deactivate=True, user=None, today=None, progress=None):
    """Importe un export data·inclusion. Renvoie le rapport (dict) ; lève ``ImportRejected`` sinon."""
    today = today or timezone.localdate()
    files, parsed = parse(paths, fmt)
    own_source = conf.get("source")
    if parsed.format == "xlsx" and not source:
        source = slug(files[0].stem) or "tableur"
    report = {
        "format": parsed.format,
        "files": [f.name for f in files],
        "structures": _counters(),
        "services": _counters(),
        "errors": [],
        "warnings": list(parsed.file_warnings),
    }
    commune_check = _CommuneCheck()
    prepared = {"structure": [], "service": []}
    seen = {"structure": set(), "service": set()}
    total = len(parsed.rows)
    for position, raw in enumerate(parsed.rows, start=1):
        model = v1.Service if raw.kind == "service" else v1.Structure
        counters = report[f"{raw.kind}s"]
        data, errors, warnings = _prepare(raw, model, source, today, commune_check)
        record_id = (data or {}).get("id") or raw.data.get("id")
        report["errors"].extend(_issue_dict(raw, i, record_id) for i in errors)
        report["warnings"].extend(_issue_dict(raw, i, record_id) for i in warnings)
        if progress:
            progress(position, total)
        if data is None:
            counters["rejected"] += 1
            continue
        key = (data["source"], data["id"])
        if data["source"] == own_source:
            counters["rejected"] += 1
            report["errors"].append(
                _issue_dict(
                    raw,
                    Issue(
                        "source",
                        f"La source « {own_source} » est réservée aux saisies de Parcours.",
                        own_source,
                    ),
                    record_id,
                )
            )
            continue
        if key in seen[raw.kind]:
            counters["rejected"] += 1
            report["errors"].append(
                _issue_dict(
                    raw,
                    Issue("id", "Identifiant en double dans l'import : ligne ignorée.", data["id"]),
                    record_id,
                )
            )
            continue
        seen[raw.kind].add(key)
        prepared[raw.kind].append((raw, data, errors, warnings))

    with transaction.atomic():
        batch = CatalogueImport.objects.create(
            filenames=report["files"],
            format=parsed.format,
            sources=sorted({key[0] for keys in seen.values() for key in keys}),
            created_by=user if user and user.is_authenticated else None,
        )
        structures = _upsert_structures(prepared["structure"], batch, report)
        _upsert_services(prepared["service"], structures, batch, report)
        if deactivate:
            for kind, model in (("structure", Structure), ("service", Service)):
                if not seen[kind]:
                    continue
                if not _complete_export(parsed, kind):
                    report["warnings"].append(
                        {
                            "file": "",
                            "row": 0,
                            "field": "",
                            "message": f"Export incomplet (pages manquantes) : aucune {kind} n'a été désactivée.",
                        }
                    )
                    continue
                by_source = defaultdict(set)
                for src, di_id in seen[kind]:
                    by_source[src].add(di_id)
                report[f"{kind}s"]["deactivated"] = _deactivate(model, by_source)
        batch.report = report
        batch.save(update_fields=["report"])
    report["import_id"] = batch.pk
    return report


def _deactivate(model, by_source):
    count = 0
    now = timezone.now()
    for src, kept in by_source.items():
        active = model.objects.filter(source=src, origin=Origin.IMPORT, is_active=True).values_list(
            "pk", "di_id"
        )
        gone = [pk for pk, di_id in active if di_id not in kept]
        for start in range(0, len(gone), 500):
            count += model.objects.filter(pk__in=gone[start : start + 500]).update(
                is_active=False, deactivated_at=now
            )
    return count


def _existing(model, keys):
    by_source = defaultdict(list)
    for src, di_id in keys:
        by_source[src].append(di_id)
    found = {}
    for src, ids in by_source.items():
        for start in range(0, len(ids), 500):
            for obj in model.objects.filter(source=src, di_id__in=ids[start : start + 500]):
                found[(src, obj.di_id)] = obj
    return found


def _keep_known_date(data, obj):
    """``date_maj`` absente du fichier : garder celle déjà connue plutôt que la date du jour."""
    if data.pop("_date_maj_defaulted", False) and obj is not None and obj.date_maj:
        data["date_maj"] = obj.date_maj.isoformat()


def _store_issues(obj, errors, warnings):
    obj.validation_errors = [i.as_dict() for i in errors if i.level == ERROR]
    obj.validation_warnings = [i.as_dict() for i in warnings]


def _upsert_structures(rows, batch, report):
    counters = report["structures"]
    existing = _existing(Structure, [(d["source"], d["id"]) for _, d, _, _ in rows])
    to_create, to_update = [], []
    for raw, data, errors, warnings in rows:
        key = (data["source"], data["id"])
        obj = existing.get(key)
        _keep_known_date(data, obj)
        content_hash = Structure.hash_payload(data)
        if obj is not None and obj.origin == Origin.LOCAL:
            counters["rejected"] += 1
            report["errors"].append(
                _issue_dict(
                    raw,
                    Issue("id", "Une structure saisie dans Parcours porte déjà cet identifiant."),
                    data["id"],
                )
            )
            continue
        if obj is not None and obj.content_hash == content_hash and obj.is_active:
            counters["unchanged"] += 1
            continue
        if obj is None:
            obj = Structure(source=data["source"], di_id=data["id"], origin=Origin.IMPORT)
            to_create.append(obj)
            counters["created"] += 1
        else:
            to_update.append(obj)
            counters["updated"] += 1
        _assign(obj, data, _STRUCTURE_ATTRS, Structure.SCHEMA_LIST_FIELDS)
        _store_issues(obj, errors, warnings)
        obj.content_hash = content_hash
        obj.is_active, obj.deactivated_at, obj.last_import = True, None, batch
        obj.refresh_derived()
        existing[key] = obj
    Structure.objects.bulk_create(to_create, batch_size=BATCH)
    fields = [*_STRUCTURE_ATTRS, "validation_errors", "validation_warnings", "content_hash", "is_active"]
    fields += ["deactivated_at", "last_import", "search_name", "updated_at"]
    now = timezone.now()
    for obj in to_update:
        obj.updated_at = now
    Structure.objects.bulk_update(to_update, fields, batch_size=BATCH)
    return existing


def _upsert_services(rows, structures, batch, report):
    from .schema import quality_score

    counters = report["services"]
    missing = {(d["source"], d["structure_id"]) for _, d, _, _ in rows} - set(structures)
    if missing:
        structures.update(_existing(Structure, missing))
    existing = _existing(Service, [(d["source"], d["id"]) for _, d, _, _ in rows])
    to_create, to_update = [], []
    for raw, data, errors, warnings in rows:
        structure = structures.get((data["source"], data["structure_id"]))
        if structure is None or structure.pk is None:
            counters["rejected"] += 1
            report["errors"].append(
                _issue_dict(
                    raw,
                    Issue(
                        "structure_id",
                        f"Structure « {data['structure_id']} » inconnue : le service n'est pas importé.",
                        data["structure_id"],
                    ),
                    data["id"],
                )
            )
            continue
        key = (data["source"], data["id"])
        obj = existing.get(key)
        if obj is not None and obj.origin == Origin.LOCAL:
            counters["rejected"] += 1
            report["errors"].append(
                _issue_dict(
                    raw, Issue("id", "Un service saisi dans Parcours porte déjà cet identifiant."), data["id"]
                )
            )
            continue
        _keep_known_date(data, obj)
        content_hash = Service.hash_payload(data)
        if (
            obj is not None
            and obj.content_hash == content_hash
            and obj.is_active
            and obj.structure_id == structure.pk
        ):
            counters["unchanged"] += 1
            continue
        if obj is None:
            obj = Service(source=data["source"], di_id=data["id"], origin=Origin.IMPORT)
            to_create.append(obj)
            counters["created"] += 1
        else:
            to_update.append(obj)
            counters["updated"] += 1
        obj.structure = structure
        _assign(obj, data, _SERVICE_ATTRS, Service.SCHEMA_LIST_FIELDS)
        _store_issues(obj, errors, warnings)
        instance = v1.Service.model_validate({k: v for k, v in data.items() if not k.startswith("_")})
        obj.quality_score, obj.quality_details = quality_score(instance)
        obj.content_hash = content_hash
        obj.is_active, obj.deactivated_at, obj.last_import = True, None, batch
        obj.refresh_derived()
    Service.objects.bulk_create(to_create, batch_size=BATCH)
    fields = [*_SERVICE_ATTRS, "structure", "validation_errors", "validation_warnings", "content_hash"]
    fields += ["is_active", "deactivated_at", "last_import", "quality_score", "quality_details"]
    fields += ["search_text", "thematiques_index", "publics_index", "zone_index", "in_person", "remote"]
    fields += ["updated_at"]
    now = timezone.now()
    for obj in to_update:
        obj.updated_at = now
    Service.objects.bulk_update(to_update, fields, batch_size=BATCH)


_COUNT_KEYS = ("created", "updated", "unchanged", "deactivated", "rejected")
_COUNT_WORDS = {
    "structures": (
        "Structures",
        [("créée", "créées"), ("mise à jour", "mises à jour"), ("inchangée", "inchangées")]
        + [("désactivée", "désactivées"), ("rejetée", "rejetées")],
    ),
    "services": (
        "Services",
        [("créé", "créés"), ("mis à jour", "mis à jour"), ("inchangé", "inchangés")]
        + [("désactivé", "désactivés"), ("rejeté", "rejetés")],
    ),
}


def count_lines(report):
    """« Structures : 3 créées, 1 mise à jour, … » puis la ligne des services : les totaux d'un rapport d'import
    du catalogue (fichier ou data·inclusion), accordés en nombre et en genre."""
    for kind, (label, forms) in _COUNT_WORDS.items():
        counts = report[kind]
        yield (
            f"{label} : "
            + ", ".join(plural(counts[key], *pair) for key, pair in zip(_COUNT_KEYS, forms, strict=True))
            + "."
        )
