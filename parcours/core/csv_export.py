"""Exports CSV pour tableur : cellules neutralisées (injection de formules) et réponse en flux."""

import csv

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LINES_PER_CHUNK = 500


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
        # Les lignes partent par paquets : une écriture sur la connexion par paquet, non par ligne.
        batch = ["\ufeff"]
        for row in rows:
            batch.append(writer.writerow([safe_cell(cell) for cell in row]))
            if len(batch) >= LINES_PER_CHUNK:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
