"""API des systèmes partenaires : indicateurs de pilotage agrégés du Département sur une période.

Calculés par ``parcours.indicators.definitions.compute_indicators`` (les mêmes définitions que le tableau
de bord et la commande ``parcours indicators``) sur ce que le système peut compter : tout le Département
pour le système du Département et pour les services de l'État qui lui sont rattachés, les personnes que
suit l'organisation pour un partenaire. Aucune ligne par personne.
"""

import datetime

from django.db.models import Q
from ninja import Field, Query, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from parcours.accounts.models import OrganisationKind, Territory
from parcours.indicators import cohort
from parcours.indicators.definitions import beneficiary_scope, compute_indicators

from . import services
from .api_common import EARLIEST, LATEST, READ_ERRORS, partner_auth, router
from .models import Scope

PATHWAY_EXAMPLE = {"emploi": 41, "socio_professionnel": 22, "social": 9, "non_oriente": 6}
CONTRACTS_EXAMPLE = {"cer": 4, "ppae": 31, "contrat_engagement": 17}
RATE_OR_NULL = "Nombre entre 0 et 1 ; `null` si la population est vide (jamais 0)."
DELAY_OR_NULL = "En jours ; `null` si la population est vide (jamais 0)."


class IndicatorsQuery(Schema):
    debut: datetime.date = Field(
        ..., ge=EARLIEST, le=LATEST, description="Début de la période (inclus).", examples=["2026-01-01"]
    )
    fin: datetime.date = Field(
        ..., ge=EARLIEST, le=LATEST, description="Fin de la période (incluse).", examples=["2026-03-31"]
    )
    territoire: str | None = Field(
        None,
        max_length=20,
        pattern=r"^[\w-]+$",
        description="Code d'un territoire du Département pour restreindre le calcul (défaut : tout le "
        "périmètre).",
        examples=["REDON"],
    )


class IndicatorValues(Schema):
    """Un objet dont les clés sont celles de `parcours indicators` (CONTRACTS.md), plus les compléments."""

    model_config = ConfigDict(extra="allow")

    nouveaux_entrants: int = Field(
        ..., description="Nouveaux entrants dont le T0 tombe dans la période.", examples=[78]
    )
    nouveaux_entrants_orientes_15j: int = Field(
        ...,
        description="Nouveaux entrants orientés (notification) au plus tard à T0 + 14 jours.",
        examples=[52],
    )
    taux_orientation_15j: float | None = Field(
        ...,
        description="Part des nouveaux entrants orientés dans les 15 jours. " + RATE_OR_NULL,
        examples=[0.667],
    )
    delai_median_t0_orientation_jours: float | None = Field(
        ...,
        description="Délai médian entre T0 et la notification de l'orientation. " + DELAY_OR_NULL,
        examples=[11],
    )
    delai_median_ouverture_droit_premier_entretien_jours: float | None = Field(
        ...,
        description="Délai médian entre l'ouverture du droit et le premier entretien. " + DELAY_OR_NULL,
        examples=[34.5],
    )
    delai_median_diagnostic_premiere_action_jours: float | None = Field(
        ...,
        description="Délai médian entre le diagnostic et la première action d'accompagnement. "
        + DELAY_OR_NULL,
        examples=[None],
    )
    repartition_parcours: dict[str, int] = Field(
        ...,
        description="Nouveaux entrants par parcours : emploi, socio_professionnel, social, non_oriente.",
        examples=[PATHWAY_EXAMPLE],
    )
    contrats_signes: dict[str, int] = Field(
        ...,
        description="Contrats signés dans la période par type : cer, ppae, contrat_engagement.",
        examples=[CONTRACTS_EXAMPLE],
    )
    part_accompagnement_intensif: float | None = Field(
        ...,
        description="Part des contrats en cours en fin de période prévoyant au moins 15 h par semaine. "
        + RATE_OR_NULL,
        examples=[0.42],
    )
    sortants: int = Field(..., description="Personnes sorties du dispositif dans la période.", examples=[25])
    retours_emploi: int = Field(..., description="Sorties vers l'emploi dans la période.", examples=[12])
    taux_retour_emploi_durable_6m: float | None = Field(
        ...,
        description="Part des sorties vers l'emploi vérifiées à 6 mois qui sont en emploi durable. "
        + RATE_OR_NULL,
        examples=[None],
    )
    beneficiaires_suivis: int = Field(
        ..., description="Personnes ayant un suivi en cours le dernier jour de la période.", examples=[640]
    )
    delai_median_orientation_contrat_jours: float | None = Field(
        None,
        description="Complément : délai médian entre l'orientation et le premier contrat. " + DELAY_OR_NULL,
        examples=[27],
    )
    part_nouveaux_entrants_avec_referent: float | None = Field(
        None,
        description="Complément : part des nouveaux entrants avec un référent. " + RATE_OR_NULL,
        examples=[0.5],
    )
    part_nouveaux_entrants_avec_contrat: float | None = Field(
        None,
        description="Complément : part des nouveaux entrants avec un contrat signé. " + RATE_OR_NULL,
        examples=[0.25],
    )
    distribution_delai_t0_orientation: dict[str, int] | None = Field(
        None,
        description="Complément : nouveaux entrants par délai d'orientation (objectif, delai_legal, au_dela, "
        "non_oriente).",
        examples=[{"objectif": 52, "delai_legal": 14, "au_dela": 6, "non_oriente": 6}],
    )
    retours_emploi_par_contrat: dict[str, int] | None = Field(
        None,
        description="Complément : sorties vers l'emploi par type de contrat de travail.",
        examples=[{"cdi": 3, "cdd": 6, "interim": 2, "creation_entreprise": 1}],
    )
    personnes_accompagnees: int | None = Field(
        None,
        description="Volet 3 : personnes ayant eu un suivi ouvert pendant la période (dénominateur des taux de "
        "progression dans l'employabilité).",
        examples=[240],
    )
    progression_employabilite: dict[str, int] | None = Field(
        None,
        description="Volet 3 : personnes accompagnées ayant franchi dans la période chaque étape : immersion, "
        "formation, contrat_court, frein_leve, au_moins_une.",
        examples=[{"immersion": 6, "formation": 9, "contrat_court": 4, "frein_leve": 11, "au_moins_une": 24}],
    )
    taux_progression_employabilite: dict[str, float | None] | None = Field(
        None,
        description="Volet 3 : les mêmes étapes rapportées aux personnes accompagnées. " + RATE_OR_NULL,
        examples=[
            {
                "immersion": 0.025,
                "formation": 0.0375,
                "contrat_court": 0.017,
                "frein_leve": 0.046,
                "au_moins_une": 0.1,
            }
        ],
    )
    satisfaction_personnes_taux_reponse: float | None = Field(
        None,
        description="Volet 3 : part des questionnaires proposés aux personnes qui ont reçu une réponse. "
        + RATE_OR_NULL,
    )
    satisfaction_personnes_taux: float | None = Field(
        None, description="Volet 3 : part des réponses des personnes notées 4 ou 5 sur 5. " + RATE_OR_NULL
    )
    satisfaction_personnes_repartition: dict[str, int] | None = Field(
        None,
        description="Volet 3 : réponses des personnes par note (1 à 5) ; les commentaires ne sont jamais publiés.",
    )
    satisfaction_professionnels_taux_reponse: float | None = Field(
        None,
        description="Volet 3 : part des professionnels ayant répondu au questionnaire du trimestre. "
        + RATE_OR_NULL,
    )
    satisfaction_professionnels_taux: float | None = Field(
        None,
        description="Volet 3 : part des réponses des professionnels notées 4 ou 5 sur 5. " + RATE_OR_NULL,
    )
    satisfaction_professionnels_repartition: dict[str, int] | None = Field(
        None, description="Volet 3 : réponses des professionnels par note (1 à 5)."
    )


class DepartementRef(Schema):
    id: int = Field(..., examples=[3])
    nom: str = Field(..., examples=["Ille-et-Vilaine"])
    code: str = Field(..., examples=["35"])


class TerritoryRef(Schema):
    code: str = Field(..., examples=["REDON"])
    nom: str = Field(..., examples=["Pays de Redon"])


class IndicatorsOut(Schema):
    departement: DepartementRef
    territoire: TerritoryRef | None = None
    debut: datetime.date = Field(..., examples=["2026-01-01"])
    fin: datetime.date = Field(..., examples=["2026-03-31"])
    perimetre: str = Field(
        ...,
        description="departement (tout le Département : système du Département, services de l'État) ou "
        "personnes_suivies (les personnes que suit l'organisation partenaire).",
        examples=["departement"],
    )
    indicateurs: IndicatorValues


@router.get(
    "/indicateurs",
    response={200: IndicatorsOut, **READ_ERRORS},
    auth=partner_auth(Scope.INDICATORS_READ),
    exclude_unset=True,
    summary="Indicateurs de pilotage agrégés du Département sur une période",
    description=(
        "Les indicateurs de la commande `parcours indicators` (mêmes clés, mêmes définitions, voir "
        "docs/indicateurs.md), calculés sur la période `debut`–`fin` pour le Département du système : tout "
        "le Département pour le système du Département et les services de l'État qui lui sont rattachés, "
        "les seules personnes que suit l'organisation pour un autre partenaire. Un comptage sur rien vaut "
        "0 ; un taux ou un délai dont la population est vide vaut `null`, jamais 0. Un nouvel entrant "
        "appartient à la période qui contient son T0. Aucune donnée par personne. Le calcul peut prendre "
        "plusieurs secondes sur un grand Département : interrogez au plus une fois par jour et par période. "
        "Portée requise : `indicateurs:lecture`."
    ),
)
def get_indicators(request, query: Query[IndicatorsQuery]):
    partner = request.auth
    if query.fin < query.debut:
        raise HttpError(400, "Période : la date de fin précède la date de début.")
    departement = services.indicator_departement(partner)
    if departement is None:
        raise HttpError(403, "L'organisation de ce système n'est rattachée à aucun Département.")
    territory = None
    if query.territoire:
        territory = Territory.objects.filter(
            Q(code__iexact=query.territoire), departement=departement
        ).first()
        if territory is None:
            raise HttpError(400, f"Territoire « {query.territoire} » inconnu dans le Département.")
    scope = beneficiary_scope(
        departement=departement, territory=territory, base=services.countable_people(partner)
    )
    with cohort.reading():  # les étapes des nouveaux entrants tenues à jour : les chiffres du tableau de bord
        values = compute_indicators(scope, query.debut, query.fin, table=True)
    whole = partner.organisation.kind in (OrganisationKind.DEPARTEMENT, OrganisationKind.ETAT)
    return {
        "departement": {"id": departement.pk, "nom": departement.name, "code": departement.departement_code},
        "territoire": {"code": territory.code, "nom": territory.name} if territory else None,
        "debut": query.debut,
        "fin": query.fin,
        "perimetre": "departement" if whole else "personnes_suivies",
        "indicateurs": values,
    }
