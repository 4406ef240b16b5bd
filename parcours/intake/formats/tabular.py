"""Lecture des fichiers tabulaires (CSV et XLSX) : fichier canonique, tableurs des Départements,
fichier de contacts CNAF.

Les colonnes sont reconnues par leur en-tête normalisé (casse, accents, ponctuation, retours à la ligne
ignorés) grâce à une table de synonymes par champ ; une correspondance enregistrée (``ColumnMapping``)
l'emporte sur les synonymes. Les lignes sont lues en flux (module ``csv`` sur un flux texte, openpyxl
en lecture seule) : la mémoire ne dépend pas de la taille du fichier.

Trois dispositions :

- ``canonical-csv`` : le fichier canonique de CONTRACTS.md (colonnes obligatoires, valeurs contrôlées) ;
- ``spreadsheet`` : un tableur de Département (seuls le nom et le prénom sont obligatoires) ;
- ``cnaf-contacts`` : le fichier de contacts CNAF (e-mail, téléphones), qui ne crée jamais personne.
"""

import codecs
import csv
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice
from pathlib import Path

from parcours.core import xlsx
from parcours.core.text import plural, plural_form

from ..records import FileRejected, FluxRow, Issue, ParsedFile
from . import values as v

CANONICAL = "canonical-csv"
SPREADSHEET = "spreadsheet"
CONTACTS = "cnaf-contacts"

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # ancien format Excel .xls
HEADER_SCAN_ROWS = 10  # l'en-tête est cherché dans les 10 premières lignes non vides
_CHUNK = 1 << 18

# ---------------------------------------------------------------------------------------------------
# Champs reconnus : nom canonique (clé de ColumnMapping.columns) → libellé, synonymes d'en-tête


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    synonyms: tuple = ()


FIELDS = {
    f.name: f
    for f in (
        Field("organisme", "Organisme (CAF/MSA)", ("organisme payeur", "caf msa")),
        Field(
            "matricule",
            "Matricule (numéro allocataire)",
            (
                "n caf",
                "no caf",
                "num caf",
                "numero caf",
                "matricule caf",
                "matricule msa",
                "n allocataire",
                "no allocataire",
                "num allocataire",
                "numero allocataire",
                "numero d allocataire",
                "n d allocataire",
                "numero allocataire caf",
                "numero allocataire caf msa",
                "n allocataire caf msa",
                "numero caf msa",
                "n caf msa",
                "numero dossier caf",
            ),
        ),
        Field("role", "Rôle dans le foyer", ("role personne", "role dans le foyer", "qualite")),
        Field(
            "nir",
            "NIR",
            (
                "numero de securite sociale",
                "numero securite sociale",
                "n securite sociale",
                "n de securite sociale",
                "nss",
                "n ss",
                "numero nir",
            ),
        ),
        Field("civilite", "Civilité", ("titre", "sexe", "genre")),
        Field(
            "nom",
            "Nom",
            (
                "nom beneficiaire",
                "nom usager",
                "nom allocataire",
                "nom de famille",
                "nom d usage",
                "nom usage",
                "nom personne",
                "last name",
            ),
        ),
        Field("nom_naissance", "Nom de naissance", ("nom de naissance", "nom de jeune fille")),
        Field(
            "prenom",
            "Prénom",
            (
                "prenom beneficiaire",
                "prenom usager",
                "prenom allocataire",
                "prenoms",
                "prenom personne",
                "first name",
            ),
        ),
        Field("date_naissance", "Date de naissance", ("date de naissance", "ddn", "ne e le", "ne le")),
        Field(
            "email",
            "E-mail",
            (
                "e mail",
                "mail",
                "mails",
                "emails",
                "courriel",
                "adresse mail",
                "adresses mails",
                "adresse email",
                "adresse e mail",
                "adresse electronique",
                "adresse de messagerie",
            ),
        ),
        Field(
            "telephone",
            "Téléphone",
            (
                "tel",
                "telephones",
                "n tel",
                "n telephone",
                "n telephones",
                "no telephone",
                "num telephone",
                "numero telephone",
                "numero de telephone",
                "numeros de telephone",
                "telephone portable",
                "telephone mobile",
                "portable",
                "mobile",
            ),
        ),
        Field("adresse", "Adresse", ("adresse postale", "adresse 1", "adresse ligne 1", "rue")),
        Field(
            "complement_adresse",
            "Complément d'adresse",
            ("complement adresse", "adresse complement", "complement d adresse", "adresse 2"),
        ),
        Field("code_postal", "Code postal", ("cp",)),
        Field("commune", "Commune", ("ville", "localite")),
        Field(
            "cp_ville",
            "Code postal et ville",
            ("cp ville", "code postal ville", "code postal et ville", "cp commune", "code postal commune"),
        ),
        Field("code_insee", "Code INSEE de la commune", ("insee", "code commune insee", "code commune")),
        Field(
            "id_departement",
            "Identifiant Département",
            (
                "id iodas",
                "identifiant iodas",
                "iodas",
                "identifiant dans le si",
                "identifiant si",
                "id si",
                "identifiant departement",
                "id solis",
                "identifiant solis",
            ),
        ),
        Field(
            "id_france_travail",
            "Identifiant France Travail",
            (
                "identifiant france travail",
                "n france travail",
                "numero france travail",
                "id ft",
                "identifiant ft",
                "id pole emploi",
                "identifiant pole emploi",
                "n pole emploi",
                "numero pole emploi",
                "id pe",
                "identifiant pe",
            ),
        ),
        Field("numero_demande_rsa", "Numéro de demande RSA", ("numero demande rsa", "n demande rsa")),
        Field(
            "date_demande",
            "Date de la demande RSA",
            ("date demande rsa", "date de demande", "date de la demande"),
        ),
        Field(
            "date_ouverture_droit",
            "Date d'ouverture du droit",
            (
                "date ouverture droits",
                "date d ouverture du droit",
                "date d ouverture des droits",
                "date ouverture rsa",
                "date d ouverture",
            ),
        ),
        Field(
            "etat_droit",
            "État du droit (ETATDOSRSA)",
            ("etat du droit", "droits rsa", "droit rsa", "etatdosrsa", "etat dossier rsa", "etat rsa"),
        ),
        Field(
            "soumis_droits_devoirs",
            "Soumis aux droits et devoirs",
            ("soumis aux droits et devoirs", "sdd", "droits et devoirs", "toppersdrodevorsa"),
        ),
        Field("revenus_activite", "Revenus d'activité", ("revenus d activite",)),
        Field("entrant_cnaf", "Entrant selon la CNAF (TOPPERSENTDRODEVORSA)", ("toppersentdrodevorsa",)),
        Field("motif_suspension", "Motif de suspension", ("motif de suspension",)),
        Field("date_suspension", "Date de suspension", ("date de suspension",)),
        Field("motif_cloture", "Motif de clôture", ("motif de cloture",)),
        Field("date_cloture", "Date de clôture", ("date de cloture",)),
        # Composition du foyer (facultatives ; valeurs du foyer, répétées sur chacune de ses lignes).
        Field(
            "nombre_enfants",
            "Nombre d'enfants du foyer",
            ("nombre d enfants", "nb enfants", "nombre enfants du foyer", "enfants du foyer"),
        ),
        Field(
            "nombre_personnes_a_charge",
            "Enfants et autres personnes à charge (NBENFAUTCHA)",
            ("personnes a charge", "nb personnes a charge", "nombre de personnes a charge", "nbenfautcha"),
        ),
    )
}
FIELD_LABELS = {name: f.label for name, f in FIELDS.items()}

SYNONYMS = {}
for _field in FIELDS.values():
    for _header in (_field.name, *_field.synonyms):
        SYNONYMS.setdefault(v.normalize_header(_header), _field.name)

CANONICAL_REQUIRED = (
    "organisme",
    "matricule",
    "role",
    "nom",
    "prenom",
    "date_naissance",
    "date_ouverture_droit",
    "etat_droit",
    "soumis_droits_devoirs",
)
# En-têtes « à la CONTRACTS » (avec tiret bas) : signe que l'on a voulu écrire un fichier canonique.
_CANONICAL_SIGNATURE = {"etat_droit", "soumis_droits_devoirs", "date_ouverture_droit"}
# Les trois clés du foyer écrites exactement comme dans CONTRACTS : fichier canonique incomplet.
_CANONICAL_KEYS = {"organisme", "matricule", "role"}
_MISSING = {
    "organisme": "organisme manquant (CAF ou MSA)",
    "matricule": "matricule manquant",
    "role": "rôle manquant (DEM ou CJT)",
    "nom": "nom manquant",
    "prenom": "prénom manquant",
    "date_naissance": "date de naissance manquante",
    "date_ouverture_droit": "date d'ouverture du droit manquante",
    "etat_droit": "état du droit manquant (code de 0 à 6)",
    "soumis_droits_devoirs": "valeur manquante (1 si soumis aux droits et devoirs, sinon 0)",
}

# Fichier de contacts CNAF : en-têtes normalisés → champ
CONTACT_COLUMNS = {
    "matricule": "matricule",
    "role personne": "role",
    "type personne": "civilite",
    "nir": "nir",
    "numero demande rsa": "numero_demande_rsa",
    "date demande rsa": "date_demande",
    "nom responsable dossier": "nom",
    "prenom responsable dossier": "prenom",
    "numero telephone dossier": "telephone",
    "numero telephone 2 dossier": "telephone_2",
    "adresse electronique dossier": "email",
}

# Champ → (attribut de FluxRow, lecteur de valeur)
_SIMPLE = {
    "organisme": ("organism", v.parse_organism),
    "matricule": ("matricule", v.clean_text),
    "role": ("role", v.parse_role),
    "nir": ("nir", v.parse_nir),
    "civilite": ("civility", v.parse_civility),
    "nom": ("last_name", v.clean_text),
    "nom_naissance": ("birth_name", v.clean_text),
    "prenom": ("first_name", v.clean_text),
    "email": ("email", v.parse_email),
    "telephone": ("phone", v.parse_phone),
    "adresse": ("address", v.clean_text),
    "code_postal": ("postal_code", v.parse_postal_code),
    "commune": ("city", v.clean_text),
    "code_insee": ("insee_code", v.parse_insee_code),
    "id_departement": ("departement_internal_id", v.clean_text),
    "id_france_travail": ("france_travail_id", v.clean_text),
    "numero_demande_rsa": ("rsa_number", v.clean_text),
    "etat_droit": ("right_state", v.parse_right_state),
    "revenus_activite": ("activity_income", v.parse_bool),
    "entrant_cnaf": ("cnaf_new_entrant", v.parse_bool),
    "motif_suspension": ("suspension_reason", v.clean_text),
    "motif_cloture": ("closure_reason", v.clean_text),
    "nombre_enfants": ("household_children", v.parse_count),
    "nombre_personnes_a_charge": ("household_dependants", v.parse_count),
}
_DATES = {
    "date_naissance": "birth_date",
    "date_demande": "requested_on",
    "date_ouverture_droit": "opened_on",
    "date_suspension": "suspended_since",
    "date_cloture": "closed_on",
}
# Dates lues gardées par fichier (texte → date), au plus : la mémoire reste bornée.
DATE_CACHE_SIZE = 50_000
# Valeur invalide d'un champ facultatif de contact : le champ est ignoré et signalé (avertissement).
# Composition du foyer : une valeur invalide est ignorée (avertissement), la composition connue reste.
SOFT_FIELDS = {
    "civilite",
    "email",
    "telephone",
    "code_postal",
    "code_insee",
    "cp_ville",
    "nombre_enfants",
    "nombre_personnes_a_charge",
}
SOFT_FIELDS_CANONICAL = SOFT_FIELDS | {"revenus_activite", "entrant_cnaf"}


# ---------------------------------------------------------------------------------------------------
# Colonnes


@dataclass
class Columns:
    """Colonnes d'un fichier : en-têtes tels qu'écrits, champ reconnu pour chacune."""

    headers: list  # en-têtes affichables (rendus uniques : « Tél », « Tél (2) »)
    fields: dict  # champ → index de colonne
    unrecognised: list  # index des colonnes non reconnues (valeurs rangées dans FluxRow.extra)
    mapping_missing: list = field(default_factory=list)

    def header(self, name):
        return self.headers[self.fields[name]]

    def used(self):
        by_index = {index: name for name, index in self.fields.items()}
        return {self.headers[i]: by_index[i] for i in sorted(by_index)}


def _display_headers(raw_headers):
    headers, seen = [], {}
    for index, raw in enumerate(raw_headers):
        text = v.clean_text(raw) or f"Colonne {index + 1}"
        seen[text] = seen.get(text, 0) + 1
        headers.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return headers


def resolve_columns(raw_headers, mapping_columns=None, table=None):
    """Associe chaque colonne à un champ : d'abord la correspondance enregistrée, puis les synonymes."""
    table = SYNONYMS if table is None else table
    headers = _display_headers(raw_headers)
    normalized = [v.normalize_header(h) for h in raw_headers]
    fields, taken, missing = {}, set(), []
    for name, wanted in (mapping_columns or {}).items():
        if name not in FIELDS:
            continue
        wanted_norm = v.normalize_header(wanted)
        if not wanted_norm:
            fields[name] = None  # champ volontairement ignoré par la correspondance
            continue
        index = next((i for i, n in enumerate(normalized) if n == wanted_norm and i not in taken), None)
        if index is None:
            missing.append((name, wanted))
            continue
        fields[name] = index
        taken.add(index)
    unrecognised = []
    for index, norm in enumerate(normalized):
        if index in taken or not norm:
            if not norm and raw_headers[index] is not None and str(raw_headers[index]).strip():
                unrecognised.append(index)
            continue
        name = table.get(norm)
        if name and name not in fields:
            fields[name] = index
        else:
            unrecognised.append(index)
    fields = {name: index for name, index in fields.items() if index is not None}
    return Columns(headers, fields, unrecognised, missing)


def classify(raw_headers, mapping=None):
    """Reconnaît la disposition d'un en-tête : (disposition, colonnes), ou (None, None)."""
    normalized = {v.normalize_header(h) for h in raw_headers}
    mapping_columns = getattr(mapping, "columns", None) or None
    if (
        mapping_columns is None
        and "matricule" in normalized
        and ("adresse electronique dossier" in normalized or "numero telephone dossier" in normalized)
    ):
        return CONTACTS, resolve_columns(raw_headers, table=CONTACT_COLUMNS)
    columns = resolve_columns(raw_headers, mapping_columns)
    if mapping_columns is None:
        lowered = {str(h).strip().lower() for h in raw_headers if h is not None}
        if (
            {"etat_droit", "soumis_droits_devoirs", "date_ouverture_droit"} <= set(columns.fields)
            or (lowered & _CANONICAL_SIGNATURE)
            or lowered >= _CANONICAL_KEYS
        ):
            return CANONICAL, columns
    if "nom" in columns.fields and "prenom" in columns.fields:
        return SPREADSHEET, columns
    return None, columns


def _unknown_format(raw_headers, where=""):
    found = ", ".join(f"« {h} »" for h in _display_headers(raw_headers) if h) or "aucune"
    return FileRejected(
        f"Format non reconnu{where} : colonnes trouvées {found}. Colonnes attendues : pour un tableur, "
        "au moins le nom et le prénom (« Nom », « Prénom ») ; pour le fichier canonique : "
        f"{', '.join(CANONICAL_REQUIRED)} ; pour le fichier de contacts CNAF : MATRICULE et "
        "ADRESSE ELECTRONIQUE DOSSIER ou NUMERO TELEPHONE DOSSIER."
    )


def _unrecognised(cells, columns, mapping, where=""):
    """Erreur pour un en-tête non reconnu ; avec une correspondance, dit quelles colonnes attendues manquent."""
    if columns is not None and mapping is not None and getattr(mapping, "columns", None):
        _check_columns(SPREADSHEET, columns, mapping)
    return _unknown_format(cells or [], where)


def _check_columns(layout, columns, mapping):
    if layout == CANONICAL:
        missing = [name for name in CANONICAL_REQUIRED if name not in columns.fields]
        if missing:
            raise FileRejected(
                f"{plural_form(len(missing), 'Colonne obligatoire absente', 'Colonnes obligatoires absentes')} "
                f"du fichier canonique : {', '.join(missing)}. "
                f"Colonnes trouvées : {', '.join(columns.headers)}."
            )
    if mapping is not None and getattr(mapping, "columns", None):
        absent = [(n, h) for n, h in columns.mapping_missing if n in ("nom", "prenom")]
        if absent or not {"nom", "prenom"} <= set(columns.fields):
            detail = ", ".join(f"« {h} » ({FIELD_LABELS[n]})" for n, h in absent) or "le nom ou le prénom"
            absent_word = plural_form(len(absent), "absente", "absentes") if absent else "absent"
            raise FileRejected(
                f"La correspondance de colonnes « {mapping.name} » attend {detail}, {absent_word} du fichier. "
                f"Colonnes trouvées : {', '.join(columns.headers)}."
            )


# ---------------------------------------------------------------------------------------------------
# Construction d'une ligne


def _message(row, header, detail):
    return f"Ligne {row}, colonne « {header} » : {detail}."


class _RowBuilder:
    """Transforme les cellules d'une ligne en ``FluxRow``. Les opérations par colonne sont préparées une
    fois pour toutes : la lecture d'une ligne ne fait que parcourir cette liste."""

    def __init__(self, layout, columns, *, organism, from_excel, today):
        self.layout = layout
        self.columns = columns
        self.headers = columns.headers
        self.organism = organism
        self.from_excel = from_excel
        self.today = today
        self.soft = SOFT_FIELDS_CANONICAL if layout == CANONICAL else SOFT_FIELDS
        canonical = layout == CANONICAL

        dates = {}  # texte → date : un flux répète les mêmes dates (demande, ouverture…) sur des milliers de lignes

        def date_parser(value):
            if not isinstance(value, str):
                return v.parse_date(value, excel_serial=from_excel)
            parsed = dates.get(value)
            if parsed is None:
                parsed = v.parse_date(value, excel_serial=from_excel)  # ValueError : rien n'est gardé
                if len(dates) < DATE_CACHE_SIZE:
                    dates[value] = parsed
            return parsed

        def sdd_parser(value):
            return v.parse_bool(value, strict=canonical)

        ops = []
        for name, index in columns.fields.items():
            if name in _SIMPLE:
                attr, parser = _SIMPLE[name]
            elif name in _DATES:
                attr, parser = _DATES[name], date_parser
            elif name == "soumis_droits_devoirs":
                attr, parser = "sdd", sdd_parser
            else:
                continue
            ops.append((index, name, attr, parser))
        self.ops = sorted(ops, key=lambda op: op[0])
        required = CANONICAL_REQUIRED if canonical else ("nom", "prenom")
        self.required = [
            (
                name,
                columns.fields[name],
                "sdd" if name == "soumis_droits_devoirs" else _DATES.get(name) or _SIMPLE[name][0],
            )
            for name in required
            if name in columns.fields
        ]
        self.complement = columns.fields.get("complement_adresse")
        self.cp_ville = columns.fields.get("cp_ville")
        self.birth_date = columns.fields.get("date_naissance")
        self.role = columns.fields.get("role")
        self.extra_columns = [(index, columns.headers[index]) for index in columns.unrecognised]

    def _problem(self, row, name, index, detail, soft=None):
        header = self.headers[index]
        soft = name in self.soft if soft is None else soft
        number = row.row
        if soft:
            row.warnings.append(Issue(number, header, _message(number, header, f"{detail} ; valeur ignorée")))
        else:
            row.errors.append(Issue(number, header, _message(number, header, detail)))

    def build(self, number, cells):
        if self.layout == CONTACTS:
            return self._build_contact(number, cells)
        row = FluxRow(row=number)
        size = len(cells)
        for index, name, attr, parser in self.ops:
            if index >= size:
                continue
            value = cells[index]
            if value is None or value == "":
                continue
            try:
                setattr(row, attr, parser(value))
            except ValueError as exc:
                self._problem(row, name, index, str(exc))
        if row.birth_date is not None:
            try:
                v.check_birth_date(row.birth_date, self.today)
            except ValueError as exc:
                self._problem(row, "date_naissance", self.birth_date, str(exc), soft=False)
                row.birth_date = None
        if self.complement is not None and self.complement < size:
            complement = v.clean_text(cells[self.complement])
            if complement:
                row.address = f"{row.address}, {complement}" if row.address else complement
        if self.cp_ville is not None and self.cp_ville < size:
            try:
                postal_code, city = v.parse_postal_city(cells[self.cp_ville])
            except ValueError as exc:
                self._problem(row, "cp_ville", self.cp_ville, str(exc))
            else:
                row.postal_code = row.postal_code or postal_code
                row.city = row.city or city
        extra = {}
        for index, header in self.extra_columns:
            if index < size:
                text = v.clean_text(cells[index])
                if text is not None:
                    extra[header] = text
        row.extra = extra
        for name, index, attr in self.required:
            if getattr(row, attr) is None and (index >= size or v.clean_text(cells[index]) is None):
                self._problem(row, name, index, _MISSING[name], soft=False)
        row.household_stated = row.household_children is not None or row.household_dependants is not None
        if self.layout == CANONICAL:
            if row.role not in (None, "DEM", "CJT"):
                detail = f"rôle « {v.clean_text(cells[self.role])} » refusé (attendu : DEM ou CJT)"
                self._problem(row, "role", self.role, detail, soft=False)
        elif row.organism is None:
            row.organism = self.organism
        return row

    def _build_contact(self, number, cells):
        row = FluxRow(row=number)
        cols = self.columns

        def raw(name):
            index = cols.fields.get(name)
            if index is None or index >= len(cells):
                return None
            return cells[index]

        def problem(name, detail, soft=None):
            self._problem(row, name, cols.fields[name], detail, soft)

        def read(name, parser, **kwargs):
            try:
                return parser(raw(name), **kwargs)
            except ValueError as exc:
                problem(name, str(exc))
                return None

        self._contact(row, cells, raw, read, problem)
        return row

    def _contact(self, row, cells, raw, read, problem):
        cols = self.columns
        row.contact_only = True
        row.organism = self.organism
        row.matricule = v.clean_text(raw("matricule"))
        if "nir" in cols.fields:
            try:
                row.nir = v.parse_nir(raw("nir"))
            except ValueError as exc:
                problem("nir", str(exc), soft=True)
        if "role" in cols.fields:
            try:
                row.role = v.parse_role(raw("role"))
            except ValueError as exc:
                problem("role", str(exc), soft=True)
        if "civilite" in cols.fields:
            row.civility = read("civilite", v.parse_civility)
        row.rsa_number = v.clean_text(raw("numero_demande_rsa"))
        if "date_demande" in cols.fields:
            try:
                row.requested_on = v.parse_date(raw("date_demande"), excel_serial=self.from_excel)
            except ValueError as exc:
                problem("date_demande", str(exc), soft=True)
        row.extra = self._extra(cells)
        # Le responsable du dossier est le demandeur : son nom ne vaut que pour la ligne DEM.
        for name, attr in (("nom", "last_name"), ("prenom", "first_name")):
            text = v.clean_text(raw(name))
            if text is None:
                continue
            if row.role == "DEM":
                setattr(row, attr, text)
            else:
                row.extra[cols.header(name)] = text
        if "email" in cols.fields:
            row.email = read("email", v.parse_email)
        for name in ("telephone", "telephone_2"):
            if name in cols.fields and row.phone is None:
                try:
                    row.phone = v.parse_phone(raw(name))
                except ValueError as exc:
                    problem(name, str(exc), soft=True)
        if row.matricule is None and row.nir is None:
            header = cols.header("matricule")
            row.errors.append(
                Issue(row.row, header, _message(row.row, header, "matricule manquant (et pas de NIR valide)"))
            )

    def _extra(self, cells):
        extra = {}
        for index in self.columns.unrecognised:
            if index < len(cells):
                text = v.clean_text(cells[index])
                if text is not None:
                    extra[self.columns.headers[index]] = text
        return extra


# ---------------------------------------------------------------------------------------------------
# Disposition commune aux CSV et aux classeurs


def _is_blank(cells):
    for cell in cells:
        if cell is None:
            continue
        if isinstance(cell, str):
            if cell and not cell.isspace():
                return False
        elif v.clean_text(cell) is not None:
            return False
    return True


def _find_header(records, mapping):
    """Cherche la ligne d'en-tête : celle de la correspondance, sinon la première ligne reconnue parmi
    les premières lignes non vides. Renvoie (numéro, cellules, disposition, colonnes, première vue)."""
    header_row = getattr(mapping, "header_row", None) if mapping is not None else None
    first_seen = None
    scanned = 0
    for number, cells in records:
        if header_row:
            if number < header_row:
                continue
            if _is_blank(cells):
                return number, cells, None, None, cells
            layout, columns = classify(cells, mapping)
            return number, cells, layout, columns, cells
        if _is_blank(cells):
            continue
        first_seen = first_seen if first_seen is not None else cells
        layout, columns = classify(cells, mapping)
        if layout is not None:
            return number, cells, layout, columns, first_seen
        scanned += 1
        if scanned >= HEADER_SCAN_ROWS:
            break
    return None, None, None, None, first_seen


def _layout_rows(records, *, layout, columns, mapping, from_excel, on_close=None):
    """Valide les colonnes, vérifie qu'il y a au moins une ligne de données, renvoie l'itérateur de lignes."""
    _check_columns(layout, columns, mapping)
    first = None
    for number, cells in records:
        if not _is_blank(cells):
            first = (number, cells)
            break
    if first is None:
        raise FileRejected(
            "Le fichier est vide : il ne contient que la ligne d'en-tête, aucune ligne de données."
        )
    organism = (getattr(mapping, "organism", "") or "CAF").upper() if mapping is not None else "CAF"
    builder = _RowBuilder(layout, columns, organism=organism, from_excel=from_excel, today=date.today())

    def rows():
        try:
            for number, cells in chain([first], records):
                if not _is_blank(cells):
                    yield builder.build(number, cells)
        finally:
            if on_close is not None:
                on_close()

    return rows()


def _meta(layout, columns, header_number, **extra):
    meta = {
        "layout": layout,
        "columns": columns.used(),
        "unrecognised_columns": [columns.headers[i] for i in columns.unrecognised],
        "header_row": header_number,
    }
    if columns.mapping_missing:
        meta["mapping_missing_columns"] = dict(columns.mapping_missing)
    meta.update(extra)
    return meta


_LAYOUT_LABELS = {
    CANONICAL: "Fichier canonique",
    SPREADSHEET: "Tableur de bénéficiaires",
    CONTACTS: "Fichier de contacts CNAF",
}


def _description(layout, columns, where):
    recognised = len(columns.fields)
    return (
        f"{_LAYOUT_LABELS[layout]} ({where}) : {plural(len(columns.headers), 'colonne')}, "
        f"dont {plural(recognised, 'reconnue')}"
    )


# ---------------------------------------------------------------------------------------------------
# CSV

ENCODING_REJECTED = (
    "Fichier illisible : encodage non reconnu (attendu : texte UTF-8 ou Windows-1252). "
    "Enregistrez le fichier au format « CSV UTF-8 »."
)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")


@dataclass
class TextEncoding:
    codec: str
    label: str
    lines: int  # nombre de lignes physiques (majorant du nombre d'enregistrements)


def _scan(path, codec, *, byte_check):
    """Décode tout le fichier par blocs ; renvoie le nombre de lignes, ou None si le décodage échoue.
    Un caractère de contrôle (octet nul…) trahit un fichier binaire ou UTF-16 sans BOM : refus."""
    decoder = codecs.getincrementaldecoder(codec)()
    lines, last = 0, ""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                return None
            if byte_check:
                if _CONTROL_BYTES.search(chunk):
                    raise FileRejected(ENCODING_REJECTED)
                lines += chunk.count(b"\n")
            else:
                if _CONTROL_TEXT.search(text):
                    raise FileRejected(ENCODING_REJECTED)
                lines += text.count("\n")
            if text:
                last = text[-1]
            if not chunk:
                break
    if last and last != "\n":
        lines += 1
    return lines


def detect_encoding(path):
    """UTF-8 (avec ou sans BOM), UTF-16 avec BOM, sinon Windows-1252 si les octets ne sont pas de l'UTF-8.

    Lève FileRejected (« encodage non reconnu ») pour un fichier binaire ou UTF-16 sans BOM."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "UTF-8 avec BOM", True)]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = [("utf-16", "UTF-16", False)]
    else:
        candidates = [("utf-8", "UTF-8", True), ("cp1252", "Windows-1252", True)]
    for codec, label, byte_check in candidates:
        lines = _scan(path, codec, byte_check=byte_check)
        if lines is not None:
            return TextEncoding(codec, label, lines)
    raise FileRejected(ENCODING_REJECTED)


_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)
_DELIMITERS = (";", ",", "\t")


def sniff_delimiter(sample_lines, header_index=0):
    """Choisit le séparateur qui découpe la ligne d'en-tête en le plus de colonnes (`;`, `,` ou tabulation)."""
    line = sample_lines[header_index] if header_index < len(sample_lines) else ""
    best, best_count = ";", 1
    for delimiter in _DELIMITERS:
        try:
            count = len(next(csv.reader([line], delimiter=delimiter), []))
        except csv.Error:
            continue
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _csv_records(path, encoding, delimiter, skip_first):
    with open(path, encoding=encoding.codec, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        number = 0
        try:
            for cells in reader:
                if skip_first:
                    skip_first = False
                    continue
                number += 1
                yield number, cells
        except csv.Error as exc:
            raise FileRejected(f"Fichier CSV illisible vers la ligne {reader.line_num} : {exc}.") from None


_DELIMITER_LABELS = {";": "« ; »", ",": "« , »", "\t": "tabulation"}


def read_csv(path, mapping=None):
    """Lit un CSV (fichier canonique, tableur ou fichier de contacts CNAF) ; ``ParsedFile`` en flux."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding.codec, newline="") as handle:
        sample = list(islice(handle, 50))
    lines = [line.rstrip("\r\n") for line in sample]
    skip_first = bool(lines) and bool(_SEP_LINE.match(lines[0]))
    if skip_first:
        delimiter = _SEP_LINE.match(lines[0]).group(1)
        lines = lines[1:]
    else:
        header_row = getattr(mapping, "header_row", None) if mapping is not None else None
        non_blank = [i for i, line in enumerate(lines) if line.strip()]
        if not non_blank:
            raise FileRejected("Le fichier est vide.")
        header_index = header_row - 1 if header_row and header_row - 1 < len(lines) else non_blank[0]
        delimiter = sniff_delimiter(lines, header_index)
    records = _csv_records(path, encoding, delimiter, skip_first)
    number, header, layout, columns, first_seen = _find_header(records, mapping)
    if first_seen is None and header is None:
        records.close()
        raise FileRejected("Le fichier est vide.")
    if layout is None:
        records.close()
        raise _unrecognised(header if header is not None else first_seen, columns, mapping)
    try:
        rows = _layout_rows(
            records, layout=layout, columns=columns, mapping=mapping, from_excel=False, on_close=records.close
        )
    except FileRejected:
        records.close()
        raise
    where = f"CSV, séparateur {_DELIMITER_LABELS.get(delimiter, delimiter)}, {encoding.label}"
    return ParsedFile(
        format=layout,
        rows=rows,
        description=_description(layout, columns, where),
        meta=_meta(
            layout,
            columns,
            number,
            container="csv",
            encoding=encoding.label,
            delimiter=delimiter,
            rows_total=max(encoding.lines - number - int(skip_first), 0),
            mapping=getattr(mapping, "name", None),
        ),
    )


# ---------------------------------------------------------------------------------------------------
# XLSX


def _check_zip_bomb(path, name=None):
    """Refuse, avant toute ouverture, un classeur démesuré : « bombe zip » ou onglet déclarant trop de
    lignes ou de cellules (``parcours.core.xlsx.check_workbook``)."""
    xlsx.check_workbook(path, name=name, error=FileRejected)


def open_workbook(path, name=None):
    """Ouvre le classeur en lecture seule. openpyxl refuse un chemin sans extension .xlsx : on lui passe
    le fichier ouvert (le format est reconnu par le contenu, pas par l'extension). Les onglets sont bornés
    en lignes et en temps de lecture (``parcours.core.xlsx``) : un dépassement lève ``FileRejected``."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    name = name or _display_name(path)
    _check_zip_bomb(path, name)
    handle = open(path, "rb")  # noqa: SIM115 - fermé par _close_workbook
    try:
        wb = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        handle.close()
        raise FileRejected(
            "Classeur illisible : ce n'est pas un classeur Excel .xlsx valide "
            f"({exc.__class__.__name__}). Un fichier .xls ou .ods doit être enregistré au format .xlsx."
        ) from None
    except BaseException:
        handle.close()
        raise

    xlsx.guard_workbook(wb, name=name, error=FileRejected)

    def close():
        wb.close()
        handle.close()

    return wb, close


def _display_name(path):
    # Fichier déposé conservé sous « <uuid>-<nom d'origine> » : le nom d'origine pour l'agent.
    stem = Path(path).name
    prefix, _, rest = stem.partition("-")
    return rest if rest and len(prefix) == 32 and all(c in "0123456789abcdef" for c in prefix) else stem


def _sheet_records(ws, min_row=1):
    yield from enumerate(ws.iter_rows(min_row=min_row, values_only=True), start=min_row)


def read_xlsx(path, mapping=None):
    """Lit un classeur XLSX (openpyxl en lecture seule) : premier onglet dont l'en-tête est reconnu, ou
    l'onglet de la correspondance ; ``ParsedFile`` en flux."""
    wb, close = open_workbook(path)
    try:
        sheet_name = (getattr(mapping, "sheet_name", "") or "") if mapping is not None else ""
        if sheet_name:
            by_name = {ws.title.strip().lower(): ws for ws in wb.worksheets}
            ws = by_name.get(sheet_name.strip().lower())
            if ws is None:
                names = ", ".join(f"« {ws.title} »" for ws in wb.worksheets)
                raise FileRejected(f"Onglet « {sheet_name} » absent du classeur. Onglets présents : {names}.")
            sheets = [ws]
        else:
            sheets = list(wb.worksheets)
        if not sheets:
            raise FileRejected("Le classeur ne contient aucun onglet de données.")
        chosen = None
        first_headers = first_columns = None
        for ws in sheets:
            number, header, layout, columns, first_seen = _find_header(_sheet_records(ws), mapping)
            if first_headers is None:
                first_headers = header if header is not None else first_seen
                first_columns = columns
            if layout is not None:
                chosen = (ws, number, layout, columns)
                break
        if chosen is None:
            if first_headers is None:
                raise FileRejected("Le fichier est vide : le classeur ne contient aucune ligne.")
            where = f" (onglet « {sheets[0].title} »)" if len(sheets) == 1 else " (aucun onglet reconnu)"
            raise _unrecognised(first_headers, first_columns, mapping, where)
        ws, number, layout, columns = chosen
        records = _sheet_records(ws, min_row=number + 1)
        rows = _layout_rows(
            records, layout=layout, columns=columns, mapping=mapping, from_excel=True, on_close=close
        )
    except BaseException:
        close()
        raise
    max_row = ws.max_row
    return ParsedFile(
        format=layout,
        rows=rows,
        description=_description(layout, columns, f"XLSX, onglet « {ws.title} »"),
        meta=_meta(
            layout,
            columns,
            number,
            container="xlsx",
            sheet=ws.title,
            rows_total=max(max_row - number, 0) if max_row else None,
            mapping=getattr(mapping, "name", None),
        ),
    )
