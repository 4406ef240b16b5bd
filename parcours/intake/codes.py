"""Libellés en français des codes des flux CNAF/MSA (ETATDOSRSA, MOTISUSVERSRSA, MOTICLORSA, ROLEPERS…).

Les libellés viennent de ``data/cnaf_codes.csv`` (origine et licences dans ``data/SOURCES.md``) ::

    >>> label("ETATDOSRSA", "2")
    'Droit ouvert et versable'
    >>> label("MOTICLORSA", "PCG")
    'Clôture suite décision du Président du Conseil général'

Un code inconnu est rendu tel quel (on n'invente pas de libellé) ; un code vide donne "".
"""

import csv
from functools import cache
from pathlib import Path

CODES_FILE = Path(__file__).resolve().parent / "data" / "cnaf_codes.csv"


@cache
def _table():
    table = {}
    with CODES_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["list"], {})[row["code"]] = row["label"]
    return table


def code_lists():
    """Noms des listes de codes connues (ETATDOSRSA, MOTICLORSA, ROLEPERS…)."""
    return sorted(_table())


def labels(list_name):
    """Dictionnaire code → libellé d'une liste (vide si la liste est inconnue)."""
    return dict(_table().get(list_name.upper(), {}))


def label(list_name, code):
    """Libellé français du ``code`` dans la liste ``list_name`` ; le code lui-même s'il est inconnu."""
    if code is None:
        return ""
    if isinstance(code, bool):
        code = "1" if code else "0"
    code = str(code).strip()
    if not code:
        return ""
    entries = _table().get(list_name.upper(), {})
    return entries.get(code) or entries.get(code.upper()) or code
