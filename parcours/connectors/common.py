"""Outils partagés des connecteurs : compte technique, empreinte, erreurs par élément, organismes."""

import hashlib
import json

from django.core.exceptions import ValidationError

from parcours.accounts.models import OrganisationKind, User
from parcours.orientation import services as orientation

from .identify import _norm


class ItemError(Exception):
    """Élément (ou ligne) rejeté : ``field`` en cause et message français."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def validation_message(exc):
    """Texte d'une ``ValidationError`` des services métier."""
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def fingerprint(payload):
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def connector_user(departement, connector, label):
    """Compte technique (inactif, sans mot de passe) qui signe dans le journal des parcours les écritures
    d'un connecteur pour un Département."""
    code = departement.departement_code or str(departement.pk)
    email = f"connecteur-{connector}-{code}@connecteurs.parcours.invalid"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(
            email=email,
            username=email,
            first_name=label[:150],
            last_name=f"({departement.name})"[:150],
            is_active=False,
        )
        user.set_unusable_password()
        user.save()
    return user


# Types d'organisme tels que transmis par les partenaires (codes courts ou noms de Parcours).
ORGANISATION_KINDS = {
    "FT": OrganisationKind.FRANCE_TRAVAIL,
    "FRANCE_TRAVAIL": OrganisationKind.FRANCE_TRAVAIL,
    "CD": OrganisationKind.DEPARTEMENT,
    "DEPARTEMENT": OrganisationKind.DEPARTEMENT,
    "ML": OrganisationKind.MISSION_LOCALE,
    "MISSION_LOCALE": OrganisationKind.MISSION_LOCALE,
    "CAP": OrganisationKind.CAP_EMPLOI,
    "CAP_EMPLOI": OrganisationKind.CAP_EMPLOI,
    "CCAS": OrganisationKind.CCAS,
    "ASSO": OrganisationKind.ASSOCIATION,
    "ASSOCIATION": OrganisationKind.ASSOCIATION,
}


class OrganisationResolver:
    """Retrouve l'organisme d'orientation (ou présent au rendez-vous) désigné par un partenaire : SIRET,
    sinon type (+ libellé s'il y a plusieurs organismes de ce type dans le Département)."""

    def __init__(self, departement):
        self.departement = departement
        self.candidates = list(orientation.orientation_organisations(departement))

    def resolve(self, data, field):
        if not isinstance(data, dict):
            raise ItemError(field, "Organisme absent.")
        siret = str(data.get("siret") or "").replace(" ", "")
        if siret:
            for organisation in self.candidates:
                if organisation.siret == siret:
                    return organisation
        code = str(data.get("type") or "").strip().upper()
        kind = ORGANISATION_KINDS.get(code)
        label = str(data.get("libelle") or "").strip()
        if kind is None:
            raise ItemError(
                field, f"Type d'organisme « {code} » inconnu (attendu : FT, CD, ML, CAP, CCAS, ASSO)."
            )
        if kind == OrganisationKind.DEPARTEMENT:
            return self.departement
        same_kind = [o for o in self.candidates if o.kind == kind]
        if len(same_kind) > 1 and label:
            same_kind = [o for o in same_kind if _norm(o.name) == _norm(label)] or same_kind
        if len(same_kind) == 1:
            return same_kind[0]
        what = f"« {label} »" if label else f"de type {code}"
        if not same_kind:
            raise ItemError(
                field,
                f"Aucun organisme {what} dans Parcours pour ce Département (SIRET {siret or 'non transmis'}) : "
                "créez-le ou renseignez son SIRET.",
            )
        raise ItemError(
            field, f"Plusieurs organismes {what} dans le Département : SIRET nécessaire pour choisir."
        )
