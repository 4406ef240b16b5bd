"""Exports des indicateurs : JSON (clés de CONTRACTS.md), CSV et XLSX d'un jeu d'indicateurs, tableau
agrégé par territoire. Aucun export ne contient de ligne par personne : pas d'identifiant, rien à
pseudonymiser."""

import csv
import io
import json

from parcours.accounts.models import Territory
from parcours.core.csv_export import safe_cell

from .definitions import DEFINITIONS, DEFINITIONS_BY_ID, beneficiary_scope, compute_indicators


def flat_items(values):
    """(identifiant, libellé, valeur) par indicateur ; les répartitions donnent une ligne par modalité
    (``repartition_parcours.emploi``)."""
    items = []
    for definition in DEFINITIONS:
        value = values.get(definition.id)
        if isinstance(value, dict):
            for key, sub in value.items():
                items.append((f"{definition.id}.{key}", f"{definition.label} — {key}", sub))
        else:
            items.append((definition.id, definition.label, value))
    return items


def to_json(values):
    return json.dumps(values, ensure_ascii=False)


def _csv_text(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    for r in rows:
        writer.writerow([safe_cell(c) for c in r])
    return "\ufeff" + buffer.getvalue()


def _number(value):
    """Valeur exportée : vide pour ``None`` (population vide), nombre sinon."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def indicator_rows(values, start, end, scope_label=""):
    header = ["indicateur", "libellé", "valeur", "début", "fin", "périmètre"]
    rows = [header]
    for key, label, value in flat_items(values):
        rows.append([key, label, _number(value), start.isoformat(), end.isoformat(), scope_label])
    return rows


def to_csv(values, start, end, scope_label=""):
    """CSV (point-virgule, UTF-8 avec BOM) : une ligne par indicateur (ou modalité d'une répartition)."""
    return _csv_text(indicator_rows(values, start, end, scope_label))


def to_xlsx(values, start, end, scope_label=""):
    """Classeur XLSX : feuille « Indicateurs » et feuille « Définitions »."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Indicateurs"
    for r in indicator_rows(values, start, end, scope_label):
        sheet.append([safe_cell(c) if isinstance(c, str) else c for c in r])
    definitions = workbook.create_sheet("Définitions")
    definitions.append(["indicateur", "libellé", "définition", "source"])
    for d in DEFINITIONS:
        definitions.append([d.id, d.label, d.text, d.source])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- tableau agrégé par territoire --------------------------------------------------------------------


AGGREGATE_IDS = [d.id for d in DEFINITIONS if d.kind != "breakdown"]


def territory_table(base, start, end, *, departement=None, target_days=None, table=False):
    """Une ligne par territoire du périmètre (et une ligne « ensemble ») : indicateurs agrégés seulement.
    ``table`` : comme ``compute_indicators``."""
    scope = beneficiary_scope(departement=departement, base=base)
    territory_ids = scope.order_by().values("territory_id").distinct()
    territories = Territory.objects.filter(pk__in=territory_ids).order_by("name")
    header = ["territoire", *AGGREGATE_IDS]
    rows = [header]
    for territory in territories:
        values = compute_indicators(
            beneficiary_scope(territory=territory, base=scope),
            start,
            end,
            target_days=target_days,
            table=table,
        )
        rows.append([territory.name, *(_number(values[k]) for k in AGGREGATE_IDS)])
    values = compute_indicators(scope, start, end, target_days=target_days, table=table)
    rows.append(["Ensemble du périmètre", *(_number(values[k]) for k in AGGREGATE_IDS)])
    return rows


def territory_csv(base, start, end, **kw):
    return _csv_text(territory_table(base, start, end, **kw))


def definition_labels():
    return {key: d.label for key, d in DEFINITIONS_BY_ID.items()}
