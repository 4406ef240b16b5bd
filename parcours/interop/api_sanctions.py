"""API des systèmes partenaires : procédures de sanction (manquements, décisions) et mesures transmises à
l'organisme payeur.

Annexe 5 de la convention (seed 002, 2.1 : « sanctions-remobilisations : mise en place d'échanges sur les
manquements et propositions de sanctions ») : France Travail reçoit le manquement constaté et la décision de
chaque personne qu'il suit, par ces lectures et par les webhooks ``sanction.etape`` ; les mesures transmises à
la CAF ou à la MSA (``sanction.mesure``), avec leur accusé de réception, sont lues par le logiciel du
Département. Mêmes règles que les autres ressources (``api_common.py``) ; ni les faits reprochés, ni les
observations, ni les motifs rédigés ne sont publiés. Portée requise : ``sanctions:lecture``.
"""

import datetime

from django.db.models import F
from ninja import Field, Query, Schema

from parcours.accompaniment.models import SanctionNotice, SanctionStep

from . import services
from .api_common import (
    ONE_ERRORS,
    READ_ERRORS,
    PageMeta,
    SyncQuery,
    cursor_page,
    decimal_number,
    get_one,
    partner_auth,
    router,
)
from .models import Scope


class SanctionStepOut(Schema):
    id: int = Field(..., examples=[5120])
    procedure: int = Field(..., description="Identifiant de la procédure de sanction.", examples=[88])
    personne: int = Field(..., examples=[1042])
    etape: str = Field(
        ...,
        description="opened (manquement constaté), notice_sent, observations, referred, opinion, decided "
        "(décision du Président), notified, regularised (levée), closed ou dropped.",
        examples=["decided"],
    )
    etape_libelle: str = Field(..., examples=["Décision du Président"])
    etape_precedente: str = Field("", examples=["opinion"])
    le: datetime.date = Field(..., description="Date de l'étape.", examples=["2026-04-10"])
    manquement: str = Field(
        ..., description="absences, contrat_non_signe, plan_non_respecte ou autre.", examples=["absences"]
    )
    manquement_libelle: str = Field(..., examples=["Absences répétées aux rendez-vous"])
    decision: str | None = Field(
        None,
        description="Pour les étapes decided, notified, regularised et closed : none, suspension ou "
        "suppression ; `null` avant la décision.",
        examples=["suspension"],
    )
    taux_reduction: int | None = Field(None, examples=[30])
    duree_mois: int | None = Field(None, examples=[2])
    enregistree_le: datetime.datetime = Field(..., examples=["2026-04-10T10:12:00+02:00"])


class SanctionStepPage(PageMeta):
    elements: list[SanctionStepOut]


DECIDED_STEPS = {"decided", "notified", "regularised", "closed"}


def _steps(partner):
    return (
        SanctionStep.objects.filter(services.people_q(partner, "case__beneficiary__"))
        .select_related("case")
        .annotate(beneficiary_id=F("case__beneficiary_id"))
    )


def step_payload(step):
    case = step.case
    decided = step.to_status in DECIDED_STEPS and bool(case.decision)
    return {
        "id": step.pk,
        "procedure": case.pk,
        "personne": case.beneficiary_id,
        "etape": step.to_status,
        "etape_libelle": step.get_to_status_display(),
        "etape_precedente": step.from_status,
        "le": step.occurred_on,
        "manquement": case.ground,
        "manquement_libelle": case.get_ground_display(),
        "decision": case.decision if decided else None,
        "taux_reduction": case.reduction_percent if decided else None,
        "duree_mois": case.duration_months if decided else None,
        "enregistree_le": step.recorded_at,
    }


STEP_DESCRIPTION = (
    "Étapes des procédures de suspension-remobilisation des personnes du périmètre, dans l'ordre "
    "d'enregistrement : le manquement constaté (`opened`), la décision du Président (`decided` : décision, "
    "taux, durée), sa notification, la levée (`regularised`). Une étape n'est jamais modifiée. Les faits, "
    "observations et motifs rédigés ne sont pas transmis. Portée requise : `sanctions:lecture`."
)


@router.get(
    "/sanctions/etapes",
    response={200: SanctionStepPage, **READ_ERRORS},
    auth=partner_auth(Scope.SANCTIONS_READ),
    summary="Manquements et décisions de sanction (synchronisation)",
    description=STEP_DESCRIPTION,
)
def list_sanction_steps(request, query: Query[SyncQuery]):
    return cursor_page(
        request,
        _steps(request.auth),
        query,
        step_payload,
        sync_field="recorded_at",
        person_lookup="case__beneficiary_id",
    )


class SanctionNoticeOut(Schema):
    id: int = Field(..., examples=[301])
    reference: str = Field(
        ..., description="Référence de la ligne du fichier mensuel.", examples=["35-0000088-REDU"]
    )
    procedure: int = Field(..., examples=[88])
    personne: int = Field(..., examples=[1042])
    nature: str = Field(
        ..., description="suspension, reduction, suppression, levee ou restitution.", examples=["reduction"]
    )
    organisme: str = Field(..., description="CAF ou MSA (vide si le foyer est inconnu).", examples=["CAF"])
    matricule: str | None = Field(
        None,
        description="Matricule du foyer : transmis au seul système du Département.",
        examples=["3512345"],
    )
    mois: str = Field(..., description="Mois du fichier (AAAA-MM).", examples=["2026-04"])
    taux_reduction: int | None = Field(None, examples=[30])
    montant_mensuel: float | None = Field(None, examples=[635.71])
    montant_restitue: float | None = Field(None, examples=[None])
    debut: datetime.date | None = Field(None, examples=["2026-04-15"])
    fin: datetime.date | None = Field(None, examples=["2026-06-14"])
    statut: str = Field(..., description="a_transmettre, transmis, accuse ou rejete.", examples=["transmis"])
    transmise_le: datetime.date | None = Field(None, examples=["2026-05-02"])
    reponse_le: datetime.date | None = Field(None, examples=[None])
    motif_rejet: str = Field("", examples=[""])
    modifie_le: datetime.datetime = Field(..., examples=["2026-05-02T09:00:00+02:00"])


class SanctionNoticePage(PageMeta):
    elements: list[SanctionNoticeOut]


def _notices(partner):
    return SanctionNotice.objects.filter(services.people_q(partner, "beneficiary__"))


def notice_payload(notice, with_identifiers=False):
    return {
        "id": notice.pk,
        "reference": notice.reference,
        "procedure": notice.case_id,
        "personne": notice.beneficiary_id,
        "nature": notice.measure,
        "organisme": notice.organism,
        "matricule": notice.matricule if with_identifiers else None,
        "mois": f"{notice.month:%Y-%m}",
        "taux_reduction": notice.reduction_percent,
        "montant_mensuel": decimal_number(notice.monthly_amount),
        "montant_restitue": decimal_number(notice.amount),
        "debut": notice.starts_on,
        "fin": notice.ends_on,
        "statut": notice.status,
        "transmise_le": notice.transmitted_on,
        "reponse_le": notice.answered_on,
        "motif_rejet": notice.rejection_reason,
        "modifie_le": notice.updated_at,
    }


NOTICE_DESCRIPTION = (
    "Mesures à transmettre à l'organisme payeur (CAF ou MSA) produites par les décisions notifiées, les "
    "levées et les restitutions, avec leur statut (à transmettre, transmise, accusé de réception, rejetée). "
    "Le matricule n'est transmis qu'au système du Département. Portée requise : `sanctions:lecture`."
)


@router.get(
    "/sanctions/mesures",
    response={200: SanctionNoticePage, **READ_ERRORS},
    auth=partner_auth(Scope.SANCTIONS_READ),
    summary="Mesures de sanction pour l'organisme payeur (synchronisation)",
    description=NOTICE_DESCRIPTION,
)
def list_sanction_notices(request, query: Query[SyncQuery]):
    with_identifiers = services.sees_nir(request.auth)
    return cursor_page(
        request, _notices(request.auth), query, lambda notice: notice_payload(notice, with_identifiers)
    )


@router.get(
    "/sanctions/mesures/{notice_id}",
    response={200: SanctionNoticeOut, **ONE_ERRORS},
    auth=partner_auth(Scope.SANCTIONS_READ),
    summary="Une mesure de sanction pour l'organisme payeur",
    description="La mesure désignée par un événement `sanction.mesure` (champ `donnees.mesure`). "
    + NOTICE_DESCRIPTION,
)
def get_sanction_notice(request, notice_id: int):
    with_identifiers = services.sees_nir(request.auth)
    return get_one(
        request, _notices(request.auth), notice_id, lambda notice: notice_payload(notice, with_identifiers)
    )
