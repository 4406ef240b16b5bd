"""Import du fichier des organisations et de leurs agents : l'arrivée d'un Département dans Parcours, ou
sa mise à jour annuelle.

Une seule fonction métier, ``import_organisations``, appelée par la commande
``parcours import-organisations`` et par la page « Importer les organisations » des administrateurs d'un
Département. Le fichier est le CSV canonique de CONTRACTS.md (UTF-8 avec ou sans BOM, séparateur « ; »,
une ligne par agent, ou par organisation sans agent) ; les règles, détaillées dans
``docs/import-organisations.md`` :

- **idempotent** : une organisation est reconnue par son SIRET ou son code dans son Département (un
  Département par son numéro), un agent par son adresse électronique (sans tenir compte de la casse) ;
  réimporter le même fichier ne change rien et le rapport dit tout « inchangé » ;
- **ne supprime jamais** : ni organisation, ni agent, ni appartenance, ni valeur (une cellule vide ne
  vide pas un champ enregistré) ; une appartenance désactivée n'est pas réactivée ;
- **tout ou rien** : toutes les lignes sont vérifiées avant d'écrire ; une seule erreur et rien n'est
  écrit (une transaction) ;
- un agent créé par l'import n'a **pas de mot de passe utilisable** : il se connecte la première fois
  par ProConnect (même adresse électronique) ou en définissant son mot de passe ;
- le nom d'un agent déjà connu n'est pas remplacé (ProConnect le met à jour à chaque connexion) : il
  n'est renseigné que s'il était vide ;
- un territoire nommé dans le fichier et inconnu du Département est **créé** (sans communes), avec un
  avertissement.

Le rapport a la forme de celui d'``import-flux`` : ``created``, ``updated``, ``unchanged`` (organisations
et agents), ``errors`` et ``warnings`` (ligne du fichier, l'en-tête étant la ligne 1, champ, message en
français), plus le détail par nature (organisations, agents, appartenances, territoires).
"""

import csv
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.db.models.functions import Lower

from parcours.core.text import plural

from .models import Membership, Organisation, OrganisationKind, Role, Territory, User
from .siret import normalize_siret, siret_problem

logger = logging.getLogger(__name__)

COLUMNS = (
    "structure",
    "type",
    "siret",
    "code",
    "departement",
    "agent_email",
    "agent_nom",
    "agent_prenom",
    "role",
    "territoire",
)
REQUIRED_COLUMNS = ("structure", "type")
# Variantes d'en-tête rencontrées dans les tableurs (après normalisation : minuscules, sans accents).
COLUMN_ALIASES = {
    "agent_e_mail": "agent_email",
    "agent_courriel": "agent_email",
    "agent_mail": "agent_email",
    "departement_code": "departement",
    "territory": "territoire",
}
DEPARTEMENT_CODE = re.compile(r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])")
PARTNER_CODE_MAX = Organisation._meta.get_field("code").max_length
NAME_MAX = Organisation._meta.get_field("name").max_length
PERSON_NAME_MAX = User._meta.get_field("last_name").max_length
TERRITORY_CODE_MAX = Territory._meta.get_field("code").max_length
TERRITORY_NAME_MAX = Territory._meta.get_field("name").max_length
EMAIL_MAX = User._meta.get_field("email").max_length

STATUSES = ("created", "updated", "unchanged")
OBJECT_LABELS = {
    "organisation": "Organisation",
    "agent": "Agent",
    "membership": "Appartenance",
    "territory": "Territoire",
}
STATUS_LABELS = {"created": "créé", "updated": "mis à jour", "unchanged": "inchangé"}


class OnboardingError(Exception):
    """Fichier introuvable ou illisible avant toute vérification de ses lignes (message en français)."""


# --------------------------------------------------------------------------------------------------
# Rapport


def _counter():
    return dict.fromkeys(STATUSES, 0)


@dataclass
class OnboardingReport:
    rows: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    organisations: dict = field(default_factory=_counter)
    agents: dict = field(default_factory=_counter)
    memberships: dict = field(default_factory=_counter)
    territories_created: int = 0
    changes: list = field(default_factory=list)  # ce qui a été créé ou modifié, pour la page et le JSON
    rejected: bool = False
    message: str = ""

    @property
    def created(self):
        return self.organisations["created"] + self.agents["created"]

    @property
    def updated(self):
        return self.organisations["updated"] + self.agents["updated"]

    @property
    def unchanged(self):
        return self.organisations["unchanged"] + self.agents["unchanged"]

    def error(self, row, field_name, message):
        self.errors.append({"row": row, "field": field_name, "message": message})

    def warning(self, row, field_name, message):
        self.warnings.append({"row": row, "field": field_name, "message": message})

    def as_json(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
            "organisations": dict(self.organisations),
            "agents": dict(self.agents),
            "memberships": dict(self.memberships),
            "territories": {"created": self.territories_created},
            "changes": self.changes,
            "rows": self.rows,
            "rejected": self.rejected,
            "message": self.message,
        }

    def reject(self, message=None):
        self.rejected = True
        for counter in (self.organisations, self.agents, self.memberships):
            counter.update(_counter())
        self.territories_created = 0
        self.changes = []
        count = len(self.errors)
        self.message = message or (
            f"Fichier refusé : {count} erreur{'s' if count > 1 else ''}. Rien n'a été écrit ; corrigez les "
            "lignes signalées puis importez à nouveau le fichier."
        )


def _counts(counter, feminine):
    """« 2 créées, 1 mise à jour, 0 inchangée » (accord en genre et en nombre)."""
    e = "e" if feminine else ""

    def count(value, word):
        return f"{value} {word}{'s' if value > 1 else ''}"

    updated = counter["updated"]
    return ", ".join(
        (
            count(counter["created"], f"créé{e}"),
            f"{updated} mis{e}{'s' if feminine and updated > 1 else ''} à jour",
            count(counter["unchanged"], f"inchangé{e}"),
        )
    )


def _summary(report):
    """Résumé en français, une phrase par nature d'objet."""
    lines = "ligne lue" if report.rows <= 1 else "lignes lues"
    text = (
        f"{report.rows} {lines}. Organisations : {_counts(report.organisations, True)}. "
        f"Agents : {_counts(report.agents, False)}. Appartenances : {_counts(report.memberships, True)}."
    )
    if report.territories_created:
        count = report.territories_created
        text += f" {count} territoire{'s' if count > 1 else ''} créé{'s' if count > 1 else ''}."
    return text


# --------------------------------------------------------------------------------------------------
# Lecture du fichier


def _fold(text):
    """Forme comparable : sans accents, minuscules, ponctuation et espaces réduits à une espace."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _slug(text):
    return _fold(text).replace(" ", "_")


def _clean(value):
    """Cellule nettoyée : espaces (y compris insécables) aux bords retirés, espaces internes réduits."""
    return " ".join((value or "").replace("\u00a0", " ").replace("\u202f", " ").split())


def normalize_departement_code(value):
    """Numéro de Département normalisé (« 5 » → « 05 », « 2a » → « 2A »), ou ``None`` s'il est invalide."""
    value = _clean(value).upper()
    if value.isdigit() and len(value) == 1:
        value = f"0{value}"
    return value if DEPARTEMENT_CODE.fullmatch(value) else None


def _read_bytes(source):
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise OnboardingError(f"Fichier introuvable : {path}")
        return path.read_bytes()
    if hasattr(source, "chunks"):
        return b"".join(source.chunks())
    return source.read()


def _decode(data, report):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(
            line,
            None,
            "Le fichier n'est pas encodé en UTF-8 (premier caractère illisible sur cette ligne) : "
            "enregistrez-le au format « CSV UTF-8 (délimité par des points-virgules) ».",
        )
        return None


@dataclass
class _Row:
    number: int
    structure: str = ""
    kind: str = ""
    siret: str = ""
    code: str = ""
    departement: str = ""  # numéro du Département dont relève l'organisation (le sien pour un Département)
    email: str = ""
    last_name: str = ""
    first_name: str = ""
    role: str = ""
    territory: str = ""
    valid: bool = True

    @property
    def is_departement(self):
        return self.kind == OrganisationKind.DEPARTEMENT


def _choices_by_slug(choices):
    mapping = {}
    for value, label in choices:
        mapping[_slug(value)] = value
        mapping[_slug(label)] = value
    return mapping


KINDS = _choices_by_slug(OrganisationKind.choices) | {
    "ft": OrganisationKind.FRANCE_TRAVAIL,
    "cd": "departement",
}
ROLES = _choices_by_slug(Role.choices)


def _read_rows(text, report):
    """Lit l'en-tête et les lignes ; renvoie les lignes brutes (dictionnaires) ou ``None`` (fichier refusé)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = next(reader)
    except StopIteration:
        report.error(None, None, "Le fichier est vide.")
        return None
    except csv.Error as exc:
        report.error(1, None, f"En-tête illisible : {exc}.")
        return None
    if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
        report.error(1, None, "Le séparateur de colonnes doit être le point-virgule « ; ».")
        return None
    columns = []
    for index, raw in enumerate(header):
        name = _slug(raw)
        name = COLUMN_ALIASES.get(name, name)
        if name in COLUMNS:
            if name in columns:
                report.error(1, name, f"Colonne « {name} » en double.")
            columns.append(name)
        else:
            columns.append(None)
            if _clean(raw):
                report.warning(1, _clean(raw), f"Colonne « {_clean(raw)} » inconnue : ignorée.")
            elif index < len(header) - 1:
                report.warning(1, None, f"Colonne n° {index + 1} sans en-tête : ignorée.")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            report.error(1, name, f"Colonne obligatoire « {name} » absente.")
    if "siret" not in columns and "code" not in columns:
        report.error(1, "siret", "Il faut une colonne « siret » ou une colonne « code » (ou les deux).")
    if report.errors:
        return None
    rows = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(_clean(cell) for cell in cells):
                continue  # ligne vide
            values = {name: _clean(cell) for name, cell in zip(columns, cells, strict=False) if name}
            extra = [cell for cell in cells[len(columns) :] if _clean(cell)]
            if extra:
                report.error(
                    start,
                    None,
                    f"La ligne a {plural(len(cells), 'colonne')} pour {plural(len(columns), 'en-tête')} : "
                    "point-virgule en trop ?",
                )
            rows.append((start, values))
    except csv.Error as exc:
        report.error(reader.line_num, None, f"Ligne illisible : {exc} (guillemet non fermé ?).")
        return None
    if not rows:
        report.error(None, None, "Le fichier ne contient aucune ligne après l'en-tête.")
        return None
    return rows


def _parse_row(number, values, report):
    """Contrôles propres à une ligne (valeurs, champs obligatoires) ; la ligne est marquée invalide si
    l'un échoue, pour ne pas multiplier les erreurs qui en découlent."""
    row = _Row(number)
    errors_before = len(report.errors)

    def error(field_name, message):
        report.error(number, field_name, message)

    row.structure = values.get("structure", "")
    if not row.structure:
        error("structure", "Nom de la structure manquant.")
    elif len(row.structure) > NAME_MAX:
        error("structure", f"Nom trop long ({len(row.structure)} caractères, {NAME_MAX} au plus).")

    kind_value = values.get("type", "")
    if not kind_value:
        error("type", "Type d'organisation manquant.")
    else:
        row.kind = KINDS.get(_slug(kind_value), "")
        if not row.kind:
            error(
                "type",
                f"Type « {kind_value} » inconnu : attendu {', '.join(OrganisationKind.values)}.",
            )

    raw_siret = values.get("siret", "")
    if raw_siret:
        row.siret = normalize_siret(raw_siret)
        problem = siret_problem(row.siret)
        if problem:
            error("siret", problem)
    row.code = values.get("code", "")
    if len(row.code) > PARTNER_CODE_MAX:
        error("code", f"Code trop long ({len(row.code)} caractères, {PARTNER_CODE_MAX} au plus).")

    raw_departement = values.get("departement", "")
    if raw_departement:
        row.departement = normalize_departement_code(raw_departement) or ""
        if not row.departement:
            error(
                "departement",
                f"Numéro de Département « {raw_departement} » invalide (exemples : 35, 05, 2A, 974).",
            )
    if row.is_departement:
        # Le code d'un Département est son numéro ; la colonne « departement » peut le donner à sa place.
        code = normalize_departement_code(row.code) if row.code else None
        if row.code and code is None:
            error(
                "code",
                f"Le code d'un Département est son numéro (exemples : 35, 2A, 974), pas « {row.code} ».",
            )
        elif code and row.departement and row.departement != code:
            error(
                "departement",
                f"Le Département {code} ne peut pas être rattaché au Département {row.departement} : laissez "
                "la colonne vide ou indiquez son propre numéro.",
            )
        elif not row.code and not raw_departement:
            error("code", "Numéro du Département manquant (colonne « code », par exemple 35).")
        row.code = row.departement = code or row.departement
    elif row.kind and not raw_siret and not row.code:
        error("siret", "SIRET ou code de l'organisation manquant (l'un des deux est obligatoire).")

    row.email = values.get("agent_email", "").lower()
    row.last_name = values.get("agent_nom", "")
    row.first_name = values.get("agent_prenom", "")
    role_value = values.get("role", "")
    if row.email:
        try:
            validate_email(row.email)
            if len(row.email) > EMAIL_MAX:
                raise ValidationError("trop longue")
        except ValidationError:
            error("agent_email", f"Adresse électronique « {values.get('agent_email')} » invalide.")
        if not role_value:
            error("role", f"Rôle de l'agent manquant : attendu {', '.join(Role.values)}.")
    elif row.last_name or row.first_name or role_value:
        error(
            "agent_email", "Adresse électronique de l'agent manquante (nom, prénom ou rôle donnés sans elle)."
        )
    if role_value:
        row.role = ROLES.get(_slug(role_value), "")
        if not row.role:
            error("role", f"Rôle « {role_value} » inconnu : attendu {', '.join(Role.values)}.")
    for name, value in (("agent_nom", row.last_name), ("agent_prenom", row.first_name)):
        if len(value) > PERSON_NAME_MAX:
            error(name, f"Valeur trop longue ({len(value)} caractères, {PERSON_NAME_MAX} au plus).")
    row.territory = values.get("territoire", "")
    if len(row.territory) > TERRITORY_NAME_MAX or (row.territory and not _fold(row.territory)):
        error("territoire", f"Territoire « {row.territory[:50]} » illisible : donnez son code ou son nom.")
    row.valid = len(report.errors) == errors_before
    return row


# --------------------------------------------------------------------------------------------------
# Plan : ce que le fichier demande, vérifié contre la base avant toute écriture


@dataclass
class _Organisation:
    key: tuple
    row: int  # première ligne qui la nomme
    kind: str
    name: str
    departement_code: str
    siret: str = ""
    code: str = ""
    territory: str = ""  # territoire de l'organisation (partenaires)
    territory_row: int = 0
    instance: Organisation | None = None
    adopted_by_name: bool = False

    @property
    def is_departement(self):
        return self.kind == OrganisationKind.DEPARTEMENT

    def label(self):
        if self.is_departement:
            return f"Département {self.departement_code}"
        return f"SIRET {self.siret}" if self.siret else f"code {self.code}"


@dataclass
class _Agent:
    email: str
    row: int
    last_name: str = ""
    first_name: str = ""
    last_name_row: int = 0
    first_name_row: int = 0
    instance: User | None = None


@dataclass
class _Membership:
    email: str
    organisation: _Organisation
    row: int
    role: str
    territory: str = ""  # limite de l'agent d'un Département
    territory_row: int = 0


class _Planner:
    def __init__(self, report, *, default_code, scope, actor):
        self.report = report
        self.default_code = default_code
        self.scope = scope
        self.actor = actor
        self.organisations = {}  # clé -> _Organisation
        self.agents = {}  # e-mail -> _Agent
        self.memberships = {}  # (e-mail, clé) -> _Membership
        self.territories = {}  # (code du Département, forme comparable) -> Territory existant ou None
        self.territory_values = {}  # (code du Département, forme comparable) -> (valeur, première ligne)
        self.departements = {}  # numéro -> Organisation (Départements de la base)

    def error(self, row, field_name, message):
        self.report.error(row, field_name, message)

    # -- 1. Lignes → organisations, agents, appartenances (cohérence interne du fichier)

    def collect(self, rows):
        self.departements = {
            d.departement_code: d for d in Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        }
        declared = {row.code for row in rows if row.valid and row.is_departement}
        for row in rows:
            if row.valid and not row.is_departement and not row.departement:
                row.departement = self.default_code or ""
                if not row.departement:
                    self.error(
                        row.number,
                        "departement",
                        "Département manquant : colonne « departement » (son numéro) ou option --departement.",
                    )
                    row.valid = False
            if not row.valid:
                continue
            if self.scope is not None and row.departement != self.scope.departement_code:
                field_name = "code" if row.is_departement else "departement"
                self.error(
                    row.number,
                    field_name,
                    f"Cette ligne concerne le Département {row.departement} : vous ne pouvez importer que les "
                    f"organisations du Département {self.scope.departement_code}.",
                )
                row.valid = False
            elif row.departement not in self.departements and row.departement not in declared:
                self.error(
                    row.number,
                    "departement",
                    f"Département {row.departement} inconnu : ajoutez sa ligne (type departement, code "
                    f"{row.departement}) au fichier, avant ou après celle-ci.",
                )
                row.valid = False
        valid = [row for row in rows if row.valid]
        aliases = self._aliases(valid)
        for row in valid:
            organisation = self._organisation(row, aliases)
            if organisation is None:
                continue
            if row.territory:
                self._territory_value(row, organisation)
            if row.email:
                self._agent(row, organisation)

    def _aliases(self, rows):
        """Code → SIRET quand une ligne donne les deux : les lignes qui n'en donnent qu'un s'y rattachent."""
        by_code, by_siret = {}, {}
        for row in rows:
            if row.is_departement or not (row.siret and row.code):
                continue
            code_key, siret_key = (row.departement, row.code), (row.departement, row.siret)
            known_siret = by_code.get(code_key)
            known_code = by_siret.get(siret_key)
            if known_siret and known_siret[0] != row.siret:
                self.error(
                    row.number,
                    "code",
                    f"Le code « {row.code} » désigne déjà l'organisation de SIRET {known_siret[0]} (ligne "
                    f"{known_siret[1]}).",
                )
                row.valid = False
            elif known_code and known_code[0] != row.code:
                self.error(
                    row.number,
                    "code",
                    f"Le SIRET {row.siret} a déjà le code « {known_code[0]} » (ligne {known_code[1]}).",
                )
                row.valid = False
            else:
                by_code.setdefault(code_key, (row.siret, row.number))
                by_siret.setdefault(siret_key, (row.code, row.number))
        return {key: siret for key, (siret, _) in by_code.items()}

    def _organisation(self, row, aliases):
        if not row.valid:
            return None
        if row.is_departement:
            key = ("departement", row.code)
        elif row.siret:
            key = ("siret", row.departement, row.siret)
        elif (row.departement, row.code) in aliases:
            key = ("siret", row.departement, aliases[(row.departement, row.code)])
        else:
            key = ("code", row.departement, row.code)
        organisation = self.organisations.get(key)
        if organisation is None:
            organisation = _Organisation(
                key=key,
                row=row.number,
                kind=row.kind,
                name=row.structure,
                departement_code=row.departement,
                siret=row.siret or (key[2] if key[0] == "siret" else ""),
                code="" if row.is_departement else row.code,
            )
            self.organisations[key] = organisation
            return organisation
        where = f"(ligne {organisation.row})"
        problems = []
        if _fold(row.structure) != _fold(organisation.name):
            problems.append(
                (
                    "structure",
                    f"Nom « {row.structure} » différent de « {organisation.name} » {where} pour la même organisation.",
                )
            )
        if row.kind != organisation.kind:
            problems.append(
                ("type", f"Type différent de celui de la ligne {organisation.row} pour la même organisation.")
            )
        if row.siret and organisation.siret and row.siret != organisation.siret:
            problems.append(
                (
                    "siret",
                    f"SIRET différent de celui de la ligne {organisation.row} pour le même Département.",
                )
            )
        if row.code and not row.is_departement and organisation.code and row.code != organisation.code:
            problems.append(
                (
                    "code",
                    f"Code différent de celui de la ligne {organisation.row} pour la même organisation.",
                )
            )
        for field_name, message in problems:
            self.error(row.number, field_name, message)
        if problems:
            return None
        organisation.siret = organisation.siret or row.siret
        if not row.is_departement:
            organisation.code = organisation.code or row.code
        return organisation

    def _territory_value(self, row, organisation):
        folded = (organisation.departement_code, _fold(row.territory))
        self.territory_values.setdefault(folded, (row.territory, row.number))
        if organisation.is_departement:
            return  # limite de l'agent (appartenance) ou simple déclaration du territoire
        if organisation.territory and _fold(organisation.territory) != folded[1]:
            self.error(
                row.number,
                "territoire",
                f"Territoire « {row.territory} » différent de « {organisation.territory} » (ligne "
                f"{organisation.territory_row}) pour la même organisation : une organisation partenaire sert "
                "un seul territoire.",
            )
            return
        organisation.territory = organisation.territory or row.territory
        organisation.territory_row = organisation.territory_row or row.number

    def _agent(self, row, organisation):
        agent = self.agents.get(row.email)
        if agent is None:
            agent = self.agents[row.email] = _Agent(row.email, row.number)
        for attr, column in (("last_name", "agent_nom"), ("first_name", "agent_prenom")):
            value = getattr(row, attr)
            if not value:
                continue
            known = getattr(agent, attr)
            if known and _fold(known) != _fold(value):
                self.error(
                    row.number,
                    column,
                    f"L'adresse {row.email} porte déjà un autre nom ligne {getattr(agent, attr + '_row')} "
                    f"(« {known} ») : une adresse électronique désigne une seule personne.",
                )
            elif not known:
                setattr(agent, attr, value)
                setattr(agent, attr + "_row", row.number)
        key = (row.email, organisation.key)
        membership = self.memberships.get(key)
        territory = row.territory if organisation.is_departement else ""
        if membership is None:
            self.memberships[key] = _Membership(
                row.email, organisation, row.number, row.role, territory, row.number if territory else 0
            )
            return
        if membership.role != row.role:
            self.error(
                row.number,
                "role",
                f"Rôle « {row.role} » différent de « {membership.role} » (ligne {membership.row}) pour le même "
                "agent dans la même organisation : un agent a un seul rôle par organisation.",
            )
        elif territory and membership.territory and _fold(territory) != _fold(membership.territory):
            self.error(
                row.number,
                "territoire",
                f"Territoire différent de celui de la ligne {membership.territory_row} pour le même agent du "
                "Département.",
            )
        elif territory and not membership.territory:
            membership.territory, membership.territory_row = territory, row.number

    # -- 2. Rapprochement avec la base (lectures groupées, aucune écriture)

    def resolve(self):
        self._resolve_departements()
        self._resolve_partners()
        self._resolve_territories()
        self._resolve_agents()

    def _resolve_departements(self):
        for organisation in self.organisations.values():
            if organisation.is_departement:
                organisation.instance = self.departements.get(organisation.departement_code)

    def _resolve_partners(self):
        partners = [o for o in self.organisations.values() if not o.is_departement]
        departement_ids = {
            self.departements[o.departement_code].pk
            for o in partners
            if o.departement_code in self.departements
        }
        existing = list(
            Organisation.objects.filter(departement_id__in=departement_ids).exclude(
                kind=OrganisationKind.DEPARTEMENT
            )
        )
        by_siret, by_code, by_name = {}, {}, {}
        for instance in existing:
            if instance.siret:
                by_siret.setdefault((instance.departement_id, instance.siret), []).append(instance)
            if instance.code:
                by_code[(instance.departement_id, instance.code)] = instance
            if not instance.siret and not instance.code:
                by_name.setdefault((instance.departement_id, instance.kind, _fold(instance.name)), []).append(
                    instance
                )
        claimed = {}
        for organisation in partners:
            departement = self.departements.get(organisation.departement_code)
            if departement is None:
                continue  # Département créé par ce fichier : toutes ses organisations sont nouvelles
            matches = by_siret.get((departement.pk, organisation.siret), []) if organisation.siret else []
            if len(matches) > 1:
                self.error(
                    organisation.row,
                    "siret",
                    f"Plusieurs organisations du Département {organisation.departement_code} ont déjà le SIRET "
                    f"{organisation.siret} ({', '.join(m.name for m in matches)}) : corrigez-les dans "
                    "l'administration avant d'importer.",
                )
                continue
            instance = matches[0] if matches else None
            by_this_code = by_code.get((departement.pk, organisation.code)) if organisation.code else None
            if instance and by_this_code and by_this_code.pk != instance.pk:
                self.error(
                    organisation.row,
                    "code",
                    f"Le SIRET {organisation.siret} désigne « {instance.name} » mais le code « {organisation.code} » "
                    f"désigne « {by_this_code.name} » : corrigez le fichier ou l'administration.",
                )
                continue
            instance = instance or by_this_code
            if instance is None:
                candidates = [
                    c
                    for c in by_name.get((departement.pk, organisation.kind, _fold(organisation.name)), [])
                    if c.pk not in claimed
                ]
                if len(candidates) == 1:
                    instance = candidates[0]
                    organisation.adopted_by_name = True
            if instance is None:
                continue
            if instance.pk in claimed:
                self.error(
                    organisation.row,
                    "siret" if organisation.siret else "code",
                    f"Cette ligne et la ligne {claimed[instance.pk]} désignent la même organisation enregistrée "
                    f"(« {instance.name} ») par des identifiants différents.",
                )
                continue
            claimed[instance.pk] = organisation.row
            organisation.instance = instance

    def _resolve_territories(self):
        codes = {code for code, _ in self.territory_values}
        departement_ids = [d.pk for code, d in self.departements.items() if code in codes]
        existing = {}
        for territory in Territory.objects.filter(departement_id__in=departement_ids).select_related(
            "departement"
        ):
            existing.setdefault(territory.departement.departement_code, []).append(territory)
        for key, (value, row) in self.territory_values.items():
            code, folded = key
            candidates = existing.get(code, [])
            found = [t for t in candidates if t.code.casefold() == value.casefold()]
            if not found:
                found = [t for t in candidates if folded in (_fold(t.name), _fold(t.code))]
            if len(found) > 1:
                self.error(
                    row,
                    "territoire",
                    f"Plusieurs territoires du Département {code} correspondent à « {value} » : donnez son code "
                    f"({', '.join(t.code for t in found)}).",
                )
            self.territories[key] = found[0] if found else None

    def _resolve_agents(self):
        emails = list(self.agents)
        users = {}
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails):
            users[user.email_lower] = user
        person_accounts = set(
            User.objects.filter(
                pk__in=[u.pk for u in users.values()], person_account__isnull=False
            ).values_list("pk", flat=True)
        )
        for email, agent in self.agents.items():
            user = users.get(email)
            if user is not None and user.pk in person_accounts:
                self.error(
                    agent.row,
                    "agent_email",
                    f"L'adresse {email} est celle de l'espace personnel d'une personne accompagnée : un agent "
                    "doit avoir sa propre adresse professionnelle.",
                )
                continue
            agent.instance = user
        organisation_ids = [
            m.organisation.instance.pk for m in self.memberships.values() if m.organisation.instance
        ]
        user_ids = [a.instance.pk for a in self.agents.values() if a.instance]
        self.existing_memberships = {
            (m.user_id, m.organisation_id): m
            for m in Membership.objects.filter(
                user_id__in=user_ids, organisation_id__in=organisation_ids
            ).select_related("territory")
        }
        if self.actor is None or self.scope is None:
            return
        for membership in self.memberships.values():
            agent = self.agents[membership.email]
            org = membership.organisation.instance
            if agent.instance is None or org is None or agent.instance.pk != self.actor.pk:
                continue
            current = self.existing_memberships.get((agent.instance.pk, org.pk))
            if (
                current
                and current.role == Role.ADMIN
                and membership.role != Role.ADMIN
                and org.pk == self.scope.pk
            ):
                self.error(
                    membership.row,
                    "role",
                    "Vous ne pouvez pas retirer votre propre rôle d'administrateur du Département par un import.",
                )

    # -- 3. Écriture (dans la transaction de l'appelant)

    def apply(self, progress=None):
        report = self.report
        total = (
            len(self.organisations) + len(self.territory_values) + len(self.agents) + len(self.memberships)
        )
        done = 0

        def step():
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        def change(kind, row, name, status, detail=""):
            report.changes.append(
                {"row": row, "object": kind, "name": name, "status": status, "detail": detail}
            )

        departements = dict(self.departements)
        ordered = sorted(self.organisations.values(), key=lambda o: (not o.is_departement, o.row))
        for organisation in ordered:
            if organisation.is_departement:
                status, fields = self._save_departement(organisation)
                departements[organisation.departement_code] = organisation.instance
                report.organisations[status] += 1
                if status != "unchanged":
                    change("organisation", organisation.row, organisation.name, status, fields)
                step()
        for key, (value, row) in self.territory_values.items():
            if self.territories.get(key) is None:
                code, _ = key
                departement = departements[code]
                territory = Territory.objects.create(
                    departement=departement, code=self._new_territory_code(departement, value), name=value
                )
                self.territories[key] = territory
                report.territories_created += 1
                report.warning(
                    row,
                    "territoire",
                    f"Territoire « {value} » inconnu du Département {code} : créé (code {territory.code}), sans "
                    "communes. Ajoutez ses communes dans l'administration pour y rattacher les bénéficiaires.",
                )
                change("territory", row, value, "created", f"code {territory.code}")
            step()
        for organisation in ordered:
            if organisation.is_departement:
                continue
            status, fields = self._save_partner(organisation, departements[organisation.departement_code])
            report.organisations[status] += 1
            if organisation.adopted_by_name:
                report.warning(
                    organisation.row,
                    "structure",
                    f"« {organisation.instance.name} », enregistrée sans SIRET ni code, a été reconnue par son nom "
                    f"et son type : elle reçoit le {organisation.label()}.",
                )
            if status != "unchanged":
                change("organisation", organisation.row, organisation.name, status, fields)
            step()
        agent_status = {}
        for email, agent in self.agents.items():
            agent_status[email], fields = self._save_agent(agent)
            if agent_status[email] != "unchanged":
                change("agent", agent.row, email, agent_status[email], fields)
            step()
        for membership in self.memberships.values():
            status, fields = self._save_membership(membership)
            report.memberships[status] += 1
            if status != "unchanged":
                org = membership.organisation
                change("membership", membership.row, f"{membership.email} — {org.name}", status, fields)
                if agent_status[membership.email] == "unchanged":
                    agent_status[membership.email] = "updated"
            step()
        for status in agent_status.values():
            report.agents[status] += 1

    def _territory(self, departement_code, value):
        if not value:
            return None
        return self.territories[(departement_code, _fold(value))]

    @staticmethod
    def _new_territory_code(departement, value):
        base = (
            re.sub(r"[^0-9A-Z]+", "-", _fold(value).upper()).strip("-")[:TERRITORY_CODE_MAX] or "TERRITOIRE"
        )
        taken = set(Territory.objects.filter(departement=departement).values_list("code", flat=True))
        code, index = base, 2
        while code in taken:
            suffix = f"-{index}"
            code = base[: TERRITORY_CODE_MAX - len(suffix)] + suffix
            index += 1
        return code

    @staticmethod
    def _update(instance, values):
        changed = [name for name, value in values.items() if getattr(instance, name) != value]
        for name in changed:
            setattr(instance, name, values[name])
        if changed:
            instance.save(update_fields=changed)
        return changed

    def _save_departement(self, organisation):
        values = {"name": organisation.name}
        if organisation.siret:
            values["siret"] = organisation.siret
        if organisation.instance is None:
            organisation.instance = Organisation.objects.create(
                kind=OrganisationKind.DEPARTEMENT, departement_code=organisation.departement_code, **values
            )
            return "created", ""
        changed = self._update(organisation.instance, values)
        return ("updated" if changed else "unchanged"), _fields_label(changed)

    def _save_partner(self, organisation, departement):
        values = {"name": organisation.name, "kind": organisation.kind}
        if organisation.siret:
            values["siret"] = organisation.siret
        if organisation.code:
            values["code"] = organisation.code
        territory = self._territory(organisation.departement_code, organisation.territory)
        if territory is not None:
            values["territory"] = territory
        if organisation.instance is None:
            organisation.instance = Organisation.objects.create(departement=departement, **values)
            return "created", ""
        changed = self._update(organisation.instance, values)
        return ("updated" if changed else "unchanged"), _fields_label(changed)

    def _save_agent(self, agent):
        user = agent.instance
        if user is None:
            user = User(
                email=agent.email,
                username=agent.email,
                first_name=agent.first_name,
                last_name=agent.last_name,
            )
            user.set_unusable_password()
            user.save()
            agent.instance = user
            return "created", ""
        values = {}
        for attr in ("last_name", "first_name"):
            wanted, current = getattr(agent, attr), getattr(user, attr)
            if wanted and not current:
                values[attr] = wanted
            elif wanted and _fold(wanted) != _fold(current):
                column = "agent_nom" if attr == "last_name" else "agent_prenom"
                self.report.warning(
                    getattr(agent, attr + "_row"),
                    column,
                    f"{agent.email} est enregistré sous le nom « {user.first_name} {user.last_name} » : conservé "
                    f"(l'import ne remplace pas le nom d'un agent existant, mis à jour par ProConnect).",
                )
        if not user.is_active:
            self.report.warning(
                agent.row,
                "agent_email",
                f"Le compte de {agent.email} est désactivé : l'import ne le réactive pas.",
            )
        changed = self._update(user, values)
        return ("updated" if changed else "unchanged"), _fields_label(changed)

    def _save_membership(self, membership):
        org = membership.organisation
        user = self.agents[membership.email].instance
        territory = self._territory(org.departement_code, membership.territory)
        current = self.existing_memberships.get((user.pk, org.instance.pk))
        if current is None:
            Membership.objects.create(
                user=user, organisation=org.instance, role=membership.role, territory=territory
            )
            return "created", ""
        values = {"role": membership.role}
        if territory is not None:
            values["territory"] = territory
        if not current.is_active:
            self.report.warning(
                membership.row,
                "agent_email",
                f"L'appartenance de {membership.email} à « {org.name} » est désactivée : l'import ne la réactive pas.",
            )
        changed = self._update(current, values)
        return ("updated" if changed else "unchanged"), _fields_label(changed)


FIELD_LABELS = {
    "name": "nom",
    "kind": "type",
    "siret": "SIRET",
    "code": "code",
    "territory": "territoire",
    "first_name": "prénom",
    "last_name": "nom",
    "role": "rôle",
}


def _fields_label(changed):
    return ", ".join(FIELD_LABELS.get(name, name) for name in changed)


# --------------------------------------------------------------------------------------------------
# Point d'entrée


def import_organisations(source, *, departement_code=None, scope=None, actor=None, progress=None):
    """Importe le fichier des organisations ; renvoie un ``OnboardingReport``.

    ``source`` : chemin, contenu (``bytes``) ou fichier téléversé. ``departement_code`` : Département des
    lignes sans colonne ``departement`` (option ``--departement``) ; sans lui, le seul Département déclaré
    par le fichier, sinon le seul de la base. ``scope`` : un Département ; toutes les lignes doivent le
    concerner (page web d'un administrateur), il sert aussi de Département par défaut. ``actor`` : l'agent
    qui importe (journal de l'administration). ``progress(fait, total)`` est appelé pendant l'écriture.

    Lève ``OnboardingError`` pour un fichier introuvable ; tout autre problème est dans le rapport
    (``rejected`` vrai, rien n'est écrit).
    """
    report = OnboardingReport()
    data = _read_bytes(source)
    text = _decode(data, report)
    raw_rows = _read_rows(text, report) if text is not None else None
    if raw_rows is None:
        report.reject()
        return report
    report.rows = len(raw_rows)
    rows = [_parse_row(number, values, report) for number, values in raw_rows]

    if scope is not None:
        default_code = scope.departement_code
    elif departement_code:
        default_code = normalize_departement_code(departement_code)
        declared = {row.code for row in rows if row.is_departement and row.code}
        exists = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT, departement_code=default_code)
        if default_code is None:
            report.error(
                None, "departement", f"Numéro de Département « {departement_code} » invalide (--departement)."
            )
        elif default_code not in declared and not exists.exists():
            report.error(
                None,
                "departement",
                f"Département « {default_code} » inconnu (--departement) : il n'est ni dans la base ni dans le fichier.",
            )
    else:
        declared = sorted({row.code for row in rows if row.is_departement and row.code})
        if len(declared) == 1:
            default_code = declared[0]
        else:
            found = list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)[:2])
            default_code = found[0].departement_code if len(found) == 1 and not declared else None

    planner = _Planner(report, default_code=default_code, scope=scope, actor=actor)
    planner.collect(rows)
    planner.resolve()
    if report.errors:
        report.errors.sort(key=lambda e: e["row"] or 0)
        report.reject()
        return report
    try:
        with transaction.atomic():
            planner.apply(progress)
            _log_admin_actions(actor, report)
    except DatabaseError as exc:
        logger.warning("Import des organisations refusé par la base : %s", exc)
        report.error(
            None,
            None,
            "La base a refusé une écriture (modification simultanée des mêmes organisations ou agents ?) : "
            "rien n'a été écrit, relancez l'import.",
        )
        report.reject()
        return report
    report.warnings.sort(key=lambda w: w["row"] or 0)
    report.message = _summary(report)
    return report


def _log_admin_actions(actor, report):
    """Trace, dans l'historique de l'administration de Django, ce qu'un agent a créé ou modifié par la page."""
    if actor is None or not report.changes:
        return
    from django.contrib.admin.models import CHANGE, LogEntry

    created = sum(1 for c in report.changes if c["status"] == "created")
    updated = len(report.changes) - created
    LogEntry.objects.create(
        user_id=actor.pk,
        object_repr="Import du fichier des organisations",
        action_flag=CHANGE,
        change_message=(
            f"Import du fichier des organisations : {plural(created, 'création')}, "
            f"{plural(updated, 'modification')}. " + _summary(report)
        ),
    )
