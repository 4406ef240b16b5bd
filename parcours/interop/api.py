"""API des systèmes partenaires (montée sous ``/api/v1/interop/``).

Authentification par jeton (``Authorization: Bearer …`` ou ``X-Api-Key: …``), portées vérifiées par
opération, périmètre de l'organisation du système. Listes paginées par curseur opaque sur
(date de modification, identifiant) et filtrables par ``updated_after`` pour la synchronisation.
Écritures : en-tête ``Idempotency-Key`` obligatoire (la même clé rejoue la même réponse).
"""

import base64
import binascii
import datetime
import json

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer

from parcours.accompaniment.models import Contract
from parcours.beneficiaries.models import Beneficiary
from parcours.orientation import services as orientation
from parcours.orientation.models import Appointment, Attendance, OrientationDecision

from . import services
from .models import Scope

router = Router(tags=["interop"])

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


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


# --- schémas ---------------------------------------------------------------------------------------------------


class Error(Schema):
    code: str = Field(..., examples=["introuvable"])
    message: str = Field(..., examples=["Ressource introuvable."])


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


class RightOut(Schema):
    etat: str = Field(..., description="État CNAF du droit RSA (ETATDOSRSA, 0 à 6).", examples=["2"])
    etat_libelle: str = Field(..., examples=["Droit ouvert et versable"])
    soumis_droits_devoirs: bool | None = None
    nouvel_entrant_t0: datetime.date | None = Field(None, description="Date T0 du nouvel entrant.")


class PersonOut(Schema):
    id: int = Field(..., examples=[1042])
    civilite: str = Field("", examples=["MME"])
    nom: str = Field(..., examples=["Martin"])
    nom_naissance: str = ""
    prenom: str = Field(..., examples=["Camille"])
    date_naissance: datetime.date | None = Field(None, examples=["1985-06-12"])
    nir: str | None = Field(
        None, description="NIR : transmis au seul système du Département, jamais aux partenaires."
    )
    identifiant_france_travail: str = ""
    identifiant_departement: str = ""
    email: str = ""
    telephone: str = ""
    code_postal: str = ""
    commune: str = ""
    code_insee: str = ""
    droit: RightOut
    modifie_le: datetime.datetime


class PersonPage(PageMeta):
    elements: list[PersonOut]


class OrganisationOut(Schema):
    id: int
    nom: str = Field(..., examples=["France Travail Redon"])
    type: str = Field(..., examples=["france_travail"])


class OrientationOut(Schema):
    id: int
    personne: int
    parcours: str = Field(..., description="emploi, socio_professionnel ou social.", examples=["emploi"])
    code_france_travail: str = Field(..., description="PED, PSP ou PSO.", examples=["PED"])
    organisation: OrganisationOut
    statut: str = Field(..., description="decided (décidée), notified (notifiée), cancelled (annulée).")
    en_vigueur: bool
    reorientation: bool
    decidee_le: datetime.date
    notifiee_le: datetime.date | None = None
    modifie_le: datetime.datetime


class OrientationPage(PageMeta):
    elements: list[OrientationOut]


# Présence : valeurs publiées ↔ valeurs internes.
ATTENDANCE_OUT = {
    Attendance.PLANNED: "prevu",
    Attendance.SEEN: "present",
    Attendance.EXCUSED: "excuse",
    Attendance.NO_SHOW: "absent",
    Attendance.CANCELLED: "annule",
}
ATTENDANCE_IN = {"present": Attendance.SEEN, "absent": Attendance.NO_SHOW, "excuse": Attendance.EXCUSED}


class AppointmentOut(Schema):
    id: int
    personne: int
    type: str = Field(..., description="orientation ou accompaniment.", examples=["orientation"])
    debut: datetime.datetime
    duree_minutes: int = Field(..., examples=[60])
    lieu: str = Field(..., examples=["Espace social de Redon"])
    presence: str = Field(..., description="prevu, present, excuse, absent ou annule.", examples=["present"])
    presence_saisie_le: datetime.date | None = None
    organisations: list[int] = Field(..., description="Organisations présentes (rendez-vous conjoint).")
    modifie_le: datetime.datetime


class AppointmentPage(PageMeta):
    elements: list[AppointmentOut]


class ContractOut(Schema):
    id: int
    personne: int
    type: str = Field(..., examples=["contrat_engagement"])
    statut: str = Field(..., examples=["signed"])
    organisation: int | None = None
    debut: datetime.date | None = None
    fin_prevue: datetime.date | None = None
    signe_le: datetime.date | None = None
    termine_le: datetime.date | None = None
    modifie_le: datetime.datetime


class ContractPage(PageMeta):
    elements: list[ContractOut]


class AttendanceIn(Schema):
    presence: str = Field(
        ...,
        description="present (venu), absent (absent non excusé) ou excuse (absence excusée).",
        examples=["present"],
        pattern="^(present|absent|excuse)$",
    )
    observations: str | None = Field(None, max_length=2000, examples=["Venue avec sa conseillère."])


# --- sérialisation ---------------------------------------------------------------------------------------------


def person_payload(person, with_nir):
    return {
        "id": person.pk,
        "civilite": person.civility,
        "nom": person.last_name,
        "nom_naissance": person.birth_name,
        "prenom": person.first_name,
        "date_naissance": person.birth_date,
        "nir": person.nir if with_nir else None,
        "identifiant_france_travail": person.france_travail_id,
        "identifiant_departement": person.departement_internal_id,
        "email": person.email,
        "telephone": person.phone,
        "code_postal": person.postal_code,
        "commune": person.city,
        "code_insee": person.insee_code,
        "droit": {
            "etat": person.rsa_state,
            "etat_libelle": person.get_rsa_state_display() if person.rsa_state else "",
            "soumis_droits_devoirs": person.is_sdd,
            "nouvel_entrant_t0": person.new_entrant_t0,
        },
        "modifie_le": person.updated_at,
    }


def orientation_payload(decision):
    org = decision.organisation
    return {
        "id": decision.pk,
        "personne": decision.beneficiary_id,
        "parcours": decision.pathway,
        "code_france_travail": decision.france_travail_code,
        "organisation": {"id": org.pk, "nom": org.name, "type": org.kind},
        "statut": decision.status,
        "en_vigueur": decision.is_current,
        "reorientation": decision.is_reorientation,
        "decidee_le": decision.decided_on,
        "notifiee_le": decision.notified_on,
        "modifie_le": decision.updated_at,
    }


def appointment_payload(appointment):
    return {
        "id": appointment.pk,
        "personne": appointment.beneficiary_id,
        "type": appointment.kind,
        "debut": appointment.starts_at,
        "duree_minutes": appointment.duration_minutes,
        "lieu": appointment.place,
        "presence": ATTENDANCE_OUT.get(appointment.attendance, appointment.attendance),
        "presence_saisie_le": appointment.attendance_recorded_on,
        "organisations": sorted(o.pk for o in appointment.organisations.all()),
        "modifie_le": appointment.updated_at,
    }


def contract_payload(contract):
    return {
        "id": contract.pk,
        "personne": contract.beneficiary_id,
        "type": contract.kind,
        "statut": contract.status,
        "organisation": contract.organisation_id,
        "debut": contract.starts_on,
        "fin_prevue": contract.ends_on,
        "signe_le": contract.signed_on,
        "termine_le": contract.ended_on,
        "modifie_le": contract.updated_at,
    }


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


def cursor_page(queryset, query, serialize):
    """Une page ordonnée par (date de modification, identifiant), après le curseur et ``updated_after``."""
    if query.updated_after is not None:
        after = query.updated_after
        if timezone.is_naive(after):
            after = timezone.make_aware(after)
        queryset = queryset.filter(updated_at__gt=after)
    if query.personne is not None and queryset.model is not Beneficiary:
        queryset = queryset.filter(beneficiary_id=query.personne)
    cursor = None
    if query.curseur:
        moment, pk = decode_cursor(query.curseur)
        queryset = queryset.filter(updated_at__gte=moment).exclude(updated_at=moment, pk__lte=pk)
        cursor = query.curseur
    rows = list(queryset.order_by("updated_at", "pk")[: query.limite + 1])
    last_page = len(rows) <= query.limite
    rows = rows[: query.limite]
    if rows:
        cursor = encode_cursor(rows[-1].updated_at, rows[-1].pk)
    return {"elements": [serialize(row) for row in rows], "curseur_suivant": cursor, "fin": last_page}


# --- lecture ---------------------------------------------------------------------------------------------------


@router.get(
    "/personnes",
    response={200: PersonPage, 400: Error, 401: Error, 403: Error},
    auth=partner_auth(Scope.PEOPLE_READ),
    summary="Personnes du périmètre du système partenaire (synchronisation)",
    description=(
        "Personnes que suit l'organisation du système (tout le Département pour le système du Département), "
        "triées par date de modification puis identifiant. Portée requise : `personnes:lecture`. "
        "Le NIR n'est transmis qu'au système du Département."
    ),
)
def list_people(request, query: Query[SyncQuery]):
    partner = request.auth
    with_nir = services.sees_nir(partner)
    return cursor_page(services.visible_people(partner), query, lambda p: person_payload(p, with_nir))


@router.get(
    "/personnes/{person_id}",
    response={200: PersonOut, 401: Error, 403: Error, 404: Error},
    auth=partner_auth(Scope.PEOPLE_READ),
    summary="Une personne du périmètre",
)
def get_person(request, person_id: int):
    partner = request.auth
    person = get_object_or_404(services.visible_people(partner), pk=person_id)
    return person_payload(person, services.sees_nir(partner))


@router.get(
    "/orientations",
    response={200: OrientationPage, 400: Error, 401: Error, 403: Error},
    auth=partner_auth(Scope.ORIENTATIONS_READ),
    summary="Décisions d'orientation (synchronisation)",
    description=(
        "Décisions d'orientation des personnes du périmètre et celles qui orientent vers l'organisation du "
        "système, historique compris (`en_vigueur` marque la décision en vigueur). "
        "Portée requise : `orientations:lecture`."
    ),
)
def list_orientations(request, query: Query[SyncQuery]):
    queryset = OrientationDecision.objects.filter(services.orientations_q(request.auth)).select_related(
        "organisation"
    )
    return cursor_page(queryset, query, orientation_payload)


def _appointments(partner):
    return Appointment.objects.filter(services.appointments_q(partner, Appointment)).prefetch_related(
        "organisations"
    )


@router.get(
    "/rendez-vous",
    response={200: AppointmentPage, 400: Error, 401: Error, 403: Error},
    auth=partner_auth(Scope.APPOINTMENTS_READ),
    summary="Rendez-vous (synchronisation)",
    description=(
        "Rendez-vous des personnes du périmètre et ceux où l'organisation du système est présente. "
        "Portée requise : `rendez-vous:lecture`."
    ),
)
def list_appointments(request, query: Query[SyncQuery]):
    return cursor_page(_appointments(request.auth), query, appointment_payload)


@router.get(
    "/contrats",
    response={200: ContractPage, 400: Error, 401: Error, 403: Error},
    auth=partner_auth(Scope.CONTRACTS_READ),
    summary="Contrats d'engagement, CER et PPAE (synchronisation)",
    description="Contrats des personnes du périmètre. Portée requise : `contrats:lecture`.",
)
def list_contracts(request, query: Query[SyncQuery]):
    queryset = Contract.objects.filter(services.people_q(request.auth, "beneficiary__"))
    return cursor_page(queryset, query, contract_payload)


# --- écriture --------------------------------------------------------------------------------------------------


def _error_message(exc):
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


@router.post(
    "/rendez-vous/{appointment_id}/presence",
    response={200: AppointmentOut, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error},
    auth=partner_auth(Scope.APPOINTMENTS_WRITE),
    summary="Saisir la présence à un rendez-vous (venu, absent, excusé)",
    description=(
        "Enregistre la présence par le service de l'orientation : le journal du parcours de la personne "
        "l'inscrit et les abonnés reçoivent l'événement `rendez-vous.presence`. Portée requise : "
        "`rendez-vous:ecriture`. L'en-tête `Idempotency-Key` est obligatoire : la même clé avec la même "
        "requête renvoie la réponse d'origine sans rien refaire (en-tête `Idempotent-Replayed: true`) ; "
        "avec une requête différente, 409."
    ),
)
def post_attendance(
    request,
    appointment_id: int,
    payload: AttendanceIn,
    idempotency_key: str = Header(
        ...,
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Clé unique choisie par le partenaire pour cette écriture (ex. un UUID).",
        examples=["5f0c1d0e-8a52-4c55-b0d1-0c9b0d2f6a11"],
    ),
):
    partner = request.auth
    body = payload.model_dump()
    fingerprint = services.request_hash("POST", f"rendez-vous/{appointment_id}/presence", body)

    def perform():
        appointment = _appointments(partner).filter(pk=appointment_id).select_related("beneficiary").first()
        if appointment is None:
            return 404, {"code": "introuvable", "message": "Rendez-vous introuvable dans votre périmètre."}
        try:
            orientation.record_attendance(
                appointment,
                ATTENDANCE_IN[payload.presence],
                author=partner.service_user,
                notes=payload.observations,
            )
        except ValidationError as exc:
            return 422, {"code": "transition_impossible", "message": _error_message(exc)}
        appointment = _appointments(partner).get(pk=appointment.pk)
        return 200, AppointmentOut(**appointment_payload(appointment)).model_dump(mode="json")

    try:
        status, response, replayed = services.idempotent(partner, idempotency_key, fingerprint, perform)
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
