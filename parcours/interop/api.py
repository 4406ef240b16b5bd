"""API des systèmes partenaires (montée sous ``/api/v1/interop/``).

Authentification par jeton (``Authorization: Bearer …`` ou ``X-Api-Key: …``), portées vérifiées par
opération, périmètre de l'organisation du système. Listes paginées par curseur opaque sur
(date de modification, identifiant) et filtrables par ``updated_after`` pour la synchronisation.
Écritures : en-tête ``Idempotency-Key`` obligatoire (la même clé rejoue la même réponse).

Ce module : personnes, orientations, rendez-vous, contrats et les écritures (présence, contrat signé chez
le partenaire). Les autres ressources sont dans ``api_accompaniment.py`` et ``api_indicators.py``, le
socle commun (jetons, curseur, idempotence) dans ``api_common.py``.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from ninja import Field, Query, Schema

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Contract, ContractKind
from parcours.orientation import services as orientation
from parcours.orientation.models import Appointment, Attendance, OrientationDecision

from . import services
from .api_common import (
    EARLIEST,
    LATEST,
    ONE_ERRORS,
    READ_ERRORS,
    Error,
    OrganisationOut,
    PageMeta,
    SyncQuery,
    cursor_page,
    get_one,
    idempotency_key_header,
    idempotent_response,
    not_found,
    organisation_payload,
    partner_auth,
    person_not_found,
    refused,
    router,
    stored_body,
)
from .models import Scope

# --- schémas ---------------------------------------------------------------------------------------------------


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
    reference: str = Field(
        "",
        description="Référence d'origine du contrat : dans le logiciel du partenaire qui l'a transmis, ou de "
        "l'import ; vide sinon.",
        examples=["PPAE-2026-000123"],
    )
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


class SignedContractIn(Schema):
    """Contrat signé dans le logiciel du partenaire (ex. PPAE signé à France Travail)."""

    personne: int = Field(
        ..., ge=1, le=2**31 - 1, description="Identifiant Parcours de la personne.", examples=[1042]
    )
    type: str = Field(
        ...,
        description=(
            "ppae (projet personnalisé d'accès à l'emploi, signé à France Travail) ou cer (contrat "
            "d'engagement réciproque). Le contrat d'engagement de la loi pour le plein emploi se rédige "
            "dans Parcours (engagements, plan d'action, durée hebdomadaire)."
        ),
        examples=["ppae"],
        pattern="^(ppae|cer)$",
    )
    signe_le: datetime.date = Field(
        ...,
        ge=EARLIEST,
        le=LATEST,
        description="Date de signature (pas dans le futur).",
        examples=["2026-03-20"],
    )
    debut: datetime.date | None = Field(
        None,
        ge=EARLIEST,
        le=LATEST,
        description="Début du contrat (défaut : la date de signature).",
        examples=["2026-03-20"],
    )
    fin_prevue: datetime.date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="Fin prévue.", examples=["2026-09-20"]
    )
    reference: str = Field(
        ...,
        min_length=1,
        max_length=60,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description=(
            "Référence du contrat dans le logiciel du partenaire : un même contrat (même personne, même "
            "référence) n'est enregistré qu'une fois."
        ),
        examples=["PPAE-2026-000123"],
    )


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
    return {
        "id": decision.pk,
        "personne": decision.beneficiary_id,
        "parcours": decision.pathway,
        "code_france_travail": decision.france_travail_code,
        "organisation": organisation_payload(decision.organisation),
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
        "reference": contract.external_reference,
        "modifie_le": contract.updated_at,
    }


# --- périmètres -------------------------------------------------------------------------------------------------


def _orientations(partner):
    return OrientationDecision.objects.filter(services.orientations_q(partner)).select_related("organisation")


def _appointments(partner):
    return Appointment.objects.filter(services.appointments_q(partner, Appointment)).prefetch_related(
        "organisations"
    )


def _contracts(partner):
    return Contract.objects.filter(services.people_q(partner, "beneficiary__"))


# --- lecture ---------------------------------------------------------------------------------------------------


@router.get(
    "/personnes",
    response={200: PersonPage, **READ_ERRORS},
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
    return cursor_page(
        request,
        services.visible_people(partner),
        query,
        lambda p: person_payload(p, with_nir),
        person_lookup=None,
    )


@router.get(
    "/personnes/{person_id}",
    response={200: PersonOut, **ONE_ERRORS},
    auth=partner_auth(Scope.PEOPLE_READ),
    summary="Une personne du périmètre",
    description=(
        "La personne désignée par un événement (champ `personne`), si elle est dans le périmètre du "
        "système ; le NIR n'est transmis qu'au système du Département. Portée requise : `personnes:lecture`."
    ),
)
def get_person(request, person_id: int):
    partner = request.auth
    with_nir = services.sees_nir(partner)
    return get_one(
        request, services.visible_people(partner), person_id, lambda p: person_payload(p, with_nir)
    )


@router.get(
    "/orientations",
    response={200: OrientationPage, **READ_ERRORS},
    auth=partner_auth(Scope.ORIENTATIONS_READ),
    summary="Décisions d'orientation (synchronisation)",
    description=(
        "Décisions d'orientation des personnes du périmètre et celles qui orientent vers l'organisation du "
        "système, historique compris (`en_vigueur` marque la décision en vigueur). "
        "Portée requise : `orientations:lecture`."
    ),
)
def list_orientations(request, query: Query[SyncQuery]):
    return cursor_page(request, _orientations(request.auth), query, orientation_payload)


@router.get(
    "/orientations/{orientation_id}",
    response={200: OrientationOut, **ONE_ERRORS},
    auth=partner_auth(Scope.ORIENTATIONS_READ),
    summary="Une décision d'orientation",
    description=(
        "La décision désignée par un événement `orientation.decidee` (champ `donnees.orientation`). "
        "Portée requise : `orientations:lecture`."
    ),
)
def get_orientation(request, orientation_id: int):
    return get_one(request, _orientations(request.auth), orientation_id, orientation_payload)


@router.get(
    "/rendez-vous",
    response={200: AppointmentPage, **READ_ERRORS},
    auth=partner_auth(Scope.APPOINTMENTS_READ),
    summary="Rendez-vous (synchronisation)",
    description=(
        "Rendez-vous des personnes du périmètre et ceux où l'organisation du système est présente. "
        "Portée requise : `rendez-vous:lecture`."
    ),
)
def list_appointments(request, query: Query[SyncQuery]):
    return cursor_page(request, _appointments(request.auth), query, appointment_payload)


@router.get(
    "/rendez-vous/{appointment_id}",
    response={200: AppointmentOut, **ONE_ERRORS},
    auth=partner_auth(Scope.APPOINTMENTS_READ),
    summary="Un rendez-vous",
    description=(
        "Le rendez-vous désigné par un événement `rendez-vous.*` (champ `donnees.rendez_vous`). "
        "Portée requise : `rendez-vous:lecture`."
    ),
)
def get_appointment(request, appointment_id: int):
    return get_one(request, _appointments(request.auth), appointment_id, appointment_payload)


@router.get(
    "/contrats",
    response={200: ContractPage, **READ_ERRORS},
    auth=partner_auth(Scope.CONTRACTS_READ),
    summary="Contrats d'engagement, CER et PPAE (synchronisation)",
    description="Contrats des personnes du périmètre. Portée requise : `contrats:lecture`.",
)
def list_contracts(request, query: Query[SyncQuery]):
    return cursor_page(request, _contracts(request.auth), query, contract_payload)


@router.get(
    "/contrats/{contract_id}",
    response={200: ContractOut, **ONE_ERRORS},
    auth=partner_auth(Scope.CONTRACTS_READ),
    summary="Un contrat",
    description=(
        "Le contrat désigné par un événement `contrat.signe` (champ `donnees.contrat`). "
        "Portée requise : `contrats:lecture`."
    ),
)
def get_contract(request, contract_id: int):
    return get_one(request, _contracts(request.auth), contract_id, contract_payload)


# --- écriture --------------------------------------------------------------------------------------------------


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
    request, appointment_id: int, payload: AttendanceIn, idempotency_key: str = idempotency_key_header()
):
    partner = request.auth
    fingerprint = services.request_hash(
        "POST", f"rendez-vous/{appointment_id}/presence", payload.model_dump()
    )

    def perform():
        appointment = _appointments(partner).filter(pk=appointment_id).select_related("beneficiary").first()
        if appointment is None:
            return not_found("Rendez-vous introuvable dans votre périmètre.")
        try:
            orientation.record_attendance(
                appointment,
                ATTENDANCE_IN[payload.presence],
                author=partner.service_user,
                notes=payload.observations,
            )
        except ValidationError as exc:
            return refused(exc)
        appointment = _appointments(partner).get(pk=appointment.pk)
        return 200, stored_body(AppointmentOut, appointment_payload(appointment))

    return idempotent_response(request, partner, idempotency_key, fingerprint, perform)


@router.post(
    "/contrats",
    response={201: ContractOut, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error},
    auth=partner_auth(Scope.CONTRACTS_WRITE),
    summary="Transmettre un contrat signé chez le partenaire (PPAE, CER) et sa date de signature",
    description=(
        "Annexe 5 de la convention (§ 2.1) : « partage a minima de la date de signature du contrat "
        "d'engagement ». Le système enregistre un contrat signé dans son propre logiciel (ex. le PPAE signé "
        "à France Travail) pour une personne de son périmètre : Parcours crée le contrat au nom de "
        "l'organisation du système et le signe à la date donnée par le service des contrats (mêmes règles "
        "qu'à l'écran : date non future, fin après le début ; le contrat signé précédent de la personne est "
        "terminé, remplacé). Le journal du parcours l'inscrit (« Contrat d'engagement signé », signé par le "
        "compte technique du système), les indicateurs le comptent et les abonnés reçoivent "
        "`contrat.signe`. Une même référence pour la même personne n'est enregistrée qu'une fois (409). "
        "Portée requise : `contrats:ecriture` ; en-tête `Idempotency-Key` obligatoire (même règle que pour "
        "la présence). Réponse : le contrat créé (201)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "personne": 1042,
                        "type": "ppae",
                        "signe_le": "2026-03-20",
                        "fin_prevue": "2026-09-20",
                        "reference": "PPAE-2026-000123",
                    }
                }
            }
        }
    },
)
def post_signed_contract(request, payload: SignedContractIn, idempotency_key: str = idempotency_key_header()):
    partner = request.auth
    fingerprint = services.request_hash("POST", "contrats", payload.model_dump(mode="json"))

    def perform():
        person = services.visible_person(partner, payload.personne)
        if person is None:
            return person_not_found()
        reference = payload.reference.strip()
        same_reference = Contract.objects.filter(
            beneficiary=person, organisation_id=partner.organisation_id, external_reference=reference
        )

        def already_recorded():
            existing = same_reference.values_list("pk", flat=True).first()
            return 409, {
                "code": "deja_enregistre",
                "message": f"Le contrat de référence « {reference} » est déjà enregistré "
                f"(contrat n° {existing}).",
            }

        if same_reference.exists():
            return already_recorded()
        try:
            with transaction.atomic():
                contract = accompaniment.create_contract(
                    person,
                    author=partner.service_user,
                    kind=ContractKind(payload.type),
                    organisation=partner.organisation,
                    starts_on=payload.debut,
                    ends_on=payload.fin_prevue,
                    external_reference=reference,
                )
                contract = accompaniment.sign_contract(
                    contract, actor=partner.service_user, on=payload.signe_le
                )
        except IntegrityError:
            # Écriture simultanée de la même référence (autre clé d'idempotence) : la contrainte
            # ``unique_contract_reference`` a refusé la seconde ; même réponse que ci-dessus.
            if not same_reference.exists():
                raise
            return already_recorded()
        except ValidationError as exc:
            return refused(exc, code="contrat_refuse")
        return 201, stored_body(ContractOut, contract_payload(contract))

    return idempotent_response(request, partner, idempotency_key, fingerprint, perform)


# Les autres ressources s'enregistrent sur le même routeur.
from . import api_accompaniment, api_indicators, api_pathway, api_sanctions  # noqa: E402, F401
