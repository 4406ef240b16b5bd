"""Lecture des flux de bénéficiaires, quel que soit leur format.

``open_flux(path, fmt="auto", mapping=None)`` renvoie un ``ParsedFile`` dont les lignes sont lues en
flux. En détection automatique, le format est reconnu par le contenu, jamais par l'extension :

- classeur XLSX (signature zip ``PK``) ;
- flux XML CNAF/MSA (vrsb0801) ;
- CSV (séparateur ``;``, ``,`` ou tabulation ; UTF-8 avec ou sans BOM, sinon Windows-1252) : fichier
  canonique, fichier de contacts CNAF ou tableur de Département, selon les en-têtes.

Un fichier inutilisable (vide, encodage inconnu, format non reconnu ou différent du format déclaré,
colonnes obligatoires absentes) lève ``FileRejected`` avec un message en français.
"""

import os

from ..records import FileRejected, ParsedFile
from .tabular import FIELD_LABELS, FIELDS, read_csv, read_xlsx

__all__ = ["FIELDS", "FIELD_LABELS", "FORMATS", "open_flux", "sniff_kind"]

FORMATS = ("auto", "csv", "xlsx", "cnaf-xml")
_HEAD_SIZE = 64 * 1024
_KIND_LABELS = {
    "xlsx": "un classeur Excel (XLSX)",
    "xls": "un classeur Excel 97-2003 (XLS)",
    "xml": "un fichier XML",
    "text": "un fichier texte (CSV)",
}
_DECLARED_LABELS = {"csv": "CSV", "xlsx": "XLSX", "cnaf-xml": "XML CNAF"}


def sniff_kind(head):
    """Nature du fichier d'après ses premiers octets : ``xlsx``, ``xls``, ``xml`` ou ``text``."""
    from .cnaf_xml import sniff_cnaf_xml

    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if sniff_cnaf_xml(head):
        return "xml"
    stripped = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if stripped.lstrip().startswith(b"<?xml") or stripped.lstrip().startswith(b"<"):
        return "xml"
    return "text"


def _not_declared(fmt, kind):
    return FileRejected(
        f"Le fichier n'est pas au format déclaré ({_DECLARED_LABELS[fmt]}) : c'est {_KIND_LABELS[kind]}. "
        "Choisissez le bon format ou la détection automatique."
    )


def _read_xml(path):
    from .cnaf_xml import read_cnaf_xml

    return read_cnaf_xml(path)


def open_flux(path, fmt="auto", mapping=None) -> ParsedFile:
    """Ouvre un flux de bénéficiaires. ``fmt`` : ``auto``, ``csv``, ``xlsx`` ou ``cnaf-xml`` ;
    ``mapping`` : une ``ColumnMapping`` (colonnes, onglet, ligne d'en-tête, organisme) ou ``None``."""
    path = os.fspath(path)
    fmt = (fmt or "auto").strip().lower()
    if fmt not in FORMATS:
        raise FileRejected(f"Format « {fmt} » inconnu (attendu : {', '.join(FORMATS)}).")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_SIZE)
    except OSError as exc:
        raise FileRejected(f"Fichier illisible : {exc.strerror or exc}.") from None
    if size == 0:
        raise FileRejected("Le fichier est vide.")
    kind = sniff_kind(head)
    if kind == "xls" and fmt in ("auto", "xlsx"):
        raise FileRejected(
            "Classeur Excel 97-2003 (.xls) non pris en charge : enregistrez-le au format .xlsx ou CSV UTF-8."
        )
    if fmt == "auto":
        fmt = {"xlsx": "xlsx", "xml": "cnaf-xml"}.get(kind, "csv")
    expected = {"csv": "text", "xlsx": "xlsx", "cnaf-xml": "xml"}[fmt]
    if kind != expected:
        raise _not_declared(fmt, kind)
    if fmt == "xlsx":
        return read_xlsx(path, mapping=mapping)
    if fmt == "cnaf-xml":
        return _read_xml(path)
    return read_csv(path, mapping=mapping)
