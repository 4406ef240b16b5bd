"""Socle commun des opérations de l'API des systèmes partenaires : routeur, authentification par jeton et
portée, schémas partagés, pagination par curseur et réponse des écritures idempotentes.

Les opérations sont réparties par domaine (``api.py`` : personnes, orientations, rendez-vous, contrats et
écritures ; ``api_accompaniment.py`` : droits, diagnostics, activités, prescriptions, sorties ;
``api_indicators.py`` : indicateurs) et s'enregistrent toutes sur ``router``.
"""

import base64
import binascii
import datetime
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer

from . import services

router = Router(tags=["interop"])

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
# Dates métier plausibles acceptées en entrée (au-delà : 422 ; évite aussi les débordements de calcul).
EARLIEST = datetime.date(2000, 1, 1)
LATEST = datetime.date(2100, 12, 31)


# --- authentification -----------------------------------------------------------------------------------------


class _ScopedToken:
    def __init__(self, scope):
        self.scope = scope
        super().__init__()

    def authenticate(self, request, token):
        partner = services.authenticate(token)
        if partner is None:
            return None
        if not partner.has_scope(self.scope):
            raise HttpError(403, f"Ce système partenaire n'a pas la portée « {self.scope} ».")
        return partner


class JetonBearer(_ScopedToken, HttpBearer):
    """Jeton d'API dans ``Authorization: Bearer <jeton>``."""


class JetonApiKey(_ScopedToken, APIKeyHeader):
    """Jeton d'API dans ``X-Api-Key: <jeton>``."""

    param_name = "X-Api-Key"


def partner_auth(scope):
    return [JetonBearer(scope), JetonApiKey(scope)]


# --- schémas partagés ------------------------------------------------------------------------------------------


class Error(Schema):
    code: str = Field(..., examples=["introuvable"])
    message: str = Field(..., examples=["Ressource introuvable."])


READ_ERRORS = {400: Error, 401: Error, 403: Error}
ONE_ERRORS = {401: Error, 403: Error, 404: Error}


class SyncQuery(Schema):
    updated_after: datetime.datetime | None = Field(
        None,
        description="Ne renvoyer que ce qui a été modifié strictement après cet instant (ISO 8601).",
        examples=["2026-03-01T00:00:00+01:00"],
    )
    curseur: str | None = Field(
        None,
        max_length=200,
        description="Curseur opaque renvoyé par la page précédente (`curseur_suivant`).",
    )
    limite: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Nombre d'éléments par page (1 à 500)."
    )
    personne: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Restreindre à une personne (ex. pour reprendre tout l'historique d'une personne entrée "
        "dans le périmètre). Sans effet sur la liste des personnes.",
    )


class PageMeta(Schema):
    curseur_suivant: str | None = Field(
        None,
        description=(
            "Curseur à repasser pour lire la suite ; à conserver aussi en fin de liste pour reprendre "
            "la synchronisation plus tard (il pointe après le dernier élément lu). `null` si la page est vide "
            "et qu'aucun curseur n'a été fourni."
        ),
    )
    fin: bool = Field(..., description="`true` si la page est la dernière pour l'instant.")


class OrganisationOut(Schema):
    id: int = Field(..., examples=[12])
    nom: str = Field(..., examples=["France Travail Redon"])
    type: str = Field(..., examples=["france_travail"])


def organisation_payload(org):
    if org is None:
        return None
    return {"id": org.pk, "nom": org.name, "type": org.kind}


# --- pagination par curseur ------------------------------------------------------------------------------------


def encode_cursor(updated_at, pk):
    raw = json.dumps([updated_at.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        moment = datetime.datetime.fromisoformat(stamp)
        if timezone.is_naive(moment) or type(pk) is not int or not 0 <= pk < 2**63:
            raise ValueError
        return moment, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, "Curseur invalide : repassez la valeur `curseur_suivant` reçue.") from exc


def log_partner_read(request, rows):
    """Journal d'accès : une entrée par personne dont le système partenaire a lu les données (personnes,
    ou lignes rattachées à une personne). Auteur : le compte technique du système, motif : son nom."""
    from parcours.audit.models import AccessAction
    from parcours.audit.services import record_many

    partner = request.auth
    people = []
    for row in rows:
        person = row.pk if row._meta.model_name == "beneficiary" else getattr(row, "beneficiary_id", None)
        if person is not None and person not in people:
            people.append(person)
    departement = partner.organisation.home_departement
    record_many(
        [
            {
                "beneficiary_id": person,
                "action": AccessAction.READ,
                "departement_id": departement.pk if departement else None,
                "path": request.path[:300],
            }
            for person in people
        ],
        user=partner.service_user,
        view=getattr(request.resolver_match, "view_name", "")[:100] if request.resolver_match else "",
        reason=f"API des partenaires : {partner.name}",
        request=request,
    )


def cursor_page(
    request, queryset, query, serialize, *, sync_field="updated_at", person_lookup="beneficiary_id"
):
    """Une page ordonnée par (``sync_field``, identifiant), après le curseur et ``updated_after``.

    ``sync_field`` : date de modification (ou d'enregistrement pour une table dont les lignes ne changent
    jamais) ; ``person_lookup`` : filtre du paramètre ``personne`` (``None`` : sans effet).
    """
    if query.updated_after is not None:
        after = query.updated_after
        if timezone.is_naive(after):
            after = timezone.make_aware(after)
        queryset = queryset.filter(**{f"{sync_field}__gt": after})
    if query.personne is not None and person_lookup:
        queryset = queryset.filter(**{person_lookup: query.personne})
    cursor = None
    if query.curseur:
        moment, pk = decode_cursor(query.curseur)
        queryset = queryset.filter(**{f"{sync_field}__gte": moment}).exclude(
            **{sync_field: moment, "pk__lte": pk}
        )
        cursor = query.curseur
    rows = list(queryset.order_by(sync_field, "pk")[: query.limite + 1])
    last_page = len(rows) <= query.limite
    rows = rows[: query.limite]
    if rows:
        cursor = encode_cursor(getattr(rows[-1], sync_field), rows[-1].pk)
    log_partner_read(request, rows)
    return {"elements": [serialize(row) for row in rows], "curseur_suivant": cursor, "fin": last_page}


def get_one(request, queryset, pk, serialize):
    """Un élément du périmètre (404 hors périmètre, comme s'il n'existait pas) ; lecture journalisée."""
    row = get_object_or_404(queryset, pk=pk)
    log_partner_read(request, [row])
    return serialize(row)


# --- écritures idempotentes -----------------------------------------------------------------------------------


def stored_body(schema, payload):
    """Corps d'une réponse d'écriture, mémorisable (JSON) et identique à ce que renvoient les lectures
    (mêmes formats de dates que le rendu de l'API)."""
    return json.loads(json.dumps(schema(**payload).model_dump(), cls=DjangoJSONEncoder))


def idempotency_key_header():
    return Header(
        ...,
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Clé unique choisie par le partenaire pour cette écriture (ex. un UUID).",
        examples=["5f0c1d0e-8a52-4c55-b0d1-0c9b0d2f6a11"],
    )


def error_message(exc):
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


def not_found(message):
    return 404, {"code": "introuvable", "message": message}


def person_not_found():
    return not_found("Personne introuvable dans votre périmètre.")


def refused(exc, code="transition_impossible"):
    """422 en français à partir d'une ``ValidationError`` d'un service métier."""
    return 422, {"code": code, "message": error_message(exc)}


def idempotent_response(request, partner, key, fingerprint, perform):
    """Exécute ``perform()`` une fois par clé (``services.idempotent``) et construit la réponse HTTP :
    rejouée avec ``Idempotent-Replayed: true``, 409 si la clé a servi pour une autre requête."""
    try:
        status, response, replayed = services.idempotent(partner, key, fingerprint, perform)
    except services.IdempotencyConflict as exc:
        raise HttpError(
            409,
            "Cette clé d'idempotence a déjà servi pour une autre requête : choisissez une nouvelle clé.",
        ) from exc
    from parcours.api.main import api  # import tardif : main.py importe ce module

    result = api.create_response(request, response, status=status)
    if replayed:
        result["Idempotent-Replayed"] = "true"
    return result


def decimal_number(value):
    """Montant ou durée (``Decimal`` de la base) en nombre JSON ; ``None`` reste ``None``."""
    return None if value is None else float(value)
