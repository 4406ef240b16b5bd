"""API du catalogue (monté sous ``/api/v1/catalogue/``).

- ``GET services`` / ``GET structures`` : publication des services et structures saisis dans Parcours,
  au schéma data·inclusion v1, par pages ``{items, total, page, size, pages}`` comme l'API
  data·inclusion (de quoi être moissonné : sans authentification, ce sont des données publiques ; les
  données internes du Département n'y figurent jamais) ;
- ``GET recherche`` : la recherche des référents (mêmes filtres que la page web) ;
- ``GET/POST prescriptions`` : prescriptions des personnes du périmètre de l'agent.
"""

import datetime

from data_inclusion.schema import v1
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from parcours.beneficiaries.models import Beneficiary

from . import conf
from . import prescriptions as rx
from .models import PrescriptionStatus, Service
from .search import SearchParams, search
from .services import paginate, published_services, published_structures, service_payload, structure_payload

router = Router(tags=["catalogue"])


class ServiceV1(v1.Service):
    """Service au schéma data·inclusion v1 (listes triées plutôt qu'ensembles, pour une sortie stable)."""

    thematiques: list[v1.Thematique] | None = None
    publics: list[v1.Public] | None = None
    modes_accueil: list[v1.ModeAccueil] | None = None
    modes_mobilisation: list[v1.ModeMobilisation] | None = None
    mobilisable_par: list[v1.PersonneMobilisatrice] | None = None


class StructureV1(v1.Structure):
    reseaux_porteurs: list[v1.ReseauPorteur] | None = None


class ServicePage(Schema):
    items: list[ServiceV1]
    total: int
    page: int
    size: int
    pages: int


class StructurePage(Schema):
    items: list[StructureV1]
    total: int
    page: int
    size: int
    pages: int


class Error(Schema):
    code: str
    message: str


class PageQuery(Schema):
    page: int = Field(1, ge=1, description="numéro de page, à partir de 1")
    size: int = Field(None, ge=1, description="taille de page (défaut et maximum : réglages du catalogue)")


def _size(size):
    return min(size or conf.get("api_page_size"), conf.get("api_max_page_size"))


@router.get(
    "/services",
    response=ServicePage,
    auth=None,
    openapi_extra={"x-parcours-acces": "public"},  # données ouvertes (schéma data·inclusion)
    summary="Services publiés (schéma data·inclusion v1), sans authentification",
)
def list_services(request, query: Query[PageQuery]):
    return paginate(published_services(), query.page, _size(query.size), service_payload)


@router.get(
    "/services/{service_id}",
    response={200: ServiceV1, 404: Error},
    auth=None,
    openapi_extra={"x-parcours-acces": "public"},  # données ouvertes (schéma data·inclusion)
    summary="Un service publié (identifiant du schéma)",
)
def get_service(request, service_id: str):
    service = published_services().filter(di_id=service_id).first()
    if service is None:
        return 404, {
            "code": "service_introuvable",
            "message": "Aucun service publié ne porte cet identifiant.",
        }
    return service_payload(service)


@router.get(
    "/structures",
    response=StructurePage,
    auth=None,
    openapi_extra={"x-parcours-acces": "public"},  # données ouvertes (schéma data·inclusion)
    summary="Structures publiées (schéma data·inclusion v1), sans authentification",
)
def list_structures(request, query: Query[PageQuery]):
    return paginate(published_structures(), query.page, _size(query.size), structure_payload)


class SearchQuery(Schema):
    commune: str = Field("", description="code INSEE, code postal ou nom de commune")
    rayon: int | None = Field(None, ge=1, le=200, description="rayon en km autour du centre de la commune")
    thematiques: list[str] = Field(
        [], description="thématiques ou catégories (une catégorie vaut ses thématiques)"
    )
    publics: list[str] = []
    types: list[str] = []
    frais: list[str] = []
    q: str = Field("", description="texte libre (accents et casse ignorés)")
    distance: bool = Field(True, description="inclure les services à distance")
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=1, le=100)


class SearchItem(Schema):
    service: dict = Field(description="service au schéma data·inclusion v1")
    distance: float | None = Field(None, description="distance au centre de la commune, en km")
    mode: str = Field(description="presentiel, distance ou tous (sans commune)")
    parcours_id: int


class SearchPage(Schema):
    items: list[SearchItem]
    total: int
    page: int
    size: int
    pages: int
    commune: str | None = None
    messages: list[str] = []


@router.get("/recherche", response=SearchPage, summary="Recherche de services pour un référent")
def search_services(request, query: Query[SearchQuery]):
    data = {
        "commune": query.commune,
        "rayon": str(query.rayon) if query.rayon else "",
        "thematiques": query.thematiques,
        "publics": query.publics,
        "types": query.types,
        "frais": query.frais,
        "q": query.q,
        "distance": "1" if query.distance else "0",
        "page": str(query.page),
    }
    outcome = search(SearchParams.from_query(data), page_size=query.size)
    return {
        "items": [
            {
                "service": r.service.to_schema(),
                "distance": round(r.distance_km, 2) if r.distance_km is not None else None,
                "mode": r.mode,
                "parcours_id": r.service.pk,
            }
            for r in outcome.results
        ],
        "total": outcome.total,
        "page": outcome.page,
        "size": query.size,
        "pages": outcome.pages,
        "commune": outcome.place.label if outcome.place else None,
        "messages": outcome.messages,
    }


# --------------------------------------------------------------------------------------------------
# Prescriptions


class PrescriptionIn(Schema):
    beneficiary_id: int
    service_id: int = Field(description="identifiant Parcours du service (champ parcours_id de la recherche)")
    share: list[str] = Field(
        [],
        description="données à transmettre en plus du nom et du prénom : " + ", ".join(rx.SHAREABLE_LABELS),
    )
    message: str = ""
    consent: bool = Field(description="la personne a été informée et consent à la transmission (obligatoire)")


class PrescriptionOut(Schema):
    id: int
    beneficiary_id: int
    service_id: int
    service: str
    structure: str
    status: str
    created_at: datetime.datetime
    expires_on: datetime.date
    answered_at: datetime.datetime | None
    refusal_reason: str
    volume_horaire_hebdomadaire: float | None
    nombre_semaines: int | None


def _out(p):
    return {
        "id": p.pk,
        "beneficiary_id": p.beneficiary_id,
        "service_id": p.service_id,
        "service": p.service.nom,
        "structure": p.structure.nom,
        "status": p.status,
        "created_at": p.created_at,
        "expires_on": p.expires_on,
        "answered_at": p.answered_at,
        "refusal_reason": p.refusal_reason,
        "volume_horaire_hebdomadaire": p.volume_horaire_hebdomadaire,
        "nombre_semaines": p.nombre_semaines,
    }


class PrescriptionFilter(Schema):
    beneficiary_id: int | None = None
    status: PrescriptionStatus | None = None


@router.get(
    "/prescriptions", response=list[PrescriptionOut], summary="Prescriptions des personnes du périmètre"
)
def list_prescriptions(request, filters: Query[PrescriptionFilter]):
    qs = rx.visible_prescriptions(request.user).select_related("service", "structure")
    if filters.beneficiary_id:
        qs = qs.filter(beneficiary_id=filters.beneficiary_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return [_out(p) for p in qs[:500]]


@router.post(
    "/prescriptions",
    response={201: PrescriptionOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Prescrire un service à une personne",
)
def create_prescription(request, payload: PrescriptionIn):
    beneficiary = Beneficiary.objects.visible_to(request.user).filter(pk=payload.beneficiary_id).first()
    if beneficiary is None:
        return 404, {"code": "personne_introuvable", "message": "Personne introuvable dans votre périmètre."}
    service = get_object_or_404(Service, pk=payload.service_id)
    unknown = [name for name in payload.share if name not in rx.SHAREABLE_LABELS]
    if unknown:
        return 400, {"code": "donnees_inconnues", "message": f"Données inconnues : {', '.join(unknown)}."}
    shared = rx.build_shared_data(rx.prefill(beneficiary), set(payload.share))
    try:
        prescription = rx.create_prescription(
            user=request.user,
            beneficiary=beneficiary,
            service=service,
            shared_data=shared,
            message=payload.message,
            consent=payload.consent,
            request=request,
        )
    except rx.PrescriptionError as exc:
        status = {"interdit": 403, "doublon": 409, "service_inactif": 409}.get(exc.code, 400)
        return status, {"code": exc.code, "message": exc.message}
    return 201, _out(prescription)
