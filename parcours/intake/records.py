"""Forme commune de ce que disent tous les formats de flux, une fois lus.

Chaque lecteur (CSV canonique, tableurs, fichier de contacts CNAF, XML CNAF) produit un ``ParsedFile`` :
des métadonnées, puis un itérateur de ``FluxRow`` (une personne et son droit), chacune avec ses
avertissements et erreurs de ligne. Les erreurs de structure (colonnes manquantes, encodage, fichier
vide, XML invalide) lèvent ``FileRejected`` avant toute écriture.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

# Champs d'identité d'une ligne recopiés sur la personne (chemin ligne à ligne et chemin par ensembles).
IDENTITY_FIELDS = (
    "civility",
    "last_name",
    "birth_name",
    "first_name",
    "birth_date",
    "france_travail_id",
    "departement_internal_id",
    "email",
    "phone",
    "address",
    "postal_code",
    "city",
    "insee_code",
)


class FileRejected(Exception):
    """Fichier inutilisable : rien n'est écrit. Le message est en français et destiné à l'agent."""

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class Issue:
    row: int
    field: str
    message: str

    def as_dict(self):
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class FluxRow:
    row: int  # numéro de ligne dans le fichier (1 = en-tête pour un tableur ; ligne XML pour un flux CNAF)
    organism: str | None = None  # "CAF" | "MSA"
    matricule: str | None = None
    role: str | None = None  # "DEM" | "CJT" | "ENF" | "AUT"
    nir: str | None = None  # normalisé sur 15 caractères
    civility: str | None = None  # "M" | "MME"
    last_name: str | None = None
    birth_name: str | None = None
    first_name: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    insee_code: str | None = None
    departement_internal_id: str | None = None
    france_travail_id: str | None = None
    # Droit RSA (None : le fichier ne dit rien du droit)
    rsa_number: str | None = None
    requested_on: date | None = None
    opened_on: date | None = None
    right_state: str | None = None  # "0".."6" (ETATDOSRSA)
    sdd: bool | None = None
    cnaf_new_entrant: bool | None = None  # TOPPERSENTDRODEVORSA
    activity_income: bool | None = None
    suspension_reason: str | None = None
    suspended_since: date | None = None
    closure_reason: str | None = None
    closed_on: date | None = None
    reference_date: date | None = None  # date de référence propre à la ligne (sinon celle du fichier)
    # Composition du foyer (``beneficiaries.household``) : le fichier la dit-il, enfants déclarés (colonne du
    # fichier canonique ; le flux XML décrit chaque enfant par une ligne ENF), enfants et autres personnes à charge
    # (NBENFAUTCHA). Valeurs du foyer, répétées sur chacune de ses lignes.
    household_stated: bool = False
    household_children: int | None = None
    household_dependants: int | None = None
    contact_only: bool = False  # fichier de contacts : enrichit, ne crée jamais
    extra: dict = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    @property
    def has_right(self):
        return self.right_state is not None and self.sdd is not None


@dataclass
class ParsedFile:
    format: str  # "canonical-csv" | "spreadsheet" | "cnaf-contacts" | "cnaf-xml"
    rows: Iterator[FluxRow]
    reference_date: date | None = None
    flux_created_on: date | None = None
    description: str = ""
    meta: dict = field(default_factory=dict)
