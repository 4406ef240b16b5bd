"""API des systèmes partenaires : écritures du parcours (orientation notifiée, référent désigné).

Un système partenaire (France Travail, Mission locale, logiciel du Département) reprend les personnes qui
lui sont orientées : il transmet les orientations qu'il notifie et désigne le référent unique dans son
organisation. Ces écritures appellent les mêmes fonctions que les pages (``orientation.decide_orientation``,
``orientation.assign_referent``) : mêmes règles, même suivi en cours, mêmes événements du journal.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from ninja import Field, Schema

from parcours.accounts.models import Membership, Organisation
from parcours.orientation import services as orientation
from parcours.orientation.models import FRANCE_TRAVAIL_CODES, Pathway
from parcours.pathway import services as pathway_services

from . import services
from .api import OrientationOut, orientation_payload
from .api_common import (
    EARLIEST,
    LATEST,
    Error,
    OrganisationOut,
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

PATHWAY_BY_CODE = {code: pathway for pathway, code in FRANCE_TRAVAIL_CODES.items()}


class OrientationIn(Schema):
    personne: int = Field(..., ge=1, le=2**31 - 1, examples=[1042])
    parcours: str = Field(
        ...,
        description="emploi, socio_professionnel ou social — ou le code d'échange France Travail PED, PSP, PSO.",
        examples=["PED"],
        pattern="^(emploi|socio_professionnel|social|PED|PSP|PSO)$",
    )
    organisation: str = Field(
        "",
        max_length=20,
        description="SIRET ou code de l'organisme d'orientation ; par défaut l'organisation du système.",
        examples=["13000548100010"],
    )
    notifiee_le: datetime.date = Field(..., ge=EARLIEST, le=LATEST, examples=["2026-03-12"])
    motif: str = Field("", max_length=500)


class ReferentIn(Schema):
    personne: int = Field(..., ge=1, le=2**31 - 1, examples=[1042])
    referent: str = Field(
        ..., max_length=254, description="Adresse électronique de l'agent dans Parcours.", examples=["a@b.fr"]
    )
    designe_le: datetime.date = Field(..., ge=EARLIEST, le=LATEST, examples=["2026-03-14"])


class EndFollowUpIn(Schema):
    personne: int = Field(..., ge=1, le=2**31 - 1, examples=[1042])
    fin_le: datetime.date = Field(..., ge=EARLIEST, le=LATEST, examples=["2026-04-30"])
    motif: str = Field(..., min_length=1, max_length=200, examples=["Déménagement hors du Département"])


class FollowUpOut(Schema):
    personne: int
    organisation: OrganisationOut
    debut: datetime.date
    fin: datetime.date | None = None
    motif_fin: str = ""


class ReferentOut(Schema):
    id: int
    personne: int
    referent: str = Field(..., description="Adresse électronique du référent.")
    organisation: OrganisationOut
    debut: datetime.date
    fin: datetime.date | None = None


def _organisation(partner, identifier):
    if not identifier:
        return partner.organisation
    departement_id = partner.organisation.departement_id or partner.organisation.pk
    return (
        Organisation.objects.filter(Q(siret=identifier) | Q(code=identifier))
        .filter(Q(pk=departement_id) | Q(departement_id=departement_id))
        .first()
    )


@router.post(
    "/orientations",
    response={201: OrientationOut, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error},
    auth=partner_auth(Scope.ORIENTATIONS_WRITE),
    summary="Transmettre une orientation notifiée à une personne",
    description=(
        "Enregistre une orientation décidée et notifiée dans le logiciel du partenaire, pour une personne de "
        "son périmètre : mêmes règles et mêmes effets qu'à l'écran (la décision devient l'orientation en "
        "vigueur, le suivi en cours passe à l'organisme d'orientation, le délai d'orientation du nouvel "
        "entrant s'arrête à la date de notification). Portée requise : `orientations:ecriture` ; en-tête "
        "`Idempotency-Key` obligatoire."
    ),
)
def post_orientation(request, payload: OrientationIn, idempotency_key: str = idempotency_key_header()):
    partner = request.auth
    fingerprint = services.request_hash("POST", "orientations", payload.model_dump(mode="json"))

    def perform():
        person = services.visible_person(partner, payload.personne)
        if person is None:
            return person_not_found()
        organisation = _organisation(partner, payload.organisation.strip())
        if organisation is None:
            return not_found(
                f"Organisme d'orientation « {payload.organisation} » inconnu dans ce Département."
            )
        pathway = PATHWAY_BY_CODE.get(payload.parcours, payload.parcours)
        try:
            decision = orientation.decide_orientation(
                person,
                pathway=Pathway(pathway),
                organisation=organisation,
                author=partner.service_user,
                decided_on=payload.notifiee_le,
                notified_on=payload.notifiee_le,
                reason=payload.motif.strip(),
            )
        except ValidationError as exc:
            return refused(exc, code="orientation_refusee")
        return 201, stored_body(OrientationOut, orientation_payload(decision))

    return idempotent_response(request, partner, idempotency_key, fingerprint, perform)


@router.post(
    "/referents",
    response={201: ReferentOut, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error},
    auth=partner_auth(Scope.REFERENTS_WRITE),
    summary="Désigner le référent unique d'une personne suivie",
    description=(
        "Désigne un agent de l'organisation du système comme référent unique d'une personne de son "
        "périmètre (par exemple une personne orientée vers France Travail) : mêmes règles qu'à l'écran "
        "(agent de l'organisation, taille cible du portefeuille, territoire), le suivi en cours porte le "
        "référent et la personne entre dans son portefeuille. Portée requise : `referents:ecriture` ; "
        "en-tête `Idempotency-Key` obligatoire."
    ),
)
def post_referent(request, payload: ReferentIn, idempotency_key: str = idempotency_key_header()):
    partner = request.auth
    fingerprint = services.request_hash("POST", "referents", payload.model_dump(mode="json"))

    def perform():
        person = services.visible_person(partner, payload.personne)
        if person is None:
            return person_not_found()
        membership = (
            Membership.objects.filter(
                organisation=partner.organisation,
                is_active=True,
                user__email__iexact=payload.referent.strip(),
            )
            .select_related("user")
            .first()
        )
        if membership is None:
            return not_found(f"Aucun agent « {payload.referent} » dans {partner.organisation}.")
        try:
            result = orientation.assign_referent(
                person,
                referent=membership.user,
                organisation=partner.organisation,
                author=partner.service_user,
                started_on=payload.designe_le,
            )
        except ValidationError as exc:
            return refused(exc, code="designation_refusee")
        assignment = result.assignment
        body = {
            "id": assignment.pk,
            "personne": person.pk,
            "referent": membership.user.email,
            "organisation": organisation_payload(partner.organisation),
            "debut": assignment.started_on,
            "fin": assignment.ended_on,
        }
        return 201, stored_body(ReferentOut, body)

    return idempotent_response(request, partner, idempotency_key, fingerprint, perform)


@router.post(
    "/fins-de-suivi",
    response={200: FollowUpOut, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error},
    auth=partner_auth(Scope.FOLLOW_UPS_WRITE),
    summary="Mettre fin au suivi d'une personne",
    description=(
        "Fin de suivi explicite décidée par l'organisation qui a la personne en charge (ou par le Département) : "
        "le suivi en cours et la désignation du référent sont clos à la date donnée, la personne quitte le "
        "portefeuille (annexe 4 : plus de suivi en cours). Portée requise : `suivis:ecriture` ; en-tête "
        "`Idempotency-Key` obligatoire."
    ),
)
def post_end_follow_up(request, payload: EndFollowUpIn, idempotency_key: str = idempotency_key_header()):
    partner = request.auth
    fingerprint = services.request_hash("POST", "fins-de-suivi", payload.model_dump(mode="json"))

    def perform():
        person = services.visible_person(partner, payload.personne)
        if person is None:
            return person_not_found()
        try:
            follow_up = pathway_services.end_follow_up(
                person, on=payload.fin_le, reason=payload.motif, author=partner.service_user
            )
        except ValidationError as exc:
            return refused(exc, code="fin_de_suivi_refusee")
        body = {
            "personne": person.pk,
            "organisation": organisation_payload(follow_up.organisation),
            "debut": follow_up.started_on,
            "fin": follow_up.ended_on,
            "motif_fin": follow_up.end_reason,
        }
        return 200, stored_body(FollowUpOut, body)

    return idempotent_response(request, partner, idempotency_key, fingerprint, perform)
