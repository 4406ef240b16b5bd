"""API des systèmes partenaires : droits RSA, diagnostics, activités, prescriptions et sorties.

Mêmes règles que les autres ressources (``api_common.py``) : portée par opération, périmètre de
l'organisation du système (``services.people_q`` et ses variantes), pagination par curseur sur (date de
modification, identifiant), filtre ``updated_after``. Ne sont publiés que les champs structurés dont un
partenaire a besoin : jamais les textes libres (observations, précisions, santé).
"""

import datetime

from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Query, Schema

from parcours.accompaniment.models import DiagnosticVersion, Exit, PlannedActivity, Situation
from parcours.beneficiaries.models import HouseholdComposition, RsaRight
from parcours.catalogue.models import Prescription

from . import services
from .api_common import (
    ONE_ERRORS,
    READ_ERRORS,
    OrganisationOut,
    PageMeta,
    SyncQuery,
    cursor_page,
    decimal_number,
    get_one,
    organisation_payload,
    partner_auth,
    router,
)
from .models import Scope


def _local_date(moment):
    return None if moment is None else timezone.localdate(moment)


# --- droits RSA -----------------------------------------------------------------------------------------------


class CompositionOut(Schema):
    """Composition du foyer selon le dernier flux qui l'a dite (``beneficiaries.household``)."""

    depuis: datetime.date = Field(
        ..., description="Date de référence du flux qui a donné cette composition.", examples=["2026-01-31"]
    )
    adultes: int = Field(..., description="Demandeur et conjoint.", examples=[1])
    conjoint: bool = Field(..., examples=[False])
    enfants: int = Field(..., description="Enfants du foyer (rôle ENF).", examples=[2])
    autres_personnes: int = Field(..., description="Autres personnes du foyer (rôle AUT).", examples=[0])
    personnes_a_charge: int | None = Field(
        None,
        description="Enfants et autres personnes à charge (NBENFAUTCHA), si le flux le dit.",
        examples=[2],
    )
    personnes: int = Field(..., description="Personnes au foyer.", examples=[3])
    parent_isole: bool = Field(
        ..., description="Un seul adulte (demandeur sans conjoint) avec au moins un enfant.", examples=[True]
    )
    suspension_plafonnee: bool = Field(
        ...,
        description="Foyer de plus d'une personne ou parent isolé : une suspension du RSA est plafonnée "
        "(réglage du Département, 50 % par défaut).",
        examples=[True],
    )


def composition_payload(composition):
    if composition is None:
        return None
    return {
        "depuis": composition.valid_from,
        "adultes": composition.adults,
        "conjoint": composition.partner,
        "enfants": composition.children,
        "autres_personnes": composition.others,
        "personnes_a_charge": composition.dependants,
        "personnes": composition.persons,
        "parent_isole": composition.single_parent,
        "suspension_plafonnee": composition.capped,
    }


class RsaRightOut(Schema):
    id: int = Field(..., examples=[318])
    personnes: list[int] = Field(
        ...,
        description="Personnes du foyer qui sont dans le périmètre du système (demandeur, conjoint…).",
        examples=[[1042, 1043]],
    )
    organisme: str = Field(..., description="Organisme payeur : CAF ou MSA.", examples=["CAF"])
    matricule: str | None = Field(
        None,
        description="Matricule du foyer à la CAF ou à la MSA : transmis au seul système du Département.",
        examples=["1234567"],
    )
    numero_demande: str | None = Field(
        None,
        description="Numéro de la demande RSA : transmis au seul système du Département.",
        examples=["RSA-35-000123"],
    )
    etat: str = Field(..., description="État CNAF du droit (ETATDOSRSA, 0 à 6).", examples=["2"])
    etat_libelle: str = Field(..., examples=["Droit ouvert et versable"])
    etat_depuis: datetime.date | None = Field(
        None, description="Date du flux qui a fait passer le droit dans cet état.", examples=["2026-03-01"]
    )
    demande_le: datetime.date | None = Field(None, description="Date de la demande.", examples=["2026-01-28"])
    ouvert_le: datetime.date | None = Field(
        None, description="Date d'ouverture du droit.", examples=["2026-02-08"]
    )
    motif_suspension: str = Field(
        "",
        description="Code CNAF du motif de suspension (vide si le droit n'est pas suspendu).",
        examples=[""],
    )
    motif_cloture: str = Field("", description="Code CNAF du motif de clôture.", examples=[""])
    clos_le: datetime.date | None = Field(None, description="Date de clôture du droit.", examples=[None])
    composition: CompositionOut | None = Field(
        None,
        description="Composition du foyer en vigueur aujourd'hui selon les flux (null si aucun flux ne l'a dite). "
        "Un flux qui la change fait avancer `modifie_le`.",
    )
    modifie_le: datetime.datetime = Field(
        ...,
        description="Dernière modification (nouveau flux qui change le droit).",
        examples=["2026-03-02T06:10:00+01:00"],
    )


class RsaRightPage(PageMeta):
    elements: list[RsaRightOut]


def _rights(partner):
    members = services.visible_people(partner).order_by("pk").only("pk", "household_id")
    return (
        RsaRight.objects.filter(services.rights_q(partner))
        .select_related("household")
        .prefetch_related(
            Prefetch("household__members", queryset=members, to_attr="visible_members"),
            Prefetch(
                "household__compositions",
                queryset=HouseholdComposition.objects.filter(valid_from__lte=timezone.localdate()).order_by(
                    "-valid_from"
                ),
                to_attr="past_compositions",
            ),
        )
    )


def right_payload(right, with_identifiers):
    household = right.household
    return {
        "id": right.pk,
        "personnes": [m.pk for m in household.visible_members],
        "organisme": household.organism,
        "matricule": household.matricule if with_identifiers else None,
        "numero_demande": right.rsa_number if with_identifiers else None,
        "etat": right.state,
        "etat_libelle": right.get_state_display() if right.state else "",
        "etat_depuis": right.state_since,
        "demande_le": right.requested_on,
        "ouvert_le": right.opened_on,
        "motif_suspension": right.suspension_reason,
        "motif_cloture": right.closure_reason,
        "clos_le": right.closed_on,
        "composition": composition_payload(next(iter(household.past_compositions), None)),
        "modifie_le": right.updated_at,
    }


@router.get(
    "/droits",
    response={200: RsaRightPage, **READ_ERRORS},
    auth=partner_auth(Scope.RIGHTS_READ),
    summary="Droits RSA des foyers (synchronisation)",
    description=(
        "État courant du droit RSA de chaque foyer dont une personne au moins est dans le périmètre du "
        "système, tel que le disent les flux CAF/MSA (l'état est aussi résumé dans chaque personne, "
        "champ `droit`). Un nouveau flux qui change le droit fait avancer `modifie_le` ; un flux qui ne "
        "change rien ne le fait pas. Le matricule et le numéro de demande ne sont transmis qu'au système "
        "du Département. Filtre `personne` : le droit du foyer de cette personne. "
        "Portée requise : `droits:lecture`."
    ),
)
def list_rights(request, query: Query[SyncQuery]):
    partner = request.auth
    with_identifiers = services.sees_nir(partner)
    return cursor_page(
        request,
        _rights(partner),
        query,
        lambda right: right_payload(right, with_identifiers),
        person_lookup="household__members",
    )


@router.get(
    "/droits/{right_id}",
    response={200: RsaRightOut, **ONE_ERRORS},
    auth=partner_auth(Scope.RIGHTS_READ),
    summary="Le droit RSA d'un foyer",
    description="Portée requise : `droits:lecture`.",
)
def get_right(request, right_id: int):
    partner = request.auth
    with_identifiers = services.sees_nir(partner)
    return get_one(request, _rights(partner), right_id, lambda right: right_payload(right, with_identifiers))


# --- diagnostics ------------------------------------------------------------------------------------------------


class SituationOut(Schema):
    code: str = Field(..., examples=["pas_de_permis"])
    libelle: str = Field(..., examples=["Pas de permis de conduire"])


class DiagnosticThemeOut(Schema):
    code: str = Field(..., description="Code du thème (référentiel du diagnostic).", examples=["mobilite"])
    libelle: str = Field(..., examples=["Mobilité"])
    nature: str = Field(
        ...,
        description="frein (frein périphérique), emploi (situation professionnelle) ou projet (projet "
        "professionnel).",
        examples=["frein"],
    )
    code_france_travail: str = Field(
        "", description="Code « contrainte » France Travail du thème, s'il existe.", examples=["MOB"]
    )
    situations: list[SituationOut] = Field(..., description="Situations retenues dans ce thème.")


class DiagnosticOut(Schema):
    id: int = Field(..., examples=[77])
    personne: int = Field(..., examples=[1042])
    version: int = Field(
        ..., description="Numéro de version (chaque enregistrement du diagnostic en crée une).", examples=[2]
    )
    realise_le: datetime.date = Field(
        ..., description="Date de l'entretien de diagnostic.", examples=["2026-03-12"]
    )
    conjoint: bool = Field(
        ..., description="Diagnostic conjoint avec France Travail (« double regard »).", examples=[True]
    )
    themes: list[DiagnosticThemeOut] = Field(
        ...,
        description="Freins et situations retenus, par thème, hors thème sensible (santé), jamais transmis.",
    )
    code_rome: str = Field("", description="Métier recherché (code ROME).", examples=["K2204"])
    disponible_le: datetime.date | None = Field(
        None, description="Disponible à partir du.", examples=["2026-04-01"]
    )
    disponibilite_hebdomadaire_heures: int | None = Field(
        None, description="Disponibilité hebdomadaire (heures).", examples=[20]
    )
    organisation: OrganisationOut | None = Field(
        None, description="Organisation de l'auteur du diagnostic (l'agent lui-même n'est pas transmis)."
    )
    modifie_le: datetime.datetime = Field(
        ...,
        description="Date d'enregistrement de la version : une version n'est jamais modifiée (une "
        "correction crée une nouvelle version), c'est donc aussi la clé de synchronisation.",
        examples=["2026-03-12T11:20:00+01:00"],
    )


class DiagnosticPage(PageMeta):
    elements: list[DiagnosticOut]


def _diagnostics(partner):
    shared = (
        Situation.objects.filter(theme__sensitive=False)
        .select_related("theme")
        .order_by("theme__position", "theme__label", "position", "label")
    )
    return (
        DiagnosticVersion.objects.filter(services.people_q(partner, "beneficiary__"))
        .select_related("organisation")
        .prefetch_related(Prefetch("situations", queryset=shared, to_attr="shared_situations"))
    )


def diagnostic_payload(version):
    themes = {}
    for situation in version.shared_situations:
        theme = situation.theme
        entry = themes.get(theme.pk)
        if entry is None:
            entry = themes[theme.pk] = {
                "code": theme.code,
                "libelle": theme.label,
                "nature": theme.kind,
                "code_france_travail": theme.france_travail_code,
                "situations": [],
            }
        entry["situations"].append({"code": situation.code, "libelle": situation.label})
    return {
        "id": version.pk,
        "personne": version.beneficiary_id,
        "version": version.number,
        "realise_le": version.conducted_on,
        "conjoint": version.joint,
        "themes": list(themes.values()),
        "code_rome": version.rome_code,
        "disponible_le": version.available_from,
        "disponibilite_hebdomadaire_heures": version.weekly_availability_hours,
        "organisation": organisation_payload(version.organisation),
        "modifie_le": version.created_at,
    }


DIAGNOSTIC_DESCRIPTION = (
    "Versions du diagnostic socio-professionnel des personnes du périmètre (historique compris). Données "
    "sociales sensibles : seuls sont transmis les thèmes et situations retenus (freins périphériques, "
    "situation professionnelle, projet), les dates, le métier recherché (code ROME), la disponibilité et "
    "l'organisation de l'auteur. **Jamais** les textes libres (compétences, projet rédigé, contraintes de "
    "disponibilité, observations), ni le thème sensible (santé) et ses précisions, ni le nom de l'agent. "
    "Portée requise : `diagnostics:lecture`."
)


@router.get(
    "/diagnostics",
    response={200: DiagnosticPage, **READ_ERRORS},
    auth=partner_auth(Scope.DIAGNOSTICS_READ),
    summary="Diagnostics socio-professionnels : freins et thèmes (synchronisation)",
    description=DIAGNOSTIC_DESCRIPTION,
)
def list_diagnostics(request, query: Query[SyncQuery]):
    return cursor_page(
        request, _diagnostics(request.auth), query, diagnostic_payload, sync_field="created_at"
    )


@router.get(
    "/diagnostics/{diagnostic_id}",
    response={200: DiagnosticOut, **ONE_ERRORS},
    auth=partner_auth(Scope.DIAGNOSTICS_READ),
    summary="Une version du diagnostic",
    description=DIAGNOSTIC_DESCRIPTION,
)
def get_diagnostic(request, diagnostic_id: int):
    return get_one(request, _diagnostics(request.auth), diagnostic_id, diagnostic_payload)


# --- activités du plan d'accompagnement ---------------------------------------------------------------------------


class ServiceRefOut(Schema):
    id: int = Field(..., examples=[5521])
    nom: str = Field(..., examples=["Atelier mobilité — permis accompagné"])


class ActivityOut(Schema):
    id: int = Field(..., examples=[904])
    personne: int = Field(..., examples=[1042])
    type: str = Field(
        ...,
        description="formation, immersion, iae, atelier, sante, mobilite, recherche_emploi ou demarches.",
        examples=["formation"],
    )
    type_libelle: str = Field(..., examples=["Formation"])
    intitule: str = Field(..., examples=["Titre professionnel agent de propreté"])
    service: ServiceRefOut | None = Field(None, description="Service du catalogue, s'il en vient un.")
    prestataire: str = Field("", description="Prestataire (hors catalogue).", examples=["AFPA Rennes"])
    heures_hebdomadaires: float = Field(..., description="Heures par semaine.", examples=[20.0])
    semaines: int = Field(..., description="Nombre de semaines.", examples=[12])
    debut: datetime.date = Field(..., examples=["2026-04-06"])
    statut: str = Field(
        ...,
        description="planned (prévue), in_progress (en cours), done (réalisée) ou abandoned (abandonnée).",
        examples=["in_progress"],
    )
    heures_realisees: float | None = Field(None, description="Heures réalisées au total.", examples=[80.0])
    modifie_le: datetime.datetime = Field(..., examples=["2026-04-20T09:00:00+02:00"])


class ActivityPage(PageMeta):
    elements: list[ActivityOut]


def _activities(partner):
    return PlannedActivity.objects.filter(services.people_q(partner, "beneficiary__")).select_related(
        "service"
    )


def activity_payload(activity):
    service = activity.service
    return {
        "id": activity.pk,
        "personne": activity.beneficiary_id,
        "type": activity.kind,
        "type_libelle": activity.get_kind_display(),
        "intitule": activity.label,
        "service": {"id": service.pk, "nom": service.nom} if service else None,
        "prestataire": activity.provider,
        "heures_hebdomadaires": decimal_number(activity.weekly_hours),
        "semaines": activity.weeks,
        "debut": activity.starts_on,
        "statut": activity.status,
        "heures_realisees": decimal_number(activity.actual_hours),
        "modifie_le": activity.updated_at,
    }


ACTIVITY_DESCRIPTION = (
    "Activités du plan d'accompagnement (15 à 20 heures par semaine) des personnes du périmètre : type, "
    "intitulé, heures par semaine × semaines, statut, heures réalisées. Le compte rendu libre (« ce qui "
    "s'est passé ») n'est pas transmis. Portée requise : `activites:lecture`."
)


@router.get(
    "/activites",
    response={200: ActivityPage, **READ_ERRORS},
    auth=partner_auth(Scope.ACTIVITIES_READ),
    summary="Activités du plan d'accompagnement (synchronisation)",
    description=ACTIVITY_DESCRIPTION,
)
def list_activities(request, query: Query[SyncQuery]):
    return cursor_page(request, _activities(request.auth), query, activity_payload)


@router.get(
    "/activites/{activity_id}",
    response={200: ActivityOut, **ONE_ERRORS},
    auth=partner_auth(Scope.ACTIVITIES_READ),
    summary="Une activité du plan d'accompagnement",
    description=ACTIVITY_DESCRIPTION,
)
def get_activity(request, activity_id: int):
    return get_one(request, _activities(request.auth), activity_id, activity_payload)


# --- prescriptions vers le catalogue ------------------------------------------------------------------------------


class StructureRefOut(Schema):
    id: int = Field(..., examples=[310])
    nom: str = Field(..., examples=["Association Mobilité 35"])
    siret: str = Field("", examples=["12345678900012"])


class PrescriptionOut(Schema):
    id: int = Field(..., examples=[2210])
    personne: int = Field(..., examples=[1042])
    service: ServiceRefOut
    structure: StructureRefOut
    organisation_prescriptrice: OrganisationOut | None = Field(
        None, description="Organisation de l'agent qui a prescrit."
    )
    statut: str = Field(
        ...,
        description="open (en attente de réponse), accepted (acceptée), refused (refusée) ou expired "
        "(expirée sans réponse).",
        examples=["accepted"],
    )
    envoyee_le: datetime.date | None = Field(None, examples=["2026-03-20"])
    expire_le: datetime.date = Field(..., description="Sans réponse à cette date, la prescription expire.")
    repondue_le: datetime.date | None = Field(None, examples=["2026-03-24"])
    motif_refus: str = Field(
        "",
        description="not_adapted, not_eligible, no_place, unreachable, declined, duplicate ou other.",
        examples=[""],
    )
    debut_prevu: datetime.date | None = Field(None, examples=["2026-04-06"])
    heures_hebdomadaires: float | None = Field(
        None, description="Heures par semaine (copiées du service à l'acceptation).", examples=[6.0]
    )
    semaines: int | None = Field(None, examples=[8])
    creee_le: datetime.datetime = Field(..., examples=["2026-03-20T10:15:00+01:00"])
    modifie_le: datetime.datetime = Field(..., examples=["2026-03-24T16:02:00+01:00"])


class PrescriptionPage(PageMeta):
    elements: list[PrescriptionOut]


def _prescriptions(partner):
    return Prescription.objects.filter(services.prescriptions_q(partner)).select_related(
        "service", "structure", "prescriber_organisation"
    )


def prescription_payload(prescription):
    structure = prescription.structure
    return {
        "id": prescription.pk,
        "personne": prescription.beneficiary_id,
        "service": {"id": prescription.service_id, "nom": prescription.service.nom},
        "structure": {"id": structure.pk, "nom": structure.nom, "siret": structure.siret},
        "organisation_prescriptrice": organisation_payload(prescription.prescriber_organisation),
        "statut": prescription.status,
        "envoyee_le": _local_date(prescription.sent_at),
        "expire_le": prescription.expires_on,
        "repondue_le": _local_date(prescription.answered_at),
        "motif_refus": prescription.refusal_reason,
        "debut_prevu": prescription.start_on,
        "heures_hebdomadaires": prescription.volume_horaire_hebdomadaire,
        "semaines": prescription.nombre_semaines,
        "creee_le": prescription.created_at,
        "modifie_le": prescription.updated_at,
    }


PRESCRIPTION_DESCRIPTION = (
    "Prescriptions (orientations vers un service du catalogue de l'offre d'insertion) des personnes du "
    "périmètre, et celles reçues par les structures rattachées à l'organisation du système. Le motif "
    "rédigé par le prescripteur, les informations transmises à la structure et le commentaire de réponse "
    "ne sont pas transmis. Portée requise : `prescriptions:lecture`."
)


@router.get(
    "/prescriptions",
    response={200: PrescriptionPage, **READ_ERRORS},
    auth=partner_auth(Scope.PRESCRIPTIONS_READ),
    summary="Prescriptions vers le catalogue de l'offre (synchronisation)",
    description=PRESCRIPTION_DESCRIPTION,
)
def list_prescriptions(request, query: Query[SyncQuery]):
    return cursor_page(request, _prescriptions(request.auth), query, prescription_payload)


@router.get(
    "/prescriptions/{prescription_id}",
    response={200: PrescriptionOut, **ONE_ERRORS},
    auth=partner_auth(Scope.PRESCRIPTIONS_READ),
    summary="Une prescription",
    description=PRESCRIPTION_DESCRIPTION,
)
def get_prescription(request, prescription_id: int):
    return get_one(request, _prescriptions(request.auth), prescription_id, prescription_payload)


# --- sorties et suivi dans l'emploi -----------------------------------------------------------------------------


class EmploymentOut(Schema):
    employeur: str = Field("", examples=["Boulangerie Le Fournil"])
    poste: str = Field("", examples=["Vendeuse"])
    type_contrat: str = Field(
        "",
        description="cdi, cdd, interim, iae, alternance, aide ou independant (vide pour une création "
        "d'entreprise sans précision).",
        examples=["cdd"],
    )
    duree_mois: int | None = Field(None, description="Durée du contrat (mois).", examples=[6])
    heures_hebdomadaires: float | None = Field(None, examples=[28.0])
    prise_de_poste_le: datetime.date | None = Field(None, examples=["2026-05-04"])


class EmploymentCheckOut(Schema):
    verifie_le: datetime.date = Field(..., examples=["2026-11-05"])
    en_emploi: bool = Field(..., examples=[True])
    type_contrat: str = Field("", examples=["cdi"])
    duree_mois: int | None = Field(None, examples=[None])
    a_6_mois: bool = Field(
        ..., description="Vérification de l'emploi durable, 6 mois après la prise de poste."
    )
    durable: bool | None = Field(
        None,
        description="Emploi durable (CDI, indépendant ou contrat d'au moins 6 mois), pour la vérification à "
        "6 mois ; `null` sinon.",
        examples=[True],
    )


class ExitOut(Schema):
    id: int = Field(..., examples=[415])
    personne: int = Field(..., examples=[1042])
    motif: str = Field(
        ...,
        description="emploi, creation_entreprise, formation, aah, aspa, autre_prestation, demenagement, "
        "radiation, ressources ou autre.",
        examples=["emploi"],
    )
    motif_libelle: str = Field(..., examples=["Emploi salarié"])
    sortie_le: datetime.date = Field(..., examples=["2026-05-04"])
    emploi: EmploymentOut | None = Field(
        None, description="Pour une sortie en emploi ou une création d'entreprise ; `null` sinon."
    )
    suivis: list[EmploymentCheckOut] = Field(
        ..., description="Suivi dans l'emploi par le référent, du plus ancien au plus récent."
    )
    modifie_le: datetime.datetime = Field(
        ...,
        description="Avance aussi à chaque suivi dans l'emploi enregistré.",
        examples=["2026-11-05T09:30:00+01:00"],
    )


class ExitPage(PageMeta):
    elements: list[ExitOut]


def _exits(partner):
    return Exit.objects.filter(services.people_q(partner, "beneficiary__")).prefetch_related("checks")


def exit_payload(exit_):
    employment = None
    if exit_.employer or exit_.contract_type or exit_.job_started_on:
        employment = {
            "employeur": exit_.employer,
            "poste": exit_.job_title,
            "type_contrat": exit_.contract_type,
            "duree_mois": exit_.contract_months,
            "heures_hebdomadaires": decimal_number(exit_.weekly_hours),
            "prise_de_poste_le": exit_.job_started_on,
        }
    return {
        "id": exit_.pk,
        "personne": exit_.beneficiary_id,
        "motif": exit_.reason,
        "motif_libelle": exit_.get_reason_display(),
        "sortie_le": exit_.exited_on,
        "emploi": employment,
        "suivis": [
            {
                "verifie_le": check.checked_on,
                "en_emploi": check.still_employed,
                "type_contrat": check.contract_type,
                "duree_mois": check.contract_months,
                "a_6_mois": check.is_six_month,
                "durable": check.durable,
            }
            for check in exit_.checks.all()
        ],
        "modifie_le": exit_.updated_at,
    }


EXIT_DESCRIPTION = (
    "Sorties qualifiées de l'accompagnement des personnes du périmètre (motif, date, emploi : employeur, "
    "poste, contrat, durée, prise de poste) et suivi dans l'emploi (dont la vérification de l'emploi "
    "durable à 6 mois). Les précisions et observations libres ne sont pas transmises. Portée requise : "
    "`sorties:lecture`."
)


@router.get(
    "/sorties",
    response={200: ExitPage, **READ_ERRORS},
    auth=partner_auth(Scope.EXITS_READ),
    summary="Sorties de l'accompagnement et suivi dans l'emploi (synchronisation)",
    description=EXIT_DESCRIPTION,
)
def list_exits(request, query: Query[SyncQuery]):
    return cursor_page(request, _exits(request.auth), query, exit_payload)


@router.get(
    "/sorties/{exit_id}",
    response={200: ExitOut, **ONE_ERRORS},
    auth=partner_auth(Scope.EXITS_READ),
    summary="Une sortie",
    description="La sortie désignée par un événement `sortie.enregistree` (champ `donnees.sortie`). "
    + EXIT_DESCRIPTION,
)
def get_exit(request, exit_id: int):
    return get_one(request, _exits(request.auth), exit_id, exit_payload)
