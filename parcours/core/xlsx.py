"""Lecture sûre des classeurs XLSX déposés : contrôles avant l'ouverture, bornes pendant la lecture.

Un classeur de quelques Ko peut déclarer un onglet d'un million de lignes (``<dimension
ref="A1:Z1048576">``) : openpyxl en lecture seule complète alors chaque ligne absente par une ligne vide,
jusqu'à la dernière, et la lecture occupe le processeur pendant des minutes. Un onglet peut aussi mentir
sur sa taille ou ne pas la déclarer. Tous les lecteurs de classeurs (flux de bénéficiaires, reprises,
catalogue) passent donc par ce module :

1. ``check_workbook(path)`` — avant tout chargement, sans décompresser les onglets en entier : taille
   décompressée totale et taux de compression (« bombe zip »), puis dimension déclarée de chaque onglet,
   lue au début de son XML : au plus ``PARCOURS_XLSX_MAX_ROWS`` lignes (500 000 par défaut) et
   ``PARCOURS_XLSX_MAX_CELLS`` cellules (lignes × colonnes, 50 millions) ;
2. ``guard_workbook(wb)`` — pendant la lecture : chaque parcours des lignes d'un onglet (``iter_rows``,
   ``rows``, ``values``) est compté et arrêté au-delà de ``PARCOURS_XLSX_MAX_ROWS`` lignes, et le temps
   passé à lire le classeur (hors traitement des lignes par l'appelant) est borné par
   ``PARCOURS_XLSX_MAX_SECONDS`` (600 s par défaut).

Chaque refus lève l'exception donnée par l'appelant (``error``, par défaut ``WorkbookRefused``) avec un
message en français qui nomme le fichier et l'onglet. Ce module n'importe aucune application métier.
"""

import html
import posixpath
import re
import time
import zipfile
from pathlib import Path

from django.conf import settings

DEFAULT_MAX_ROWS = 500_000
DEFAULT_MAX_CELLS = 50_000_000
DEFAULT_MAX_SECONDS = 600.0
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # un flux de 150 000 lignes fait environ 60 Mo décompressé
MAX_RATIO = 200  # taux de compression au-delà duquel un membre du classeur est suspect
DIMENSION_SCAN_BYTES = 4 * 1024 * 1024  # la dimension précède les données : début de l'onglet seulement
_CHUNK = 64 * 1024

_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
_SHEET = re.compile(r"<(?:[\w.-]+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(r"<(?:[\w.-]+:)?Relationship\b([^>]*)>")
_CELL = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)$")


class WorkbookRefused(Exception):
    """Classeur refusé ; ``message`` en français, destiné à l'agent."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def max_rows():
    return int(getattr(settings, "PARCOURS_XLSX_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_cells():
    return int(getattr(settings, "PARCOURS_XLSX_MAX_CELLS", DEFAULT_MAX_CELLS))


def max_seconds():
    return float(getattr(settings, "PARCOURS_XLSX_MAX_SECONDS", DEFAULT_MAX_SECONDS))


def _number(value):
    return f"{value:,}".replace(",", "\u202f")


def _column_index(letters):
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index


def parse_dimension(ref):
    """``"A1:Z1048576"`` → (lignes, colonnes) de la zone déclarée (dernière ligne, dernière colonne)."""
    rows = columns = 1
    for part in ref.split(":"):
        match = _CELL.match(part.strip())
        if match is None:
            continue
        letters, digits = match.groups()
        if digits:
            rows = max(rows, int(digits))
        if letters:
            columns = max(columns, _column_index(letters))
    return rows, columns


def _attribute(attributes, name):
    match = re.search(r"(?:^|\s)(?:[\w.-]+:)?" + name + r"\s*=\s*[\"']([^\"']*)[\"']", attributes)
    return html.unescape(match.group(1)) if match else None


def _read_small(archive, member, limit=8 * 1024 * 1024):
    with archive.open(member) as handle:
        return handle.read(limit).decode("utf-8", errors="replace")


def sheet_parts(archive):
    """{chemin de l'onglet dans l'archive: nom de l'onglet} (nom du fichier si le classeur ne le dit pas)."""
    names = {}
    members = set(archive.namelist())
    try:
        workbook = _read_small(archive, "xl/workbook.xml")
        rels = _read_small(archive, "xl/_rels/workbook.xml.rels")
    except KeyError:
        workbook = rels = ""
    targets = {}
    for match in _RELATIONSHIP.finditer(rels):
        rel_id, target = _attribute(match.group(1), "Id"), _attribute(match.group(1), "Target")
        if rel_id and target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[rel_id] = path
    for match in _SHEET.finditer(workbook):
        name, rel_id = _attribute(match.group(1), "name"), _attribute(match.group(1), "id")
        if rel_id in targets:
            names[targets[rel_id]] = name or targets[rel_id]
    for member in members:
        if member.startswith("xl/worksheets/") and member.endswith(".xml") and member not in names:
            names[member] = Path(member).stem
    return {member: name for member, name in names.items() if member in members}


def declared_dimension(archive, member):
    """La référence ``<dimension ref="…">`` du début de l'onglet, ou ``None`` si elle est absente."""
    buffer = b""
    read = 0
    with archive.open(member) as handle:
        while read < DIMENSION_SCAN_BYTES:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            buffer = buffer[-1024:] + chunk
            match = _DIMENSION.search(buffer)
            if match:
                return match.group(1).decode("ascii", errors="replace")
            if _SHEET_DATA.search(buffer):
                return None
    return None


def check_workbook(path, *, name=None, error=WorkbookRefused):
    """Contrôles avant ouverture (voir le module). Un fichier qui n'est pas une archive zip passe : le
    chargement par openpyxl produira le message adapté."""
    name = name or Path(path).name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        members = archive.infolist()
        limit = int(getattr(settings, "PARCOURS_IMPORT_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES))
        total = sum(member.file_size for member in members)
        suspicious = [
            member.filename
            for member in members
            if member.file_size > 10 * 1024**2 and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        ]
        if total > limit or suspicious:
            raise error(
                f"Classeur refusé : son contenu décompressé ({total / 1024**2:,.0f} Mo"
                + (f", taux de compression anormal pour {suspicious[0]}" if suspicious else "")
                + ") dépasse ce qu'un flux peut contenir. Vérifiez le fichier auprès de son émetteur."
            )
        rows_cap, cells_cap = max_rows(), max_cells()
        for member, sheet in sheet_parts(archive).items():
            try:
                ref = declared_dimension(archive, member)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
                continue  # archive abîmée : openpyxl le dira
            if not ref:
                continue
            rows, columns = parse_dimension(ref)
            if rows > rows_cap:
                raise error(
                    f"Classeur « {name} » refusé : l'onglet « {sheet} » déclare {_number(rows)} lignes "
                    f"({ref}), au-delà des {_number(rows_cap)} lignes acceptées. Supprimez les lignes vides "
                    "en fin d'onglet ou découpez le fichier."
                )
            if rows * columns > cells_cap:
                raise error(
                    f"Classeur « {name} » refusé : l'onglet « {sheet} » déclare {_number(rows)} lignes sur "
                    f"{_number(columns)} colonnes ({ref}), au-delà des {_number(cells_cap)} cellules "
                    "acceptées. Supprimez les lignes et colonnes vides ou découpez le fichier."
                )


class _Budget:
    """Temps de lecture d'un classeur, cumulé sur tous ses onglets."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.spent = 0.0


def guard_rows(rows, *, name, sheet, error=WorkbookRefused, budget=None, row_cap=None):
    """Itérateur des lignes borné en nombre (``PARCOURS_XLSX_MAX_ROWS``) et en temps de lecture."""
    row_cap = max_rows() if row_cap is None else row_cap
    budget = budget or _Budget(max_seconds())
    iterator = iter(rows)
    count = 0
    while True:
        started = time.perf_counter()
        try:
            row = next(iterator)
        except StopIteration:
            return
        finally:
            budget.spent += time.perf_counter() - started
        count += 1
        if count > row_cap:
            raise error(
                f"Classeur « {name} » refusé : l'onglet « {sheet} » contient plus de {_number(row_cap)} "
                "lignes (lignes vides comprises). Supprimez les lignes vides en fin d'onglet ou découpez "
                "le fichier."
            )
        if budget.spent > budget.seconds:
            raise error(
                f"Classeur « {name} » refusé : la lecture de l'onglet « {sheet} » dépasse "
                f"{budget.seconds:.0f} secondes (ligne {_number(count)}). Enregistrez-le à nouveau au "
                "format .xlsx, supprimez les lignes et colonnes vides ou découpez le fichier."
            )
        yield row


def guard_workbook(wb, *, name, error=WorkbookRefused):
    """Borne chaque parcours des lignes des onglets de ``wb`` (classeur openpyxl) ; renvoie ``wb``."""
    budget = _Budget(max_seconds())
    for ws in wb.worksheets:
        original = ws.iter_rows

        def iter_rows(*args, _original=original, _title=ws.title, **kwargs):
            return guard_rows(_original(*args, **kwargs), name=name, sheet=_title, error=error, budget=budget)

        ws.iter_rows = iter_rows
    return wb
