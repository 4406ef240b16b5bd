"""Échanges de fichiers CSV / XLSX avec les partenaires qui n'ont pas d'API.

(a) **Liste des orientations** (export) : les personnes orientées sur une période (décision notifiée),
    avec parcours, organisme et dates, pour un partenaire (ou tous) ; CSV pour tableur (« ; », UTF-8 avec
    BOM) ou XLSX. Chaque cellule de texte est neutralisée contre l'injection de formules
    (``parcours.core.csv_export.safe_cell``) ; l'export est inscrit au journal d'accès, une entrée par
    personne.

(b) **Liste des absences** (import) : les absences aux rendez-vous renvoyées par un partenaire. Chaque
    ligne désigne une personne (NIR, identifiant Département ou France Travail, ou nom + prénom + date de
    naissance) et la date (et au besoin l'heure) du rendez-vous ; l'absence est saisie par
    ``parcours.orientation.services.record_attendance``. Le fichier est **atomique** : une seule ligne
    invalide et rien n'est écrit, le rapport nomme la ligne et la colonne. Réimporter le même fichier ne
    change rien (une absence déjà saisie est « inchangée »).
"""

import csv
import datetime
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from parcours.core.csv_export import safe_cell
from parcours.core.text import plural
from parcours.intake.formats import values as v
from parcours.intake.formats.tabular import detect_encoding, open_workbook, sniff_delimiter
from parcours.intake.records import FileRejected
from parcours.orientation import services as orientation
from parcours.orientation.models import Attendance, DecisionStatus, OrientationDecision

from .common import connector_user, validation_message
from .identify import PersonFinder, PersonNotFound
from .models import Connector, ConnectorRun


class ExchangeRejected(Exception):
    """Fichier refusé, rien n'a été écrit ; ``errors`` : liste de ``{ligne, colonne, message}``."""

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


# =============================================================================================================
# (a) Export de la liste des orientations

EXPORT_COLUMNS = [
    "Identifiant Département",
    "Identifiant France Travail",
    "Nom",
    "Prénom",
    "Date de naissance",
    "Code postal",
    "Commune",
    "Parcours",
    "Code parcours France Travail",
    "Organisme d'orientation",
    "SIRET de l'organisme",
    "Décidée le",
    "Notifiée le",
    "Réorientation",
    "Référence Parcours",
]


def oriented(departement, start, end, organisation=None):
    """Décisions notifiées entre ``start`` et ``end`` (inclus) pour le Département (et l'organisme)."""
    queryset = OrientationDecision.objects.filter(
        beneficiary__departement=departement,
        beneficiary__anonymised_on__isnull=True,
        status=DecisionStatus.NOTIFIED,
        notified_on__gte=start,
        notified_on__lte=end,
    )
    if organisation is not None:
        queryset = queryset.filter(organisation=organisation)
    return queryset.select_related("beneficiary", "organisation").order_by("notified_on", "pk")


def _fr(day):
    return day.strftime("%d/%m/%Y") if day else ""


def orientation_rows(decisions, *, with_nir=False):
    """En-tête puis une ligne par décision (valeurs Python : dates en ``date``)."""
    header = list(EXPORT_COLUMNS)
    if with_nir:
        header.insert(2, "NIR")
    yield header
    for decision in decisions:
        person, organisation = decision.beneficiary, decision.organisation
        row = [
            person.departement_internal_id,
            person.france_travail_id,
            person.last_name,
            person.first_name,
            person.birth_date,
            person.postal_code,
            person.city,
            decision.get_pathway_display(),
            decision.france_travail_code,
            organisation.name,
            organisation.siret,
            decision.decided_on,
            decision.notified_on,
            "oui" if decision.is_reorientation else "non",
            decision.pk,
        ]
        if with_nir:
            row.insert(2, person.nir or "")
        yield row


def export_orientations(
    departement, start, end, output, *, organisation=None, fmt=None, with_nir=False, user=None
):
    """Écrit la liste des orientations dans ``output`` (CSV ou XLSX selon ``fmt`` ou l'extension) ;
    renvoie le nombre de lignes. L'export est inscrit au journal d'accès."""
    from parcours.audit.models import AccessAction
    from parcours.audit.services import record_many

    if start > end:
        raise ExchangeRejected("Période invalide : la date de début est après la date de fin.")
    output = Path(output)
    fmt = fmt or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
    decisions = list(oriented(departement, start, end, organisation))
    rows = orientation_rows(decisions, with_nir=with_nir)
    try:
        if fmt == "xlsx":
            _write_xlsx(rows, output)
        else:
            with open(output, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle, delimiter=";")
                for row in rows:
                    writer.writerow([safe_cell(_fr(c) if isinstance(c, datetime.date) else c) for c in row])
    except OSError as exc:
        raise ExchangeRejected(f"Impossible d'écrire le fichier {output} : {exc.strerror or exc}.") from exc
    partner = f" pour {organisation.name}" if organisation else ""
    reason = (
        f"Liste des orientations{partner} du {_fr(start)} au {_fr(end)} : {plural(len(decisions), 'ligne')}"
        + (", avec NIR" if with_nir else "")
        + "."
    )
    people = sorted({d.beneficiary_id for d in decisions})
    record_many(
        [
            {"beneficiary_id": pk, "departement_id": departement.pk, "action": AccessAction.EXPORT}
            for pk in people
        ],
        user=user,
        view="parcours exchange-export-orientations",
        reason=reason,
    )
    ConnectorRun.objects.create(
        connector=Connector.EXPORT_ORIENTATIONS,
        departement=departement,
        finished_at=timezone.now(),
        filename=output.name[:300],
        report={
            "lines": len(decisions),
            "people": len(people),
            "from": start.isoformat(),
            "to": end.isoformat(),
            "organisation": organisation.pk if organisation else None,
            "with_nir": with_nir,
        },
        created_by=user if user and user.is_authenticated else None,
    )
    return len(decisions)


def _write_xlsx(rows, output):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Orientations")
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "DD/MM/YYYY"
            else:
                # Une chaîne commençant par « = » serait écrite comme formule par openpyxl : neutralisée.
                cell = WriteOnlyCell(sheet, value=value if isinstance(value, int) else safe_cell(value))
            cells.append(cell)
        sheet.append(cells)
    workbook.save(output)


# =============================================================================================================
# (b) Import de la liste des absences

# Colonnes reconnues (en-têtes normalisés : casse, accents, ponctuation ignorés).
ABSENCE_COLUMNS = {
    "nir": ("NIR", {"nir", "numero de securite sociale", "n securite sociale", "numero nir", "nir cle"}),
    "departement_id": (
        "Identifiant Département",
        {
            "identifiant departement",
            "id departement",
            "identifiant cd",
            "numero departement",
            "identifiant interne",
        },
    ),
    "france_travail_id": (
        "Identifiant France Travail",
        {"identifiant france travail", "id france travail", "identifiant ft", "identifiant pole emploi"},
    ),
    "last_name": ("Nom", {"nom", "nom d usage", "nom de naissance", "nom usage"}),
    "first_name": ("Prénom", {"prenom"}),
    "birth_date": ("Date de naissance", {"date de naissance", "naissance", "ne le", "ne e le"}),
    "date": (
        "Date du rendez-vous",
        {"date du rendez vous", "date rendez vous", "date rdv", "date du rdv", "date"},
    ),
    "time": ("Heure du rendez-vous", {"heure", "heure du rendez vous", "heure rdv", "heure du rdv"}),
    "excused": (
        "Absence excusée",
        {"absence excusee", "excusee", "excuse", "justifiee", "absence justifiee"},
    ),
    "reason": ("Motif", {"motif", "observations", "commentaire", "commentaires", "motif de l absence"}),
}
_SYNONYMS = {synonym: name for name, (_label, synonyms) in ABSENCE_COLUMNS.items() for synonym in synonyms}
_TIME = re.compile(r"^(\d{1,2})\s*[:hH]\s*(\d{2})?(?::\d{2})?$")


@dataclass
class _Column:
    name: str
    position: int
    header: str

    def where(self, container):
        if container == "xlsx":
            from openpyxl.utils import get_column_letter

            return f"colonne « {self.header} » ({get_column_letter(self.position + 1)})"
        return f"colonne « {self.header} »"


@dataclass
class AbsenceReport:
    filename: str
    rows: int = 0
    recorded: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # {ligne, colonne, message}

    def as_dict(self):
        return {
            "fichier": self.filename,
            "lignes": self.rows,
            "absences_saisies": self.recorded,
            "inchangees": self.unchanged,
            "erreurs": self.errors,
        }


def _records(path):
    """(conteneur, itérateur de (numéro de ligne, cellules))."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        try:
            workbook, close = open_workbook(path)
        except FileRejected as exc:
            raise ExchangeRejected(exc.message) from None
        try:
            sheet = workbook.worksheets[0] if workbook.worksheets else None
            if sheet is None:
                raise ExchangeRejected("Le classeur ne contient aucun onglet.")
            rows = [(n, list(cells)) for n, cells in enumerate(sheet.iter_rows(values_only=True), start=1)]
        finally:
            close()
        return "xlsx", rows
    try:
        encoding = detect_encoding(path)
    except FileRejected as exc:
        raise ExchangeRejected(exc.message) from None
    with open(path, encoding=encoding.codec, newline="") as handle:
        lines = handle.read().splitlines()
    skip = 1 if lines and re.match(r"^\s*sep=.\s*$", lines[0], re.IGNORECASE) else 0
    delimiter = (
        lines[0].strip()[-1] if skip else sniff_delimiter([line for line in lines if line.strip()] or [""])
    )
    try:
        parsed = list(csv.reader(lines[skip:], delimiter=delimiter))
    except csv.Error as exc:
        raise ExchangeRejected(f"Fichier CSV illisible : {exc}.") from None
    return "csv", [(n + skip, cells) for n, cells in enumerate(parsed, start=1)]


def _columns(header):
    columns, unknown = {}, []
    for position, cell in enumerate(header):
        text = v.clean_text(cell)
        if not text:
            continue
        name = _SYNONYMS.get(v.normalize_header(text))
        if name is None:
            unknown.append(text)
        elif name not in columns:
            columns[name] = _Column(name, position, text)
    return columns, unknown


def _check_columns(columns):
    if "date" not in columns:
        raise ExchangeRejected(
            "Colonne « Date du rendez-vous » absente : elle est obligatoire. Colonnes attendues : "
            + ", ".join(label for label, _ in ABSENCE_COLUMNS.values())
            + "."
        )
    has_identity = {"nir", "departement_id", "france_travail_id"} & set(columns) or {
        "last_name",
        "first_name",
        "birth_date",
    } <= set(columns)
    if not has_identity:
        raise ExchangeRejected(
            "Aucune colonne pour identifier la personne : NIR, Identifiant Département, Identifiant France "
            "Travail, ou Nom + Prénom + Date de naissance."
        )


@dataclass
class _Absence:
    line: int
    person: object
    appointment: object
    target: str
    reason: str


def _parse_time(text):
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"heure « {text} » illisible (format attendu : HH:MM)")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"heure « {text} » impossible")
    return datetime.time(hour, minute)


def _read_absences(path, finder, container, rows, report):
    """Analyse toutes les lignes sans rien écrire ; renvoie les absences à saisir et remplit ``report``."""
    body = [(n, cells) for n, cells in rows if any(v.clean_text(c) for c in cells)]
    if not body:
        raise ExchangeRejected("Le fichier est vide.")
    header_line, header = body[0]
    columns, _unknown = _columns(header)
    _check_columns(columns)
    from_excel = container == "xlsx"
    absences, seen = [], {}
    now = timezone.now()
    for line, cells in body[1:]:
        report.rows += 1

        def cell(name, cells=cells):
            column = columns.get(name)
            if column is None or column.position >= len(cells):
                return None
            return cells[column.position]

        def error(name, message, line=line):
            column = columns.get(name)
            where = column.where(container) if column else f"colonne « {ABSENCE_COLUMNS[name][0]} »"
            report.errors.append(
                {
                    "ligne": line,
                    "colonne": column.header if column else ABSENCE_COLUMNS[name][0],
                    "message": f"Ligne {line}, {where} : {message}",
                }
            )

        values = {}
        failed = False
        for name, parser in (
            ("nir", v.parse_nir),
            ("departement_id", v.parse_identifier),
            ("france_travail_id", v.parse_identifier),
            ("last_name", v.clean_text),
            ("first_name", v.clean_text),
            ("birth_date", lambda x: v.check_birth_date(v.parse_date(x, excel_serial=from_excel))),
            ("date", lambda x: v.parse_date(x, excel_serial=from_excel)),
            ("excused", v.parse_bool),
            ("reason", v.clean_text),
        ):
            try:
                values[name] = parser(cell(name))
            except ValueError as exc:
                error(name, f"{exc}.")
                failed = True
        raw_time = cell("time")
        values["time"] = None
        if isinstance(raw_time, datetime.datetime):
            values["time"] = raw_time.time()
        elif isinstance(raw_time, datetime.time):
            values["time"] = raw_time
        elif v.clean_text(raw_time):
            try:
                values["time"] = _parse_time(v.clean_text(raw_time))
            except ValueError as exc:
                error("time", f"{exc}.")
                failed = True
        if (
            isinstance(cell("date"), datetime.datetime)
            and values["time"] is None
            and cell("date").time() != datetime.time()
        ):
            values["time"] = cell("date").time()
        if failed:
            continue
        if values["date"] is None:
            error("date", "date du rendez-vous absente.")
            continue
        try:
            person = finder.find(
                nir=values["nir"],
                departement_id=values["departement_id"],
                france_travail_id=values["france_travail_id"],
                last_name=values["last_name"],
                first_name=values["first_name"],
                birth_date=values["birth_date"],
            )
        except PersonNotFound as exc:
            name = {"departement_internal_id": "departement_id", "nom": "last_name"}.get(exc.field, exc.field)
            name = (
                name
                if name in columns
                else next(
                    (n for n in ("nir", "departement_id", "france_travail_id", "last_name") if n in columns),
                    "nir",
                )
            )
            error(name, exc.message)
            continue
        day = values["date"]
        appointments = [
            a
            for a in person.appointments.filter(starts_at__date=day).order_by("starts_at", "pk")
            if values["time"] is None
            or timezone.localtime(a.starts_at).time().replace(second=0, microsecond=0) == values["time"]
        ]
        when = f"le {_fr(day)}" + (f" à {values['time']:%H:%M}" if values["time"] else "")
        if not appointments:
            error("date", f"aucun rendez-vous de {person.full_name} {when} dans Parcours.")
            continue
        if len(appointments) > 1:
            error(
                "date",
                f"{len(appointments)} rendez-vous de {person.full_name} {when} : précisez l'heure (colonne « Heure du rendez-vous »).",
            )
            continue
        appointment = appointments[0]
        target = Attendance.EXCUSED if values["excused"] else Attendance.NO_SHOW
        previous = seen.get(appointment.pk)
        if previous is not None:
            if previous[1] != target:
                error(
                    "date",
                    f"même rendez-vous qu'à la ligne {previous[0]}, avec une absence de nature différente.",
                )
            else:
                report.unchanged += 1
            continue
        seen[appointment.pk] = (line, target)
        labels = dict(Attendance.choices)
        if appointment.attendance == target:
            report.unchanged += 1
            continue
        if appointment.attendance != Attendance.PLANNED:
            error(
                "date",
                f"présence déjà saisie pour ce rendez-vous (« {labels[appointment.attendance]} ») : "
                "corrigez-la dans Parcours si l'absence est confirmée.",
            )
            continue
        if appointment.starts_at > now:
            error("date", f"le rendez-vous {when} n'a pas encore eu lieu.")
            continue
        absences.append(_Absence(line, person, appointment, target, values["reason"] or ""))
    return absences


def import_absences(path, departement, *, user=None, today=None):
    """Importe une liste d'absences (CSV ou XLSX) ; renvoie le rapport (dict). Lève ``ExchangeRejected``
    (rien n'est écrit) si le fichier est illisible ou si une seule ligne est invalide."""
    path = Path(path)
    if not path.exists():
        raise ExchangeRejected(f"Fichier introuvable : {path}")
    today = today or timezone.localdate()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    report = AbsenceReport(filename=path.name)
    run = ConnectorRun(
        connector=Connector.IMPORT_ABSENCES,
        departement=departement,
        filename=path.name[:300],
        file_sha256=digest,
        created_by=user if user and user.is_authenticated else None,
    )
    try:
        container, rows = _records(path)
        absences = _read_absences(path, PersonFinder(departement), container, rows, report)
        if report.errors:
            raise ExchangeRejected(
                f"Fichier refusé : {plural(len(report.errors), 'ligne')} en erreur, aucune absence n'a été saisie.",
                report.errors,
            )
        author = (
            user
            if user is not None and user.is_authenticated
            else connector_user(departement, "echanges", "Échange de fichiers")
        )
        try:
            with transaction.atomic():
                for absence in absences:
                    appointment = absence.appointment
                    note = f"Absence signalée par le fichier {path.name}" + (
                        f" : {absence.reason}" if absence.reason else "."
                    )
                    notes = f"{appointment.notes}\n{note}" if appointment.notes else note
                    try:
                        orientation.record_attendance(
                            appointment, absence.target, author=author, on=today, notes=notes
                        )
                    except Exception as exc:  # noqa: BLE001 - toute erreur annule le fichier entier
                        report.errors.append(
                            {
                                "ligne": absence.line,
                                "colonne": "",
                                "message": f"Ligne {absence.line} : {validation_message(exc)}",
                            }
                        )
                        raise ExchangeRejected(
                            "Fichier refusé : une absence n'a pas pu être saisie, rien n'a été écrit.",
                            report.errors,
                        ) from exc
                    report.recorded += 1
        except ExchangeRejected:
            report.recorded = 0
            raise
    except ExchangeRejected as exc:
        run.status, run.finished_at = ConnectorRun.Status.FAILED, timezone.now()
        run.report = {**report.as_dict(), "message": exc.message}
        run.save()
        raise
    run.finished_at = timezone.now()
    run.report = report.as_dict()
    run.save()
    result = report.as_dict()
    result["run_id"] = run.pk
    return result
