"""Exports CSV pour tableur : cellules neutralisées (injection de formules) et réponse en flux."""

import csv

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise une cellule qu'un tableur interpréterait comme une formule (injection CSV)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


def streaming_csv_response(rows, filename):
    """Réponse CSV en flux (point-virgule, UTF-8 avec BOM pour Excel) ; chaque cellule est neutralisée."""
    writer = csv.writer(_Echo(), delimiter=";")

    def lines():
        yield "\ufeff"
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
