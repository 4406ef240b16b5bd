"""Import des offres d'emploi d'un fichier CSV (séparateur « ; », UTF-8, en-tête obligatoire) : tout ou rien,
idempotent (une offre est reconnue par le SIRET de l'employeur et sa référence : un nouvel import la met à jour),
erreurs en français qui nomment la ligne et la colonne. Colonnes décrites dans docs/employeurs.md."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from parcours.accompaniment.models import EmploymentContract
from parcours.accounts.siret import normalize_siret, siret_problem

from .models import Employer, JobOffer, OfferSource, OfferStatus
from .services import rome_problem

REQUIRED = ("siret", "intitule", "code_rome", "type_contrat")
COLUMNS = (
    "reference",
    "siret",
    "raison_sociale",
    "intitule",
    "code_rome",
    "code_insee",
    "commune",
    "type_contrat",
    "duree_mois",
    "heures_hebdo",
    "debut",
    "postes",
)
MAX_ROWS = 20000
_CONTRACTS = (
    {v: v for v in EmploymentContract.values}
    | {label.lower(): value for value, label in EmploymentContract.choices}
    | {"intérim": EmploymentContract.INTERIM, "apprentissage": EmploymentContract.ALTERNANCE}
)


class OfferImportError(ValueError):
    """Fichier refusé ; ``errors`` : les messages par ligne."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class OfferImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    employers_created: int = 0
    lines: int = 0
    errors: list = field(default_factory=list)

    @property
    def summary(self):
        return (
            f"{self.lines} lignes lues : {self.created} offres créées, {self.updated} mises à jour, "
            f"{self.unchanged} inchangées ; {self.employers_created} employeurs créés."
        )


def _decimal(value):
    return Decimal(value.replace(",", "."))


def _row(number, raw, problems, *, where=None, names=None):
    """Une ligne vérifiée (valeurs converties) ; chaque problème est ajouté à ``problems``, préfixé par
    ``where`` (défaut : « Ligne N ») et le nom de la colonne (ou, avec ``names``, du champ d'origine)."""

    def error(column, message):
        if names:
            problems.append(f"{where}, champ « {names.get(column, column)} » : {message}")
        else:
            problems.append(f"{where or f'Ligne {number}'}, colonne « {column} » : {message}")

    row = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    for column in REQUIRED:
        if not row[column]:
            error(column, "valeur obligatoire.")
    row["siret"] = normalize_siret(row["siret"])
    if row["siret"] and (problem := siret_problem(row["siret"])):
        error("siret", problem)
    row["code_rome"] = row["code_rome"].upper()
    if row["code_rome"] and (problem := rome_problem(row["code_rome"])):
        error("code_rome", problem)
    if row["type_contrat"]:
        contract = _CONTRACTS.get(row["type_contrat"].lower())
        if contract is None:
            error(
                "type_contrat",
                f"« {row['type_contrat']} » inconnu (attendu : {', '.join(EmploymentContract.values)}).",
            )
        row["type_contrat"] = contract
    if row["code_insee"] and not (len(row["code_insee"]) == 5 and row["code_insee"][:2].isalnum()):
        error("code_insee", f"« {row['code_insee']} » n'est pas un code INSEE de commune (5 caractères).")
    for column, parse, label in (
        ("duree_mois", int, "un nombre entier de mois"),
        ("postes", int, "un nombre entier de postes"),
        ("heures_hebdo", _decimal, "un nombre d'heures (ex. : 24 ou 17,5)"),
        ("debut", datetime.date.fromisoformat, "une date AAAA-MM-JJ"),
    ):
        if row[column]:
            try:
                row[column] = parse(row[column])
            except (ValueError, InvalidOperation):
                error(column, f"« {row[column]} » : attendu {label}.")
        else:
            row[column] = None
    if isinstance(row["heures_hebdo"], Decimal) and not Decimal(0) < row["heures_hebdo"] <= Decimal(48):
        error("heures_hebdo", "entre 0 et 48 heures par semaine (durée maximale du travail).")
    if isinstance(row["postes"], int) and row["postes"] < 1:
        error("postes", "au moins un poste.")
    return row


def read_offers(text):
    """Les lignes du fichier, vérifiées ; ``OfferImportError`` si une seule est fausse."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise OfferImportError([f"En-tête : colonnes obligatoires absentes : {', '.join(missing)}."])
    reader.fieldnames = header
    problems, rows = [], []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise OfferImportError([f"Fichier trop long : au plus {MAX_ROWS} offres par import."])
        rows.append(_row(number, raw, problems))
    if problems:
        raise OfferImportError(problems)
    return rows


def check_row(raw, *, where, names=None):
    """Vérifie une offre venue d'ailleurs qu'un fichier (connecteur) avec les règles de l'import :
    ``(ligne, problèmes)`` ; la ligne n'est utilisable que s'il n'y a aucun problème."""
    problems = []
    row = _row(0, raw, problems, where=where, names=names)
    return row, problems


@transaction.atomic
def import_offers(departement, text, *, author):
    """Crée ou met à jour les employeurs et leurs offres ; rien n'est écrit si une ligne est fausse."""
    rows = read_offers(text)
    return apply_rows(departement, rows, author=author, report=OfferImportReport(lines=len(rows)))


@transaction.atomic
def apply_rows(departement, rows, *, author, report, labels=None, source=OfferSource.IMPORT):
    """Applique des lignes déjà vérifiées (``read_offers`` ou ``check_row``) : employeur retrouvé par son
    SIRET dans le Département (créé avec sa raison sociale s'il est inconnu), offre reconnue par
    employeur + référence (sans référence : offre ouverte identique), créée, mise à jour ou inchangée.
    Tout ou rien : ``OfferImportError`` si un employeur inconnu n'a pas de raison sociale. ``labels`` :
    désignation de chaque ligne dans les messages (défaut : « Ligne N », en-tête en ligne 1)."""
    labels = labels or [f"Ligne {number}" for number in range(2, len(rows) + 2)]
    employers = {
        e.siret: e
        for e in Employer.objects.filter(departement=departement, siret__in={r["siret"] for r in rows})
    }
    problems = []
    for label, row in zip(labels, rows, strict=True):
        if row["siret"] not in employers:
            if not row["raison_sociale"]:
                problems.append(
                    f"{label}, colonne « raison_sociale » : employeur {row['siret']} inconnu, indiquez sa raison sociale."
                )
                continue
            employers[row["siret"]] = Employer.objects.create(
                departement=departement,
                siret=row["siret"],
                name=row["raison_sociale"],
                commune_code=row["code_insee"],
                commune_name=row["commune"],
                created_by=author,
            )
            report.employers_created += 1
    if problems:
        transaction.set_rollback(True)
        raise OfferImportError(problems)
    for row in rows:
        employer = employers[row["siret"]]
        values = {
            "title": row["intitule"],
            "rome_code": row["code_rome"],
            "commune_code": row["code_insee"],
            "commune_name": row["commune"],
            "contract_type": row["type_contrat"],
            "contract_months": row["duree_mois"],
            "weekly_hours": row["heures_hebdo"],
            "starts_on": row["debut"],
            "positions": row["postes"] or 1,
        }
        existing = None
        if row["reference"]:
            existing = JobOffer.objects.filter(employer=employer, reference=row["reference"]).first()
        else:
            existing = JobOffer.objects.filter(
                employer=employer, reference="", status=OfferStatus.OPEN, **values
            ).first()
        if existing is None:
            JobOffer.objects.create(
                employer=employer,
                reference=row["reference"],
                source=source,
                created_by=author,
                **values,
            )
            report.created += 1
        elif any(getattr(existing, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(existing, k, v)
            existing.save()
            report.updated += 1
        else:
            report.unchanged += 1
    return report
