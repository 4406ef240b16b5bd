"""Import des événements du parcours enregistrés dans un autre logiciel (``parcours import-parcours``).

Le fichier canonique du parcours (CONTRACTS.md) donne une ligne par événement : une orientation notifiée,
un référent désigné, un contrat signé ou une fin de suivi, datés, pour une personne déjà connue d'un flux.
Une seule fonction métier, ``import_pathway``, appelée par la commande et par la page « Importer des
événements du parcours » des administrateurs d'un Département. Les règles (détaillées dans
``docs/import-parcours.md``) :

- **mêmes effets que les pages** : chaque événement passe par la fonction de service qu'appelle la page
  correspondante (``decide_orientation``, ``assign_referent``, ``create_contract`` puis ``sign_contract``,
  ``end_follow_up``) : suivi en cours, files de travail, indicateurs et journal en découlent à l'identique ;
- **ordre chronologique** : les événements sont appliqués par date, puis dans l'ordre du fichier ;
- **tout ou rien** : le fichier est lu et vérifié en entier (valeurs, personnes, organisations, référents),
  puis appliqué dans une seule transaction ; une erreur, y compris une règle du parcours refusée par un
  service (date antérieure au suivi en cours…), et rien n'est écrit ;
- **idempotent** : un événement est reconnu par (``source``, ``reference``) quand la référence est donnée,
  sinon par son contenu (personne, événement, date, parcours, structure, référent, type de contrat) ;
  réimporter le même fichier n'écrit rien et le rapport dit tout « inchangé ». Une référence déjà importée
  avec un autre contenu est une erreur.

Le rapport a la forme de celui d'``import-flux`` : ``created``, ``updated`` (toujours 0), ``unchanged``,
``new_entrants`` (toujours 0), ``errors`` et ``warnings`` (ligne du fichier, l'en-tête étant la ligne 1,
champ, message en français).
"""

import csv
import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from parcours.accounts.models import Membership, Organisation, OrganisationKind, User
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.beneficiaries.nir import NirError, mask_nir, normalize_nir
from parcours.core.text import plural, plural_form
from parcours.intake.formats import sniff_kind
from parcours.intake.formats import values as v
from parcours.intake.formats.tabular import detect_encoding, open_workbook, sniff_delimiter
from parcours.intake.records import FileRejected
from parcours.orientation import services as orientation
from parcours.orientation.models import DecisionStatus

from . import services as pathways
from .models import EventType, ImportedEvent, ImportOutcome, PathwayImport, PathwayImportStatus

logger = logging.getLogger(__name__)

FORMATS = ("auto", "csv", "xlsx")
CHUNK_SIZE = 500  # événements appliqués entre deux écritures groupées des ImportedEvent
IN_CHUNK = 900  # taille des listes ``__in`` (sous la limite de variables des vieux SQLite)
MAX_REPORTED_ISSUES = 1000
HEADER_SCAN_ROWS = 10
_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)

# --------------------------------------------------------------------------------------------------
# Colonnes


COLUMNS = (
    "nir",
    "organisme",
    "matricule",
    "role",
    "id_departement",
    "evenement",
    "date",
    "parcours",
    "structure",
    "referent",
    "type_contrat",
    "source",
    "reference",
    # Colonnes facultatives propres à Parcours (extensions du fichier canonique).
    "motif",
    "fin_prevue",
    "heures_hebdomadaires",
    "motif_adaptation",
)
REQUIRED_COLUMNS = ("evenement", "date")
KEY_COLUMNS = ("nir", "matricule", "id_departement")

_SYNONYMS = {
    "nir": ("numero de securite sociale", "n securite sociale", "nss", "numero nir"),
    "organisme": ("organisme payeur", "caf msa"),
    "matricule": ("numero allocataire", "n allocataire", "matricule caf", "numero caf"),
    "role": ("role personne", "role dans le foyer"),
    "id_departement": ("identifiant departement", "id interne departement"),
    "evenement": ("type evenement", "type d evenement", "event"),
    "date": ("date evenement", "date de l evenement"),
    "parcours": ("type de parcours", "type parcours"),
    "structure": ("structure referente", "organisation"),
    "referent": ("email referent", "courriel referent", "referent email"),
    "type_contrat": ("type de contrat",),
    "source": ("systeme d origine", "logiciel d origine"),
    "reference": ("reference evenement", "identifiant evenement"),
    "fin_prevue": ("date fin prevue", "date de fin prevue"),
    "heures_hebdomadaires": ("duree hebdomadaire",),
    "motif_adaptation": ("motif d adaptation",),
}
HEADERS = {}
for _name in COLUMNS:
    for _header in (_name, *_SYNONYMS.get(_name, ())):
        HEADERS[v.normalize_header(_header)] = _name

EVENT_VALUES = {
    "orientation": EventType.ORIENTATION,
    "orientationnotifiee": EventType.ORIENTATION,
    "referent": EventType.REFERENT,
    "designationreferent": EventType.REFERENT,
    "referentdesigne": EventType.REFERENT,
    "contrat": EventType.CONTRACT,
    "contratsigne": EventType.CONTRACT,
    "finsuivi": EventType.FOLLOW_UP_END,
    "findesuivi": EventType.FOLLOW_UP_END,
    "findusuivi": EventType.FOLLOW_UP_END,
}
PATHWAY_VALUES = {
    "emploi": "emploi",
    "ped": "emploi",
    "socioprofessionnel": "socio_professionnel",
    "psp": "socio_professionnel",
    "social": "social",
    "pso": "social",
}
CONTRACT_VALUES = {
    "cer": "cer",
    "ppae": "ppae",
    "contratengagement": "contrat_engagement",
    "contratdengagement": "contrat_engagement",
}
EXEMPTION_VALUES = {
    "sante": "sante",
    "handicap": "handicap",
    "invalidite": "invalidite",
    "parentisole": "parent_isole",
    "progressif": "progressif",
}

# Champs des erreurs des services → colonne du fichier.
SERVICE_FIELDS = {
    "pathway": "parcours",
    "organisation": "structure",
    "referent": "referent",
    "decided_on": "date",
    "notified_on": "date",
    "started_on": "date",
    "ended_on": "date",
    "on": "date",
    "kind": "type_contrat",
    "weekly_hours": "heures_hebdomadaires",
    "hours_exemption": "motif_adaptation",
    "ends_on": "fin_prevue",
    "reason": "motif",
}

# Comme la page (``orientation_organisations``) : on n'oriente ni vers une structure partenaire ni vers l'État.
NOT_ORIENTATION_KINDS = (OrganisationKind.ETAT, OrganisationKind.STRUCTURE)


class PathwayImportError(Exception):
    """Import impossible avant toute lecture du fichier (fichier introuvable…) ; message en français."""


# --------------------------------------------------------------------------------------------------
# Rapport


@dataclass
class PathwayReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    errors_omitted: int = 0
    warnings_omitted: int = 0
    events: dict = field(default_factory=dict)  # événement → {"created": n, "unchanged": n}
    rejected: bool = False
    message: str = ""
    format: str = ""
    timings: dict = field(default_factory=dict)  # secondes : lecture, rapprochement, application
    dry_run: bool = False
    pending: int = 0  # vérification seule : événements qui seraient appliqués
    batch: PathwayImport | None = None

    def _add(self, target, row, field_name, message):
        if len(target) >= MAX_REPORTED_ISSUES:
            if target is self.errors:
                self.errors_omitted += 1
            else:
                self.warnings_omitted += 1
            return
        target.append({"row": row, "field": field_name, "message": message})

    def error(self, row, field_name, message):
        self._add(self.errors, row, field_name, message)

    def warning(self, row, field_name, message):
        self._add(self.warnings, row, field_name, message)

    @property
    def error_count(self):
        return len(self.errors) + self.errors_omitted

    def count(self, kind, status):
        counter = self.events.setdefault(kind, {"created": 0, "unchanged": 0})
        counter[status] += 1
        if status == "created":
            self.created += 1
        else:
            self.unchanged += 1

    def as_json(self):
        return {
            "created": self.created,
            "updated": 0,
            "unchanged": self.unchanged,
            "new_entrants": 0,
            "errors": self.errors,
            "warnings": self.warnings,
            "errors_omitted": self.errors_omitted,
            "warnings_omitted": self.warnings_omitted,
            "events": self.events,
            "rows": self.rows,
            "rejected": self.rejected,
            "message": self.message,
            "format": self.format,
            "dry_run": self.dry_run,
            "pending": self.pending,
            "import": self.batch.pk if self.batch else None,
        }

    def reject(self, message=None):
        self.rejected = True
        self.created = self.unchanged = 0
        self.events = {}
        count = self.error_count
        self.message = message or (
            f"Fichier refusé : {count} erreur{'s' if count > 1 else ''}. Rien n'a été écrit ; corrigez les "
            "lignes signalées puis importez à nouveau le fichier."
        )


def _summary(report):
    rows = plural(report.rows, "ligne lue", "lignes lues")
    parts = []
    for kind in EventType:
        counter = report.events.get(kind.value)
        if counter:
            parts.append(
                f"{kind.label.lower()} : {plural(counter['created'], 'enregistré')}, "
                f"{plural(counter['unchanged'], 'déjà connu', 'déjà connus')}"
            )
    text = (
        f"{rows} : {plural(report.created, 'événement enregistré', 'événements enregistrés')}, "
        f"{plural(report.unchanged, 'inchangé')}."
    )
    if parts:
        text += " Détail — " + " ; ".join(parts) + "."
    return text


# --------------------------------------------------------------------------------------------------
# Lecture du fichier


@dataclass(slots=True)
class _Item:
    """Une ligne du fichier, lue puis rapprochée (personne, organisation, référent)."""

    row: int
    kind: str = ""
    on: date | None = None
    pathway: str = ""
    structure: str = ""
    referent_email: str = ""
    contract_kind: str = ""
    source: str = ""
    reference: str = ""
    reason: str = ""
    ends_on: date | None = None
    weekly_hours: Decimal | None = None
    hours_exemption: str = ""
    nir: str | None = None
    organism: str | None = None
    matricule: str | None = None
    role: str | None = None
    internal_id: str | None = None
    person_id: int | None = None
    departement_id: int | None = None
    organisation: object = None
    referent: object = None
    content_hash: str = ""
    known: bool = False
    ok: bool = True


def _text(value):
    return v.clean_text(value) or ""


def _resolve_headers(cells, report, header_row):
    """Colonnes de l'en-tête : {colonne canonique: index} et en-têtes inconnus ; doublons en erreur."""
    columns, unknown = {}, []
    for index, cell in enumerate(cells):
        raw = _text(cell)
        if not raw:
            continue
        name = HEADERS.get(v.normalize_header(raw))
        if name is None:
            unknown.append(raw)
        elif name in columns:
            report.error(header_row, name, f"Colonne « {name} » en double.")
        else:
            columns[name] = index
    return columns, unknown


def _check_columns(columns, unknown, report, header_row):
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            report.error(header_row, name, f"Colonne obligatoire « {name} » absente.")
    if not any(name in columns for name in KEY_COLUMNS):
        report.error(
            header_row,
            "nir",
            "Aucune colonne pour reconnaître la personne : il faut « nir », ou « organisme » + « matricule » "
            "+ « role », ou « id_departement ».",
        )
    elif "matricule" in columns and not {"organisme", "role"} <= set(columns):
        missing = ", ".join(f"« {c} »" for c in ("organisme", "role") if c not in columns)
        report.warning(
            header_row,
            "matricule",
            f"Colonne « matricule » sans {missing} : le foyer ne peut pas servir à reconnaître la personne.",
        )
    if unknown:
        report.warning(
            header_row,
            None,
            plural_form(len(unknown), "Colonne ignorée", "Colonnes ignorées")
            + " : "
            + ", ".join(f"« {h} »" for h in unknown)
            + ".",
        )


def _is_blank(cells):
    return all(_text(c) == "" for c in cells)


def _csv_rows(path):
    """(numéro de ligne, cellules) d'un CSV ; UTF-8 avec ou sans BOM (Windows-1252 toléré)."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding.codec, newline="") as handle:
        sample = [line.rstrip("\r\n") for _, line in zip(range(20), handle, strict=False)]
    first = next((i for i, line in enumerate(sample) if line.strip()), None)
    if first is None:
        raise FileRejected("Le fichier est vide.")
    # Première ligne « sep=; » d'un CSV enregistré par Excel : elle donne le séparateur et n'est pas l'en-tête.
    declared = _SEP_LINE.match(sample[first])
    delimiter = declared.group(1) if declared else sniff_delimiter(sample, first)
    skip = first + 1 if declared else 0

    def rows():
        with open(path, encoding=encoding.codec, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            number = 0
            try:
                for cells in reader:
                    number += 1
                    if number <= skip:
                        continue
                    yield number, cells
            except csv.Error as exc:
                raise FileRejected(
                    f"Fichier CSV illisible vers la ligne {reader.line_num} : {exc}."
                ) from None

    return rows(), encoding.label, delimiter


def _xlsx_rows(path):
    """(numéro de ligne, cellules) du premier onglet dont l'en-tête contient la colonne « evenement »."""
    wb, close = open_workbook(path)
    try:
        chosen = None
        for ws in wb.worksheets:
            for number, cells in enumerate(
                ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True), start=1
            ):
                names = {HEADERS.get(v.normalize_header(_text(c))) for c in cells}
                if "evenement" in names:
                    chosen = (ws, number)
                    break
            if chosen:
                break
        if chosen is None:
            raise FileRejected(
                "Aucun onglet du classeur n'a d'en-tête reconnu : la colonne « evenement » est introuvable "
                f"dans les {HEADER_SCAN_ROWS} premières lignes."
            )
    except BaseException:
        close()
        raise
    ws, header_number = chosen

    def rows():
        try:
            yield from enumerate(ws.iter_rows(min_row=header_number, values_only=True), start=header_number)
        finally:
            close()

    return rows(), f"onglet « {ws.title} »"


def _open(path, fmt):
    fmt = (fmt or "auto").strip().lower()
    if fmt not in FORMATS:
        raise FileRejected(f"Format « {fmt} » inconnu (attendu : {', '.join(FORMATS)}).")
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if not head:
        raise FileRejected("Le fichier est vide.")
    kind = sniff_kind(head)
    if kind == "xls":
        raise FileRejected(
            "Classeur Excel 97-2003 (.xls) non pris en charge : enregistrez-le au format .xlsx."
        )
    detected = "xlsx" if kind == "xlsx" else "csv"
    if kind == "xml":
        raise FileRejected(
            "Le fichier est un XML : attendu un CSV ou un classeur XLSX d'événements du parcours."
        )
    if fmt != "auto" and fmt != detected:
        labels = {"csv": "CSV", "xlsx": "XLSX"}
        raise FileRejected(
            f"Le fichier n'est pas au format déclaré ({labels[fmt]}) : c'est un fichier {labels[detected]}. "
            "Choisissez le bon format ou la détection automatique."
        )
    if detected == "xlsx":
        rows, where = _xlsx_rows(path)
        return "xlsx", rows, where
    rows, encoding, delimiter = _csv_rows(path)
    return "csv", rows, f"{encoding}, séparateur « {delimiter} »"


def _parse_decimal(value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = _text(value).replace(",", ".").replace(" ", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"nombre d'heures « {_text(value)} » illisible") from None


def _choice(value, table, label, expected):
    text = _text(value)
    if not text:
        return ""
    found = table.get(v.normalize_word(text))
    if found is None:
        raise ValueError(f"{label} « {text} » inconnu (attendu : {expected})")
    return found


def _read_item(number, cells, columns, report, *, from_excel, today):
    """Lit une ligne ; renvoie un ``_Item`` (``ok`` faux si la ligne a une erreur, signalée au rapport)."""

    def cell(name):
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    item = _Item(row=number)
    failed = set()

    def fail(name, message):
        failed.add(name)
        report.error(number, name, message)

    def read(name, parser):
        try:
            return parser(cell(name))
        except (ValueError, NirError) as exc:
            fail(name, _capitalise(str(exc)) + ".")
            return None

    if not _text(cell("evenement")):
        fail("evenement", f"Événement manquant (attendu : {_EVENTS_EXPECTED}).")
    else:
        item.kind = read("evenement", lambda x: _choice(x, EVENT_VALUES, "événement", _EVENTS_EXPECTED)) or ""
    if not _text(cell("date")):
        fail("date", "Date manquante.")
    else:
        item.on = read("date", lambda x: v.parse_date(x, excel_serial=from_excel))
        if item.on is not None and item.on > today:
            fail("date", f"Date {item.on:%d/%m/%Y} future : seul un événement passé peut être repris.")
        elif item.on is not None and item.on.year < 1990:
            fail("date", f"Date {item.on:%d/%m/%Y} invraisemblable (avant 1990).")

    item.nir = read("nir", lambda x: normalize_nir(x) if _text(x) else None)
    item.organism = read("organisme", v.parse_organism)
    item.matricule = read("matricule", v.parse_identifier)
    item.role = read("role", v.parse_role)
    item.internal_id = read("id_departement", v.parse_identifier)
    household = (item.organism, item.matricule, item.role)
    if not failed & {"nir", "organisme", "matricule", "role", "id_departement"}:
        if any(household) and not all(household) and not (item.nir or item.internal_id):
            missing = [n for n, x in zip(("organisme", "matricule", "role"), household, strict=True) if not x]
            fail(missing[0], "Foyer incomplet : « organisme », « matricule » et « role » vont ensemble.")
        elif not (item.nir or all(household) or item.internal_id):
            fail(
                "nir",
                "Personne non désignée : renseignez « nir », ou « organisme » + « matricule » + « role », ou "
                "« id_departement ».",
            )

    item.pathway = (
        read("parcours", lambda x: _choice(x, PATHWAY_VALUES, "parcours", _PATHWAYS_EXPECTED)) or ""
    )
    item.structure = _text(cell("structure"))
    item.referent_email = _text(cell("referent")).lower()
    item.contract_kind = (
        read("type_contrat", lambda x: _choice(x, CONTRACT_VALUES, "type de contrat", _CONTRACTS_EXPECTED))
        or ""
    )
    item.source = _text(cell("source"))
    item.reference = _text(cell("reference"))
    item.reason = _text(cell("motif"))
    item.ends_on = read("fin_prevue", lambda x: v.parse_date(x, excel_serial=from_excel))
    item.weekly_hours = read("heures_hebdomadaires", _parse_decimal)
    item.hours_exemption = (
        read(
            "motif_adaptation",
            lambda x: _choice(
                x, EXEMPTION_VALUES, "motif d'adaptation", ", ".join(EXEMPTION_VALUES.values())
            ),
        )
        or ""
    )

    for name, value, limit in (("source", item.source, 100), ("reference", item.reference, 100)):
        if len(value) > limit:
            fail(name, f"{limit} caractères au plus ({len(value)} reçus).")
    if item.referent_email and "@" not in item.referent_email:
        fail("referent", f"« {item.referent_email} » n'est pas une adresse électronique.")

    kind = item.kind
    if kind == EventType.ORIENTATION:
        if not item.pathway and "parcours" not in failed:
            fail("parcours", f"Parcours obligatoire pour une orientation (attendu : {_PATHWAYS_EXPECTED}).")
        if not item.structure:
            fail(
                "structure", "Structure obligatoire pour une orientation (SIRET, code ou nom de l'organisme)."
            )
    elif kind == EventType.REFERENT:
        if not item.structure:
            fail(
                "structure",
                "Structure obligatoire pour un référent (SIRET, code ou nom de son organisation).",
            )
        if not item.referent_email and "referent" not in failed:
            fail("referent", "Adresse électronique du référent obligatoire.")
    elif kind == EventType.CONTRACT:
        if not item.contract_kind and "type_contrat" not in failed:
            fail("type_contrat", f"Type de contrat obligatoire (attendu : {_CONTRACTS_EXPECTED}).")
        if item.ends_on and item.on and item.ends_on < item.on:
            fail("fin_prevue", "Fin prévue antérieure à la signature.")
        if item.weekly_hours is not None and not (Decimal(0) <= item.weekly_hours <= Decimal(35)):
            fail("heures_hebdomadaires", "Durée hebdomadaire hors de 0 à 35 heures.")
    item.ok = not failed
    return item


def _capitalise(text):
    return text[:1].upper() + text[1:]


_EVENTS_EXPECTED = "orientation, referent, contrat ou fin_suivi"
_PATHWAYS_EXPECTED = "emploi, socio_professionnel ou social"
_CONTRACTS_EXPECTED = "cer, ppae ou contrat_engagement"


def read_items(path, fmt, report, *, today=None):
    """Lit et vérifie toutes les lignes du fichier ; renvoie un ``_Item`` par ligne non vide (``ok`` faux pour
    une ligne en erreur, signalée au rapport). Lève ``FileRejected`` si le fichier est inutilisable."""
    today = today or timezone.localdate()
    detected, rows, where = _open(path, fmt)
    report.format = detected
    columns = None
    items = []
    try:
        for number, cells in rows:
            cells = list(cells or [])
            if _is_blank(cells):
                continue
            if columns is None:
                columns, unknown = _resolve_headers(cells, report, number)
                _check_columns(columns, unknown, report, number)
                if report.errors:
                    raise FileRejected(f"En-tête du fichier inutilisable ({where}).")
                continue
            report.rows += 1
            items.append(
                _read_item(number, cells, columns, report, from_excel=detected == "xlsx", today=today)
            )
    finally:
        rows.close()
    if columns is None:
        raise FileRejected("Le fichier est vide.")
    if report.rows == 0:
        raise FileRejected("Le fichier ne contient aucune ligne après l'en-tête.")
    return items


# --------------------------------------------------------------------------------------------------
# Rapprochement : personnes, organisations, référents


def _chunks(values, size=IN_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _fold(text):
    return " ".join(v.normalize_header(text).split())


class _Directory:
    """Personnes, organisations et référents cités par le fichier, lus en quelques requêtes groupées."""

    def __init__(self, departement):
        self.departement = departement
        self.by_nir = defaultdict(set)
        self.by_household = defaultdict(set)
        self.by_internal_id = defaultdict(set)
        self.person_departement = {}
        self.organisations = {}
        self.by_siret = defaultdict(list)
        self.by_code = defaultdict(list)
        self.by_name = defaultdict(list)
        self.users_by_email = {}
        self.memberships = defaultdict(set)  # (user_id) → {organisation_id}
        self.users = {}

    def _people(self):
        people = Beneficiary.objects.filter(anonymised_on__isnull=True)
        if self.departement is not None:
            people = people.filter(departement=self.departement)
        return people.order_by()

    def load_people(self, items):
        nirs = {i.nir for i in items if i.nir}
        for chunk in _chunks(sorted(nirs)):
            for pk, nir, dep in (
                self._people().filter(nir__in=chunk).values_list("pk", "nir", "departement_id")
            ):
                self.by_nir[nir].add(pk)
                self.person_departement[pk] = dep
        matricules = {i.matricule for i in items if i.matricule and i.organism and i.role}
        for chunk in _chunks(sorted(matricules)):
            rows = (
                self._people()
                .filter(household__matricule__in=chunk)
                .values_list("pk", "household__organism", "household__matricule", "role", "departement_id")
            )
            for pk, organism, matricule, role, dep in rows:
                self.by_household[(organism, matricule, role)].add(pk)
                self.person_departement[pk] = dep
        internal_ids = {i.internal_id for i in items if i.internal_id}
        for chunk in _chunks(sorted(internal_ids)):
            rows = (
                self._people()
                .filter(departement_internal_id__in=chunk)
                .values_list("pk", "departement_internal_id", "departement_id")
            )
            for pk, internal_id, dep in rows:
                self.by_internal_id[internal_id].add(pk)
                self.person_departement[pk] = dep

    def match(self, item, report):
        """Rattache la ligne à une personne : la première clé donnée qui désigne quelqu'un."""
        keys = []
        if item.nir:
            keys.append(("nir", self.by_nir.get(item.nir, set()), f"NIR {mask_nir(item.nir)}"))
        if item.organism and item.matricule and item.role:
            keys.append(
                (
                    "matricule",
                    self.by_household.get((item.organism, item.matricule, item.role), set()),
                    f"foyer {item.organism} {item.matricule} ({item.role})",
                )
            )
        if item.internal_id:
            keys.append(
                (
                    "id_departement",
                    self.by_internal_id.get(item.internal_id, set()),
                    f"identifiant {item.internal_id}",
                )
            )
        found = [(name, people, label) for name, people, label in keys if people]
        if not keys:
            return False  # clé illisible : erreur déjà signalée
        if not found:
            where = " dans ce Département" if self.departement is not None else ""
            report.error(
                item.row,
                keys[0][0],
                "Personne inconnue"
                + where
                + " : aucun bénéficiaire ne correspond ("
                + ", ".join(label for _, _, label in keys)
                + "). Elle doit d'abord être importée par un flux.",
            )
            return False
        name, people, label = found[0]
        if len(people) > 1:
            report.error(
                item.row,
                name,
                f"Plusieurs bénéficiaires correspondent au {label} (Départements différents ?) : précisez le "
                "Département de l'import.",
            )
            return False
        (item.person_id,) = people
        item.departement_id = self.person_departement[item.person_id]
        for other, others, other_label in found[1:]:
            if item.person_id not in others:
                report.warning(
                    item.row,
                    other,
                    f"Le {other_label} désigne une autre personne que le {label} : la personne retenue est "
                    f"celle du {label} (première clé renseignée).",
                )
        return True

    def load_organisations(self, departement_ids):
        organisations = Organisation.objects.filter(
            Q(pk__in=departement_ids) | Q(departement_id__in=departement_ids)
        )
        for org in organisations:
            home = org.pk if org.kind == OrganisationKind.DEPARTEMENT else org.departement_id
            self.organisations[org.pk] = org
            if org.siret:
                self.by_siret[(home, org.siret)].append(org)
            for code in {org.code, org.departement_code if org.kind == OrganisationKind.DEPARTEMENT else ""}:
                if code:
                    self.by_code[(home, code.casefold())].append(org)
            self.by_name[(home, _fold(org.name))].append(org)

    def organisation(self, item, report):
        text = item.structure
        home = item.departement_id
        compact = re.sub(r"[\s.]", "", text)
        if compact.isdigit() and len(compact) == 14:
            found = self.by_siret.get((home, compact))
            if found:
                return found[0]
        for table, key, what in (
            (self.by_code, text.casefold(), "code"),
            (self.by_name, _fold(text), "nom"),
        ):
            found = table.get((home, key))
            if found and len(found) == 1:
                return found[0]
            if found:
                report.error(
                    item.row,
                    "structure",
                    f"Structure « {text} » ambiguë : {len(found)} organisations du Département ont ce {what}. "
                    "Utilisez son SIRET ou son code.",
                )
                return None
        report.error(
            item.row,
            "structure",
            f"Structure « {text} » inconnue : aucune organisation du Département de la personne n'a ce SIRET, "
            "ce code ni ce nom.",
        )
        return None

    def load_referents(self, emails):
        for chunk in _chunks(sorted(emails)):
            for user in User.objects.filter(email__in=chunk):
                self.users_by_email[user.email.lower()] = user
                self.users[user.pk] = user
        ids = [u.pk for u in self.users_by_email.values()]
        for chunk in _chunks(ids):
            for user_id, org_id in Membership.objects.filter(user_id__in=chunk, is_active=True).values_list(
                "user_id", "organisation_id"
            ):
                self.memberships[user_id].add(org_id)

    def referent(self, item, organisation, report):
        user = self.users_by_email.get(item.referent_email)
        if user is None:
            report.error(
                item.row,
                "referent",
                f"Référent inconnu : aucun agent d'adresse « {item.referent_email} » dans Parcours.",
            )
            return None
        if organisation is not None:
            if organisation.pk not in self.memberships[user.pk]:
                report.error(
                    item.row,
                    "referent",
                    f"Référent « {item.referent_email} » : il n'est pas agent actif de {organisation}.",
                )
                return None
            return user
        # Contrat sans structure : l'organisation du référent dans le Département de la personne.
        candidates = [
            self.organisations[org_id]
            for org_id in self.memberships[user.pk]
            if org_id in self.organisations
            and (
                org_id == item.departement_id
                or self.organisations[org_id].departement_id == item.departement_id
            )
        ]
        if len(candidates) != 1:
            report.error(
                item.row,
                "structure",
                f"Référent « {item.referent_email} » : précisez la structure ({plural(len(candidates), 'organisation')} "
                "du Département de la personne où il est agent actif).",
            )
            return None
        item.organisation = candidates[0]
        return user


def content_hash(item):
    """Empreinte du contenu d'un événement (idempotence sans référence)."""
    parts = (
        item.person_id,
        item.kind,
        item.on.isoformat(),
        item.pathway,
        item.organisation.pk if item.organisation is not None else "",
        item.referent.pk if item.referent is not None else "",
        item.contract_kind,
    )
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _check_known(items, report):
    """Marque les événements déjà importés (``known``) ; erreurs pour une référence au contenu différent et
    pour une même référence portant deux contenus dans le fichier. Renvoie les événements à appliquer."""
    by_reference = {}
    for chunk in _chunks(sorted({i.reference for i in items if i.reference})):
        for source, reference, digest in ImportedEvent.objects.filter(reference__in=chunk).values_list(
            "source", "reference", "content_hash"
        ):
            by_reference[(source, reference)] = digest
    known_hashes = set()
    for chunk in _chunks(sorted({i.content_hash for i in items})):
        known_hashes.update(
            ImportedEvent.objects.filter(content_hash__in=chunk).values_list("content_hash", flat=True)
        )
    seen_reference, seen_content = {}, {}
    to_apply = []
    for item in items:
        if item.reference:
            key = (item.source, item.reference)
            stored = by_reference.get(key)
            if stored is not None:
                if stored != item.content_hash:
                    report.error(
                        item.row,
                        "reference",
                        f"Référence « {item.reference} » ({item.source or 'sans source'}) déjà importée avec un "
                        "contenu différent : un événement importé ne se corrige pas par un nouvel import.",
                    )
                    continue
                item.known = True
            first = seen_reference.get(key)
            if first is not None:
                if first.content_hash != item.content_hash:
                    report.error(
                        item.row,
                        "reference",
                        f"Référence « {item.reference} » déjà utilisée ligne {first.row} pour un autre événement.",
                    )
                else:
                    report.warning(item.row, "reference", f"Doublon de la ligne {first.row} : ignoré.")
                    report.count(item.kind, "unchanged")
                continue
            seen_reference[key] = item
        if not item.known and item.content_hash in known_hashes:
            item.known = True
        first = seen_content.get(item.content_hash)
        if first is not None:
            report.warning(item.row, None, f"Même événement que la ligne {first.row} : ignoré.")
            report.count(item.kind, "unchanged")
            continue
        seen_content[item.content_hash] = item
        if item.known:
            report.count(item.kind, "unchanged")
            continue
        to_apply.append(item)
    return to_apply


def resolve(items, report, departement):
    """Rattache chaque événement à sa personne, son organisation et son référent ; calcule son empreinte.

    Renvoie les événements à appliquer, triés par date puis dans l'ordre du fichier. Une personne dont une
    ligne est en erreur n'a aucun événement appliqué (son parcours serait incomplet : le fichier sera refusé
    de toute façon, inutile d'y ajouter des erreurs qui n'en découlent que)."""
    directory = _Directory(departement)
    directory.load_people(items)
    failed_people = set()
    matched = []
    for item in items:
        if not directory.match(item, report):
            continue
        if item.ok:
            matched.append(item)
        else:
            failed_people.add(item.person_id)
    directory.load_organisations({item.departement_id for item in matched})
    directory.load_referents({item.referent_email for item in matched if item.referent_email})
    ready = []
    for item in matched:
        ok = True
        if item.structure:
            item.organisation = directory.organisation(item, report)
            ok = item.organisation is not None
            if ok and item.kind == EventType.ORIENTATION and item.organisation.kind in NOT_ORIENTATION_KINDS:
                report.error(
                    item.row,
                    "structure",
                    f"{item.organisation} ({item.organisation.get_kind_display()}) n'est pas un organisme "
                    "d'orientation.",
                )
                ok = False
        if ok and item.referent_email:
            item.referent = directory.referent(item, item.organisation, report)
            ok = item.referent is not None
        if ok:
            item.content_hash = content_hash(item)
            ready.append(item)
        else:
            failed_people.add(item.person_id)
    to_apply = [item for item in _check_known(ready, report) if item.person_id not in failed_people]
    to_apply.sort(key=lambda item: (item.on, item.row))
    return to_apply


# --------------------------------------------------------------------------------------------------
# Application : les fonctions de service des pages


def _error_field(exc, default):
    """Colonne du fichier en cause dans le refus d'un service (« Date : … » sans champ : la date)."""
    if hasattr(exc, "error_dict"):
        return SERVICE_FIELDS.get(next(iter(exc.error_dict)), default)
    if any(message.startswith("Date") for message in exc.messages):
        return "date"
    return default


def _messages(exc):
    return " ".join(dict.fromkeys(exc.messages))


class _Applier:
    def __init__(self, report, batch, actor, progress):
        self.report = report
        self.batch = batch
        self.actor = actor if getattr(actor, "pk", None) else None
        self.progress = progress
        self.failed_people = set()
        self.imported_contracts = []  # lignes des contrats d'engagement repris sans contenu

    def run(self, items):
        total = len(items)
        done = 0
        for start in range(0, total, CHUNK_SIZE):
            chunk = items[start : start + CHUNK_SIZE]
            people = Beneficiary.objects.select_related("departement").in_bulk({i.person_id for i in chunk})
            records = []
            for item in chunk:
                if item.person_id in self.failed_people:
                    continue
                person = people[item.person_id]
                try:
                    outcome, object_id = self.apply(item, person)
                except ValidationError as exc:
                    self.failed_people.add(item.person_id)
                    self.report.error(item.row, _error_field(exc, "evenement"), _messages(exc))
                    if self.report.error_count >= MAX_REPORTED_ISSUES:
                        return
                    continue
                self.report.count(item.kind, "created" if outcome == ImportOutcome.CREATED else "unchanged")
                records.append(
                    ImportedEvent(
                        source=item.source,
                        reference=item.reference,
                        content_hash=item.content_hash,
                        beneficiary_id=item.person_id,
                        kind=item.kind,
                        occurred_on=item.on,
                        outcome=outcome,
                        object_id=object_id,
                        batch=self.batch,
                    )
                )
            ImportedEvent.objects.bulk_create(records)
            done += len(chunk)
            if self.progress:
                self.progress(done, total)

    def apply(self, item, person):
        handler = {
            EventType.ORIENTATION: self.orientation,
            EventType.REFERENT: self.referent,
            EventType.CONTRACT: self.contract,
            EventType.FOLLOW_UP_END: self.follow_up_end,
        }[item.kind]
        return handler(item, person)

    def _origin(self, item):
        return item.source or "un autre logiciel"

    def orientation(self, item, person):
        current = orientation.current_orientation(person)
        if (
            current is not None
            and current.status == DecisionStatus.NOTIFIED
            and current.pathway == item.pathway
            and current.organisation_id == item.organisation.pk
            and current.notified_on == item.on
        ):
            return ImportOutcome.EXISTING, current.pk
        decision = orientation.decide_orientation(
            person,
            pathway=item.pathway,
            organisation=item.organisation,
            author=self.actor,
            decided_on=item.on,
            notified_on=item.on,
            reason=item.reason or f"Orientation reprise de {self._origin(item)}.",
        )
        return ImportOutcome.CREATED, decision.pk

    def referent(self, item, person):
        current = orientation.current_referent(person)
        if (
            current is not None
            and current.referent_id == item.referent.pk
            and current.organisation_id == item.organisation.pk
        ):
            if current.started_on != item.on:
                self.report.warning(
                    item.row,
                    "date",
                    f"{item.referent} est déjà le référent de la personne dans Parcours, depuis le "
                    f"{current.started_on:%d/%m/%Y} : désignation conservée.",
                )
            return ImportOutcome.EXISTING, current.pk
        result = orientation.assign_referent(
            person,
            referent=item.referent,
            organisation=item.organisation,
            author=self.actor,
            started_on=item.on,
            reason=item.reason,
        )
        for message in result.warnings:
            self.report.warning(item.row, "referent", message)
        return ImportOutcome.CREATED, result.assignment.pk

    def contract(self, item, person):
        # Import dans la fonction : l'accompagnement importe déjà le parcours au chargement (pas de cycle).
        from parcours.accompaniment import services as accompaniment
        from parcours.accompaniment.models import Contract, ContractKind

        existing = (
            Contract.objects.filter(beneficiary=person, kind=item.contract_kind, signed_on=item.on)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is not None:
            return ImportOutcome.EXISTING, existing
        organisation, referent = item.organisation, item.referent
        if organisation is None:
            # Sans structure dans le fichier : l'organisation en charge ce jour-là, et son référent.
            charge = pathways.in_charge(person, item.on)
            organisation = charge.organisation
            if organisation is None:
                self.report.warning(
                    item.row,
                    "structure",
                    "Aucune organisation n'a la charge de la personne à cette date : contrat enregistré sans "
                    "organisme référent.",
                )
            elif charge.assignment is not None and charge.assignment.organisation_id == organisation.pk:
                referent = charge.referent
        reference = f"{item.source}:{item.reference}" if item.source and item.reference else item.reference
        fields = {
            "organisation": organisation,
            "referent": referent,
            "starts_on": item.on,
            "ends_on": item.ends_on,
            "external_reference": (
                reference or f"import n°{self.batch.pk if self.batch else ''} ligne {item.row}"
            )[:60],
        }
        objectives = ()
        if item.weekly_hours is not None:
            fields["weekly_hours"] = item.weekly_hours
        if item.hours_exemption:
            fields["hours_exemption"] = item.hours_exemption
        origin = self._origin(item)
        # Signé dans un autre logiciel : le contrat est marqué « repris de » et son contenu (engagements, plan
        # d'action) reste dans le logiciel d'origine ; rien n'est inventé (ni objectif ni durée hebdomadaire).
        fields["imported_from"] = origin[:100]
        if item.contract_kind == ContractKind.CONTRAT_ENGAGEMENT and item.weekly_hours is None:
            self.imported_contracts.append(item.row)
        with transaction.atomic():
            contract = accompaniment.create_contract(
                person, author=self.actor, kind=item.contract_kind, objectives=objectives, **fields
            )
            accompaniment.sign_contract(contract, actor=self.actor, on=item.on)
        return ImportOutcome.CREATED, contract.pk

    def follow_up_end(self, item, person):
        if pathways.current_follow_up(person) is None:
            last = (
                FollowUp.objects.filter(beneficiary=person, ended_on__isnull=False)
                .order_by("-ended_on", "-pk")
                .first()
            )
            if last is not None and last.ended_on <= item.on:
                self.report.warning(
                    item.row,
                    "evenement",
                    f"Suivi déjà clos dans Parcours le {last.ended_on:%d/%m/%Y} ({last.end_reason or 'sans motif'}).",
                )
                return ImportOutcome.EXISTING, last.pk
        closed = pathways.end_follow_up(
            person,
            on=item.on,
            reason=item.reason or f"Fin de suivi reprise de {self._origin(item)}",
            author=self.actor,
        )
        return ImportOutcome.CREATED, getattr(closed, "pk", None)


# --------------------------------------------------------------------------------------------------
# Point d'entrée


def _copy(source, target):
    """Copie le fichier (chemin ou fichier téléversé) ; renvoie (nom, taille, empreinte SHA-256)."""
    digest = hashlib.sha256()
    size = 0
    if hasattr(source, "chunks"):
        name = Path(getattr(source, "name", "fichier")).name
        with open(target, "wb") as out:
            for chunk in source.chunks():
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return name, size, digest.hexdigest()
    path = Path(source)
    if not path.is_file():
        raise PathwayImportError(f"Fichier introuvable : {path}")
    with open(path, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return path.name, size, digest.hexdigest()


class _Rejected(Exception):
    pass


def import_pathway(
    source, *, departement=None, fmt="auto", actor=None, progress=None, today=None, dry_run=False
):
    """Importe un fichier d'événements du parcours (chemin ou fichier téléversé) ; renvoie le rapport.

    ``departement`` : les personnes sont cherchées dans ce Département (défaut : tous) ; ``actor`` : l'agent
    qui dépose le fichier (auteur des décisions et du journal ; ``None`` en ligne de commande) ;
    ``progress(fait, total)`` : appelé pendant l'application des événements ; ``dry_run`` : vérifie le fichier
    (colonnes, valeurs, personnes, structures, référents, références) sans appliquer les événements — les
    règles du parcours, elles, ne sont vérifiées qu'à l'application.
    """
    report = PathwayReport()
    workdir = tempfile.mkdtemp(prefix="parcours-import-")
    try:
        path = Path(workdir) / "fichier"
        name, size, digest = _copy(source, path)
        batch = PathwayImport.objects.create(
            departement=departement,
            created_by=actor if getattr(actor, "pk", None) else None,
            filename=name[:255],
            sha256=digest,
            size=size,
        )
        report.batch = batch
        _run(path, fmt, report, departement, actor, progress, today, dry_run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    batch.detected_format = report.format
    batch.rows = report.rows
    batch.created = report.created
    batch.unchanged = report.unchanged
    batch.report = {key: value for key, value in report.as_json().items() if key != "import"}
    batch.finished_at = timezone.now()
    batch.save()
    return report


def _run(path, fmt, report, departement, actor, progress, today, dry_run=False):
    batch = report.batch
    started = time.perf_counter()
    try:
        items = read_items(path, fmt, report, today=today)
        report.timings["read"] = time.perf_counter() - started
        step = time.perf_counter()
        to_apply = resolve(items, report, departement)
        report.timings["resolve"] = time.perf_counter() - step
        if dry_run:
            report.dry_run = True
            report.pending = len(to_apply)
            if report.errors:
                raise _Rejected
            batch.status = PathwayImportStatus.CHECKED
            report.message = (
                f"Vérification seule, rien n'a été écrit : {plural(report.rows, 'ligne lue', 'lignes lues')}, "
                f"{plural(len(to_apply), 'événement')} à enregistrer, "
                f"{plural(report.unchanged, 'déjà connu', 'déjà connus')}. Les règles du parcours (dates "
                "des suivis, portefeuilles…) sont vérifiées à l'import."
            )
            return
        if progress:
            progress(0, len(to_apply))
        step = time.perf_counter()
        with transaction.atomic():
            applier = _Applier(report, batch, actor, progress)
            applier.run(to_apply)
            if applier.imported_contracts:
                rows = applier.imported_contracts
                listed = ", ".join(str(r) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
                report.warning(
                    None,
                    "type_contrat",
                    f"{plural(len(rows), 'contrat', 'contrats')} d'engagement repris sans durée hebdomadaire "
                    f"(lignes {listed}) : "
                    "ils ne comptent pas dans la part d'accompagnement intensif tant que la durée n'est pas connue.",
                )
            if report.errors:
                raise _Rejected
        report.timings["apply"] = time.perf_counter() - step
        batch.status = PathwayImportStatus.DONE
        report.message = _summary(report)
    except FileRejected as exc:
        if not report.errors:
            report.error(None, None, exc.message)
        report.reject(f"Fichier refusé : {exc.message} Rien n'a été écrit.")
        batch.status = PathwayImportStatus.REJECTED
    except _Rejected:
        if not dry_run:
            report.timings["apply"] = time.perf_counter() - step
        report.reject()
        batch.status = PathwayImportStatus.REJECTED
    except Exception as exc:
        logger.exception("Échec technique de l'import du parcours %s", batch.pk)
        report.reject(f"Échec technique de l'import, rien n'a été écrit : {exc.__class__.__name__}: {exc}")
        batch.status = PathwayImportStatus.FAILED
    finally:
        report.timings["total"] = time.perf_counter() - started
        # Lecture, rapprochement puis application ajoutent leurs erreurs tour à tour : le rapport suit le fichier.
        report.errors.sort(key=lambda issue: issue["row"] or 0)
        report.warnings.sort(key=lambda issue: issue["row"] or 0)


__all__ = [
    "COLUMNS",
    "FORMATS",
    "PathwayImportError",
    "PathwayReport",
    "import_pathway",
]
