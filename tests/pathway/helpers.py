"""Lecture des réponses des listes de travail dans les tests (page HTML, export CSV)."""

import csv
import io
from html import unescape


def page(response):
    """Le HTML de la page (200 exigé), entités décodées."""
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def read_csv(response):
    """Les lignes de l'export CSV en flux (point-virgule, BOM retiré)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def table_rows(html):
    """Les lignes du corps du tableau de la page (aucune sans tableau)."""
    if "<tbody>" not in html:
        return []
    return html.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
