"""Catalogue de démonstration : structures et services fictifs au schéma data·inclusion v1 autour des communes
du territoire de démonstration (``parcours.demo.data.TERRITORIES``).

``populate_demo`` est appelée par ``parcours demo`` après la création du territoire. Elle écrit :

- les communes du territoire dans le référentiel des communes (centre réel, code postal) s'il ne les
  contient pas encore : la recherche par commune, code postal ou code INSEE et les distances marchent ;
- pour chaque territoire, les structures d'un bassin d'insertion (agence France Travail, Mission locale,
  espace départemental des solidarités, CCAS, association délégataire, chantier d'insertion, plateforme
  mobilité, France Services, centre de santé, logement, petite enfance, formation, budget, savoirs de
  base) et leurs services, sur toutes les thématiques du parcours, avec adresse et coordonnées dans la
  commune ; quelques services départementaux à distance ;
- les données internes du Département (places, financement) d'une partie des services.

Les valeurs des listes (types, thématiques, publics, frais, modes d'accueil et de mobilisation) sont
celles du paquet ``data-inclusion-schema`` ; chaque service est validé par le schéma et reçoit le score
de qualité officiel. Structures rattachées aux partenaires de la démonstration : saisies dans Parcours
(publiées par l'API) ; les autres : importées d'une source fictive « demo ». Noms, adresses, téléphones
(tranche 02 61 91 réservée à la fiction) et courriels (``example.org``) sont fictifs.

Même graine, même catalogue ; écrit en masse (quelques dixièmes de seconde).
"""

import datetime
import random
from decimal import Decimal

from data_inclusion.schema import v1

from . import conf
from .models import Commune, Origin, Service, ServiceLocalData, Structure
from .schema import check, quality_score
from .text import name_key
from .text import slug as slug_of

DEMO_SOURCE = "demo"
REGION_BRETAGNE = "53"

# Centre des communes du territoire de démonstration (latitude, longitude), et Rennes (services départementaux).
CENTRES = {
    "35236": (47.6517, -2.0843),  # Redon
    "35013": (47.7036, -2.0708),  # Bains-sur-Oust
    "35237": (47.7189, -1.9739),  # Renac
    "35220": (47.8097, -1.9458),  # Pipriac
    "35327": (47.7769, -2.0789),  # Sixt-sur-Aff
    "35145": (47.7206, -1.8497),  # Langon
    "35176": (47.8250, -1.8190),  # Guipry-Messac
    "35124": (47.7253, -1.7325),  # Grand-Fougeray
    "35288": (48.6493, -2.0257),  # Saint-Malo
    "35049": (48.6761, -1.8519),  # Cancale
    "35093": (48.6325, -2.0617),  # Dinard
    "35228": (48.5828, -2.0567),  # Pleurtuit
    "35241": (48.6081, -2.0394),  # La Richardais
    "35095": (48.5494, -1.7506),  # Dol-de-Bretagne
    "35085": (48.4103, -1.7514),  # Combourg
    "35299": (48.6358, -1.9047),  # Saint-Méloir-des-Ondes
    "35238": (48.1147, -1.6794),  # Rennes
}
RENNES = ("35238", "35000", "Rennes")

T = v1.Thematique
TS = v1.TypeService
P = v1.Public
PRESENTIEL = [v1.ModeAccueil.EN_PRESENTIEL.value]
DISTANCE = [v1.ModeAccueil.A_DISTANCE.value]
LES_DEUX = PRESENTIEL + DISTANCE
PROS = [v1.PersonneMobilisatrice.PROFESSIONNELS.value]
TOUS = [v1.PersonneMobilisatrice.PROFESSIONNELS.value, v1.PersonneMobilisatrice.USAGERS.value]
M = v1.ModeMobilisation


def _v(*members):
    return [m.value for m in members]


def _th(*values):
    """Thématiques par leur valeur (vérifiée par l'énumération du paquet)."""
    return [v1.Thematique(value).value for value in values]


# Structures d'un territoire : clé, nom (« {ville} » : commune principale), organisation de la démonstration
# (clé de ``organisations``, « {territoire} » remplacé par le code du territoire en minuscules), commune
# (0 : commune principale, n : n-ième commune du territoire), heures d'ouverture (format OSM).
STRUCTURES = [
    ("ft", "France Travail {ville}", "ft_{territoire}", 0, "Mo-Fr 08:30-12:30; Mo-Th 13:30-16:30"),
    (
        "eds",
        "Espace départemental des solidarités de {ville}",
        "departement",
        0,
        "Mo-Fr 09:00-12:00,13:30-17:00",
    ),
    ("ml", "Mission locale — antenne de {ville}", "mission_locale", 0, "Mo-Fr 09:00-12:30,13:30-17:30"),
    ("ccas", "CCAS de {ville}", "ccas", 0, "Mo-Fr 09:00-12:00"),
    ("asso", "Tremplin Vilaine — {ville}", "association", 0, "Mo-Fr 09:00-17:00"),
    (
        "aci",
        "Chantier d'insertion Les Jardins de {ville}",
        "aci_{territoire}",
        1,
        "Mo-Fr 08:00-12:00,13:00-16:00",
    ),
    ("mobilite", "Plateforme mobilité En route {ville}", None, 0, "Tu-Fr 09:00-12:30,14:00-17:30"),
    ("fs", "Espace France Services de {commune}", None, 2, "Mo,We,Fr 09:00-12:30"),
    ("sante", "Centre de santé et d'accès aux droits de {ville}", None, 0, "Mo-Fr 08:30-18:00"),
    ("logement", "Point logement jeunes et familles de {ville}", None, 0, "Tu,Th 09:00-12:30,14:00-17:00"),
    ("enfance", "Relais petite enfance et crèche solidaire de {commune}", None, 3, "Mo-Fr 07:30-18:30"),
    ("formation", "Organisme de formation Compétences Ouest — {ville}", None, 0, "Mo-Fr 08:30-17:00"),
    ("budget", "Point conseil budget de {ville}", None, 0, "We 09:00-12:00; Fr 14:00-17:00"),
    ("savoirs", "Atelier savoirs de base de {commune}", None, 4, "Tu,Th 14:00-17:00"),
]

# Services : clé de la structure, nom, type, thématiques, publics, frais, modes d'accueil, modes de
# mobilisation, mobilisable par, heures par semaine, semaines, présentation (Markdown), conditions d'accès.
SERVICES = [
    (
        "ft",
        "Accompagnement global emploi et social",
        TS.ACCOMPAGNEMENT,
        _v(
            T.TROUVER_UN_EMPLOI__REPONDRE_A_DES_OFFRES_DEMPLOI,
            T.DIFFICULTES_ADMINISTRATIVES_OU_JURIDIQUES__ACCOMPAGNEMENT_POUR_LACCES_AUX_DROITS,
        ),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX, P.DEMANDEURS_EMPLOI),
        LES_DEUX,
        _v(M.ENVOYER_UN_COURRIEL, M.TELEPHONER),
        PROS,
        15,
        26,
        "Un **conseiller emploi** et un **travailleur social** du Département accompagnent ensemble la personne "
        "qui rencontre à la fois des difficultés sociales et des freins à l'emploi.\n\n"
        "- un rendez-vous toutes les deux semaines ;\n- des ateliers collectifs ;\n"
        "- un plan d'action signé par la personne.",
        "Être inscrit à France Travail. Orientation par un référent RSA.",
    ),
    (
        "ft",
        "Atelier « Cibler son projet professionnel »",
        TS.ATELIER,
        _v(
            T.CHOISIR_UN_METIER__IDENTIFIER_SES_POINTS_FORTS_ET_SES_COMPETENCES,
            T.CHOISIR_UN_METIER__DECOUVRIR_UN_METIER_OU_UN_SECTEUR_DACTIVITE,
        ),
        _v(P.DEMANDEURS_EMPLOI),
        PRESENTIEL,
        _v(M.UTILISER_LIEN_MOBILISATION),
        TOUS,
        6,
        2,
        "Deux demi-journées pour **faire le point sur ses compétences** et repérer les métiers qui recrutent "
        "près de chez soi.\n\nAtelier en groupe de 8 à 12 personnes.",
        "",
    ),
    (
        "eds",
        "Accompagnement social des allocataires du RSA",
        TS.ACCOMPAGNEMENT,
        _v(
            T.DIFFICULTES_ADMINISTRATIVES_OU_JURIDIQUES__ACCOMPAGNEMENT_AUX_DEMARCHES_ADMINISTRATIVES,
            T.LOGEMENT_HEBERGEMENT__SE_MAINTENIR_DANS_LE_LOGEMENT,
            T.SANTE__ACCES_AUX_SOINS,
        ),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX),
        PRESENTIEL,
        _v(M.TELEPHONER),
        PROS,
        None,
        None,
        "Accompagnement par un **référent social** du Département pour lever les freins *santé, logement, "
        "budget ou famille* avant une reprise d'emploi.\n\n"
        "Voir aussi [la page du Département](https://www.example.org/solidarites).",
        "Allocataire du RSA orienté vers un parcours social.",
    ),
    (
        "eds",
        "Aide financière d'urgence (fonds d'aide aux jeunes et FSL)",
        TS.AIDE_FINANCIERE,
        _v(
            T.DIFFICULTES_FINANCIERES__PREVENIR_UNE_DEGRADATION_DE_LA_SITUATION_FINANCIERE,
            T.LOGEMENT_HEBERGEMENT__REDUIRE_LES_IMPAYES_DE_LOYER,
        ),
        _v(P.PERSONNES_EN_SITUATION_D_URGENCE, P.JEUNES, P.FAMILLES),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL),
        PROS,
        None,
        None,
        "Aide ponctuelle pour faire face à une dépense imprévue : **impayé de loyer**, énergie, "
        "frais liés à une reprise d'emploi.\n\nDemande instruite par un travailleur social.",
        "Sous conditions de ressources.",
    ),
    (
        "ml",
        "Contrat d'engagement jeune",
        TS.ACCOMPAGNEMENT,
        _v(
            T.TROUVER_UN_EMPLOI__REPONDRE_A_DES_OFFRES_DEMPLOI,
            T.SE_FORMER__TROUVER_SA_FORMATION,
            T.PREPARER_SA_CANDIDATURE__REALISER_UN_CV_ET_OU_UNE_LETTRE_DE_MOTIVATION,
        ),
        _v(P.JEUNES),
        PRESENTIEL,
        _v(M.SE_PRESENTER, M.TELEPHONER),
        TOUS,
        15,
        52,
        "Un accompagnement **intensif de 15 à 20 heures par semaine** pour les jeunes de 16 à 25 ans, avec "
        "une allocation selon les ressources.\n\n1. entretien de diagnostic ;\n2. plan d'action ;\n"
        "3. immersions en entreprise et ateliers.",
        "Avoir entre 16 et 25 ans (29 ans en situation de handicap).",
    ),
    (
        "ccas",
        "Épicerie solidaire",
        TS.AIDE_MATERIELLE,
        _v(T.EQUIPEMENT_ET_ALIMENTATION__ALIMENTATION),
        _v(P.TOUS_PUBLICS),
        PRESENTIEL,
        _v(M.SE_PRESENTER),
        TOUS,
        None,
        None,
        "Produits alimentaires et d'hygiène à **10 à 30 % du prix** habituel, sur orientation d'un "
        "travailleur social, pour trois mois renouvelables.",
        "Reste à vivre inférieur au barème du CCAS.",
    ),
    (
        "ccas",
        "Domiciliation administrative",
        TS.INFORMATION,
        _v(T.DIFFICULTES_ADMINISTRATIVES_OU_JURIDIQUES__ACCOMPAGNEMENT_POUR_LACCES_AUX_DROITS),
        _v(P.PERSONNES_EN_SITUATION_D_URGENCE),
        PRESENTIEL,
        _v(M.SE_PRESENTER),
        TOUS,
        None,
        None,
        "Une adresse pour recevoir son courrier et faire valoir ses droits (RSA, assurance maladie) quand on "
        "n'a pas de domicile stable.",
        "",
    ),
    (
        "asso",
        "Accompagnement socioprofessionnel renforcé",
        TS.ACCOMPAGNEMENT,
        _v(
            T.REMOBILISATION__BIEN_ETRE_CONFIANCE_EN_SOI,
            T.PREPARER_SA_CANDIDATURE__VALORISER_SES_COMPETENCES,
            T.TROUVER_UN_EMPLOI__CONVAINCRE_UN_RECRUTEUR_EN_ENTRETIEN,
        ),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL),
        PROS,
        20,
        24,
        "Association **délégataire du Département** : entretiens individuels, ateliers collectifs et "
        "mises en situation professionnelle.\n\n> Un référent unique tout au long du parcours.",
        "Allocataire du RSA soumis aux droits et devoirs, orienté par le Département.",
    ),
    (
        "asso",
        "Atelier de remobilisation « Reprendre confiance »",
        TS.ATELIER,
        _v(T.REMOBILISATION__LIEN_SOCIAL, T.REMOBILISATION__ACTIVITES_SPORTIVES_ET_CULTURELLES),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX, P.FEMMES),
        PRESENTIEL,
        _v(M.TELEPHONER),
        TOUS,
        9,
        10,
        "Sport adapté, sorties culturelles et groupes de parole, trois demi-journées par semaine.",
        "",
    ),
    (
        "aci",
        "Contrat à durée déterminée d'insertion — maraîchage",
        TS.ACCOMPAGNEMENT,
        _v(
            T.TROUVER_UN_EMPLOI__REPONDRE_A_DES_OFFRES_DEMPLOI,
            T.CHOISIR_UN_METIER__CONFIRMER_SON_CHOIX_DE_METIER,
        ),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX, P.DEMANDEURS_EMPLOI),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL),
        PROS,
        26,
        24,
        "Un **contrat de travail de 26 heures par semaine** en maraîchage biologique, avec un accompagnement "
        "socioprofessionnel et des formations qualifiantes.",
        "Éligibilité à l'insertion par l'activité économique.",
    ),
    (
        "mobilite",
        "Auto-école sociale",
        TS.FORMATION,
        _v(T.MOBILITE__PREPARER_UN_PERMIS),
        _v(P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX, P.JEUNES),
        PRESENTIEL,
        _v(M.TELEPHONER),
        PROS,
        6,
        16,
        "Préparation au **code et à la conduite** à un rythme adapté, avec un financement possible par "
        "le Département.",
        "Projet professionnel nécessitant le permis B.",
    ),
    (
        "mobilite",
        "Location solidaire de vélos et de scooters",
        TS.AIDE_MATERIELLE,
        _v(T.MOBILITE__ACCEDER_A_UN_VEHICULE) + _th("mobilite--mobilite-douce-partagee-collective"),
        _v(P.TOUS_PUBLICS),
        PRESENTIEL,
        _v(M.SE_PRESENTER, M.TELEPHONER),
        TOUS,
        None,
        None,
        "Location à **1 € par jour** pour se rendre à un emploi, une formation ou un entretien.",
        "",
    ),
    (
        "fs",
        "Accompagnement aux démarches en ligne",
        TS.ACCOMPAGNEMENT,
        _v(
            T.NUMERIQUE__ACCEDER_A_DES_SERVICES_EN_LIGNE,
            T.DIFFICULTES_ADMINISTRATIVES_OU_JURIDIQUES__ACCOMPAGNEMENT_AUX_DEMARCHES_ADMINISTRATIVES,
        ),
        _v(P.TOUS_PUBLICS),
        PRESENTIEL,
        _v(M.SE_PRESENTER),
        TOUS,
        None,
        None,
        "Aide pour la **déclaration trimestrielle de ressources**, l'espace France Travail, l'assurance "
        "maladie ou les impôts. Ordinateurs en libre accès.",
        "",
    ),
    (
        "fs",
        "Ateliers numériques pour débuter",
        TS.ATELIER,
        _v(T.NUMERIQUE__MAITRISER_LES_FONDAMENTAUX_DU_NUMERIQUE),
        _v(P.TOUS_PUBLICS),
        PRESENTIEL,
        _v(M.TELEPHONER),
        TOUS,
        3,
        8,
        "Se servir d'un ordinateur et d'un téléphone, créer une adresse électronique, *naviguer sans risque*.",
        "",
    ),
    (
        "sante",
        "Bilan de santé et accès aux soins",
        TS.ACCOMPAGNEMENT,
        _v(T.SANTE__ACCES_AUX_SOINS, T.SANTE__SANTE_MENTALE),
        _v(P.TOUS_PUBLICS),
        PRESENTIEL,
        _v(M.TELEPHONER),
        TOUS,
        None,
        None,
        "Bilan de santé gratuit, ouverture des droits à la **complémentaire santé solidaire** et orientation "
        "vers un médecin traitant ou un psychologue.",
        "",
    ),
    (
        "logement",
        "Accompagnement à l'accès au logement",
        TS.ACCOMPAGNEMENT,
        _v(
            T.LOGEMENT_HEBERGEMENT__LOUER_UN_LOGEMENT,
            T.LOGEMENT_HEBERGEMENT__SINFORMER_SUR_LES_DEMARCHES_LIEES_A_LACCES_AU_LOGEMENT,
        ),
        _v(P.JEUNES, P.FAMILLES),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL, M.TELEPHONER),
        TOUS,
        None,
        None,
        "Demande de **logement social**, dossier de garantie, aides à l'installation : un conseiller aide à "
        "chaque étape.",
        "",
    ),
    (
        "logement",
        "Hébergement temporaire et orientation SIAO",
        TS.ACCOMPAGNEMENT,
        _v(T.LOGEMENT_HEBERGEMENT__RECHERCHER_UNE_SOLUTION_DHEBERGEMENT_TEMPORAIRE),
        _v(P.PERSONNES_EN_SITUATION_D_URGENCE),
        PRESENTIEL,
        _v(M.TELEPHONER),
        PROS,
        None,
        None,
        "Évaluation de la situation et demande au service intégré d'accueil et d'orientation (SIAO).",
        "",
    ),
    (
        "enfance",
        "Places de crèche à vocation d'insertion professionnelle",
        TS.AIDE_MATERIELLE,
        _v(T.FAMILLE__GARDE_DENFANTS),
        _v(P.FAMILLES, P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL),
        PROS,
        None,
        None,
        "Une place de crèche pour l'enfant de moins de 3 ans d'un parent **en recherche d'emploi ou en "
        "formation**, le temps de reprendre une activité.",
        "Parent sans solution de garde, engagé dans une démarche d'insertion.",
    ),
    (
        "enfance",
        "Soutien à la parentalité",
        TS.ATELIER,
        _v(T.FAMILLE__SOUTIEN_A_LA_PARENTALITE_ET_A_LEDUCATION),
        _v(P.FAMILLES),
        PRESENTIEL,
        _v(M.SE_PRESENTER),
        TOUS,
        2,
        10,
        "Temps d'échange entre parents et ateliers parents-enfants.",
        "",
    ),
    (
        "formation",
        "Formation qualifiante aux métiers du soin et de l'aide à la personne",
        TS.FORMATION,
        _v(
            T.SE_FORMER__TROUVER_SA_FORMATION,
            T.CHOISIR_UN_METIER__DECOUVRIR_UN_METIER_OU_UN_SECTEUR_DACTIVITE,
        ),
        _v(P.DEMANDEURS_EMPLOI, P.BENEFICIAIRES_DES_MINIMAS_SOCIAUX),
        PRESENTIEL,
        _v(M.ENVOYER_UN_COURRIEL),
        TOUS,
        35,
        20,
        "Titre professionnel **assistant de vie aux familles**, financé par la Région, avec stage en "
        "entreprise.",
        "Entretien de motivation ; pas de diplôme exigé.",
    ),
    (
        "budget",
        "Conseil budgétaire et prévention du surendettement",
        TS.ACCOMPAGNEMENT,
        _th(
            "difficultes-financieres--ameliorer-sa-gestion-budgetaire",
            "difficultes-financieres--situation-dendettement-surendettement",
        ),
        _v(P.TOUS_PUBLICS),
        LES_DEUX,
        _v(M.TELEPHONER),
        TOUS,
        None,
        None,
        "Un conseiller fait le point sur le budget, les dettes et les droits, et aide à **monter un "
        "dossier de surendettement** si besoin.",
        "",
    ),
    (
        "savoirs",
        "Apprendre le français à visée professionnelle",
        TS.FORMATION,
        _v(T.LECTURE_ECRITURE_CALCUL__MAITRISER_LE_FRANCAIS, T.LECTURE_ECRITURE_CALCUL__MAITRISER_LE_CALCUL),
        _v(P.PERSONNES_EXILEES, P.DEMANDEURS_EMPLOI),
        PRESENTIEL,
        _v(M.TELEPHONER),
        TOUS,
        12,
        20,
        "Lire, écrire, compter dans les situations de travail : consignes, plannings, fiches de paie.",
        "",
    ),
]

# Services payants et leur participation (les autres sont gratuits).
PAYING = {
    "Épicerie solidaire": "10 à 30 % du prix habituel des produits.",
    "Auto-école sociale": "Participation de 50 € ; le reste est financé par le Département.",
    "Location solidaire de vélos et de scooters": "1 € par jour, caution de 50 €.",
}

# Services départementaux à distance (structure à Rennes, éligibilité : tout le Département).
REMOTE_SERVICES = [
    (
        "Plateforme téléphonique d'aide au numérique",
        TS.ACCOMPAGNEMENT,
        _v(T.NUMERIQUE__ACCEDER_A_DES_SERVICES_EN_LIGNE, T.NUMERIQUE__ACQUERIR_UN_EQUIPEMENT),
        "Un conseiller numérique **par téléphone ou en visio** pour les démarches en ligne, et des "
        "ordinateurs reconditionnés à petit prix.",
    ),
    (
        "Préparer son entretien d'embauche en visio",
        TS.ATELIER,
        _v(
            T.TROUVER_UN_EMPLOI__CONVAINCRE_UN_RECRUTEUR_EN_ENTRETIEN,
            T.PREPARER_SA_CANDIDATURE__VALORISER_SES_COMPETENCES,
        ),
        "Simulations d'entretien avec des recruteurs bénévoles, **en visioconférence**.",
    ),
    (
        "Écoute et soutien psychologique à distance",
        TS.ACCOMPAGNEMENT,
        _v(T.SANTE__SANTE_MENTALE),
        "Jusqu'à **six entretiens gratuits** avec un psychologue, par téléphone ou en visio.",
    ),
    (
        "Créer son activité : accompagnement à distance",
        TS.ACCOMPAGNEMENT,
        _v(
            T.CREER_UNE_ENTREPRISE__DEFINIR_SON_PROJET_DE_CREATION_DENTREPRISE,
            T.CREER_UNE_ENTREPRISE__STRUCTURER_SON_PROJET_DE_CREATION_DENTREPRISE,
        ),
        "Étude de marché, statut, financement : un parcours en ligne et des rendez-vous en visio.",
    ),
]


def _ensure_communes(territories):
    """Communes du territoire (et Rennes) ajoutées au référentiel si elles n'y sont pas encore."""
    rows = [(insee, postal, name) for spec in territories for insee, postal, name, _ in spec["communes"]]
    rows.append(RENNES)
    known = set(Commune.objects.filter(code__in=[r[0] for r in rows]).values_list("code", flat=True))
    new = []
    for insee, postal, name in rows:
        if insee in known or insee not in CENTRES:
            continue
        lat, lon = CENTRES[insee]
        new.append(
            Commune(
                code=insee,
                nom=name,
                departement=insee[:2],
                region=REGION_BRETAGNE,
                codes_postaux=[postal],
                latitude=lat,
                longitude=lon,
                search_name=name_key(name),
            )
        )
        known.add(insee)
    Commune.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


class _Builder:
    def __init__(self, rng, today, local_source):
        self.rng = rng
        self.today = today
        self.local_source = local_source
        self.structures = []
        self.services = []
        self.phone_counter = 0

    def phone(self):
        self.phone_counter += 1
        return f"02 61 91 {self.phone_counter // 100 % 100:02d} {self.phone_counter % 100:02d}"

    def address(self):
        from parcours.demo import data

        number = self.rng.randint(1, 60)
        return f"{number} {self.rng.choice(data.STREET_KINDS)} {self.rng.choice(data.STREET_NAMES)}"

    def position(self, insee, spread_km=1.2):
        lat, lon = CENTRES[insee]
        return (
            round(lat + self.rng.uniform(-spread_km, spread_km) / 111.0, 5),
            round(lon + self.rng.uniform(-spread_km, spread_km) / 75.0, 5),
        )

    def date_maj(self):
        return self.today - datetime.timedelta(days=self.rng.randint(3, 300))

    def structure(self, *, key, nom, commune, organisation, departement, horaires):
        insee, postal, name = commune
        local = organisation is not None
        source = self.local_source if local else DEMO_SOURCE
        lat, lon = self.position(insee)
        slug = slug_of(nom)
        structure = Structure(
            source=source,
            di_id=f"{source}--structure-{slug}",
            origin=Origin.LOCAL if local else Origin.IMPORT,
            nom=nom,
            description=f"{nom} : structure du réseau d'insertion du territoire.",
            date_maj=self.date_maj(),
            commune=name,
            code_postal=postal,
            code_insee=insee,
            adresse=self.address(),
            latitude=lat,
            longitude=lon,
            telephone=self.phone(),
            courriel=f"contact@{slug[:40].strip('-')}.example.org",
            horaires_accueil=horaires,
            organisation=organisation if local and not organisation.is_departement else None,
            departement=departement if local else None,
        )
        structure.refresh_derived()
        self.structures.append(structure)
        return structure

    def service(self, structure, spec, *, zone, n):
        (_, nom, type_, thematiques, publics, modes, mobilisation, par, hours, weeks, description, access) = (
            spec
        )
        in_person = v1.ModeAccueil.EN_PRESENTIEL.value in modes
        # Un service sur dix n'a pas de coordonnées propres : placé au centre de sa commune par la recherche.
        located = in_person and self.rng.random() > 0.1
        lat, lon = (structure.latitude, structure.longitude) if located else (None, None)
        service = Service(
            structure=structure,
            source=structure.source,
            di_id=f"{structure.source}--service-{n:04d}",
            origin=structure.origin,
            nom=nom,
            description=description,
            date_maj=self.date_maj(),
            type=type_.value,
            thematiques=list(thematiques),
            frais=v1.Frais.PAYANT.value if nom in PAYING else v1.Frais.GRATUIT.value,
            publics=list(publics),
            conditions_acces=access,
            modes_accueil=list(modes),
            zone_eligibilite=zone,
            commune=structure.commune if in_person else "",
            code_postal=structure.code_postal if in_person else "",
            code_insee=structure.code_insee if in_person else "",
            adresse=structure.adresse if in_person else "",
            latitude=lat,
            longitude=lon,
            telephone=structure.telephone,
            courriel=structure.courriel,
            modes_mobilisation=list(mobilisation),
            mobilisable_par=list(par),
            mobilisation_precisions="Prendre contact avec l'équipe avant d'orienter la personne.",
            volume_horaire_hebdomadaire=hours,
            nombre_semaines=weeks,
            horaires_accueil=structure.horaires_accueil,
            is_published=True,
        )
        if service.frais == v1.Frais.PAYANT.value:
            service.frais_precisions = PAYING[nom]
        self.services.append(service)
        return service


def _validate(service):
    """Conformité au schéma v1 et score de qualité officiel (comme un import ou une saisie)."""
    payload = service.to_schema()
    errors, warnings = check(v1.Service, payload)
    service.schema_valid = not errors
    service.validation_errors = [e.as_dict() for e in errors]
    service.validation_warnings = [w.as_dict() for w in warnings]
    if not errors:
        service.quality_score, service.quality_details = quality_score(v1.Service.model_validate(payload))
    service.refresh_derived()
    service.content_hash = Service.hash_payload(payload)


def populate_demo(departement, organisations, *, seed=2026, today=None, territories=None):
    """Écrit le catalogue de démonstration ; renvoie ``{"communes": n, "structures": n, "services": n}``.

    ``organisations`` : organisations de la démonstration par clé (« departement », « ft_redon »,
    « mission_locale »…) ; une clé absente donne une structure importée, non rattachée.
    """
    from parcours.demo import data

    territories = territories or data.TERRITORIES
    today = today or datetime.date.today()
    rng = random.Random(f"catalogue-{seed}")
    communes_created = _ensure_communes(territories)
    builder = _Builder(rng, today, conf.get("source"))
    services_by_key = {}
    for spec in SERVICES:
        services_by_key.setdefault(spec[0], []).append(spec)
    n = 0
    local_services = []
    service_territories = {}  # service → code du territoire (financements de la cartographie de l'offre)
    for territory in territories:
        communes = [(insee, postal, name) for insee, postal, name, _ in territory["communes"]]
        main = communes[0]
        code = territory["code"].lower()
        territory_zone = [insee for insee, _, _ in communes]
        for key, nom, org_key, commune_index, horaires in STRUCTURES:
            commune = communes[commune_index % len(communes)]
            organisation = None
            if org_key:
                organisation = organisations.get(org_key.format(territoire=code))
            structure = builder.structure(
                key=key,
                nom=nom.format(ville=main[2], commune=commune[2]),
                commune=commune,
                organisation=organisation,
                departement=departement,
                horaires=horaires,
            )
            for spec in services_by_key.get(key, []):
                n += 1
                zone = territory_zone if key in {"ccas", "ml", "fs"} else [data.DEPARTEMENT_CODE]
                service = builder.service(structure, spec, zone=zone, n=n)
                service_territories[id(service)] = territory["code"]
                if structure.origin == Origin.LOCAL or rng.random() < 0.4:
                    local_services.append(service)
        # Permanences dans les autres communes du territoire (France Services itinérant, Mission locale).
        for commune in communes[1:]:
            structure = builder.structure(
                key="permanence",
                nom=f"Permanence emploi et droits de {commune[2]}",
                commune=commune,
                organisation=None,
                departement=departement,
                horaires="Tu 09:00-12:00",
            )
            n += 1
            spec = services_by_key["fs"][0]
            builder.service(structure, spec, zone=[commune[0]], n=n)
    remote = builder.structure(
        key="distance",
        nom="Réseau départemental d'insertion à distance",
        commune=RENNES,
        organisation=None,
        departement=departement,
        horaires="Mo-Fr 09:00-17:00",
    )
    for nom, type_, thematiques, description in REMOTE_SERVICES:
        n += 1
        spec = (
            "distance",
            nom,
            type_,
            thematiques,
            _v(P.TOUS_PUBLICS),
            DISTANCE,
            _v(M.TELEPHONER, M.ENVOYER_UN_COURRIEL),
            TOUS,
            None,
            None,
            description,
            "",
        )
        builder.service(remote, spec, zone=[data.DEPARTEMENT_CODE], n=n)
    Structure.objects.bulk_create(builder.structures, batch_size=500)
    for service in builder.services:
        _validate(service)
    Service.objects.bulk_create(builder.services, batch_size=500)
    local_data = []
    for index, service in enumerate(local_services):
        capacity = rng.choice([8, 10, 12, 15, 20, 24])
        local_data.append(
            ServiceLocalData(
                service=service,
                departement=departement,
                internal_code=f"PDI-{today.year}-{index + 1:03d}",
                funder="Département (programme départemental d'insertion)",
                funding_amount=Decimal(rng.choice([1200, 1800, 2400, 3500])) * capacity,
                funding_reference=f"Fiche action FA-{today.year}-{index % 12 + 1:02d}",
                capacity=capacity,
                places_available=rng.randint(0, capacity // 2),
            )
        )
    ServiceLocalData.objects.bulk_create(local_data, batch_size=500)
    populate_financings(departement, local_services, service_territories, rng=rng, today=today)
    return {
        "communes": communes_created,
        "structures": len(builder.structures),
        "services": len(builder.services),
    }


def populate_financings(departement, services, service_territories, *, rng, today):
    """Places financées, coût unitaire et financeurs des services du Département (cartographie parcours–offre) :
    le type de parcours suit la thématique du service (emploi, freins sociaux, sinon socio-professionnel)."""
    from parcours.accounts.models import Territory
    from parcours.orientation.models import Pathway

    from .models import Funder, ServiceFinancing

    territories = {t.code: t for t in Territory.objects.filter(departement=departement)}
    funders = [
        [Funder.DEPARTEMENT],
        [Funder.DEPARTEMENT, Funder.ETAT],
        [Funder.ETAT, Funder.FSE],
        [Funder.FRANCE_TRAVAIL],
        [Funder.DEPARTEMENT, Funder.CAF],
    ]
    rows = []
    for index, service in enumerate(services):
        themes = " ".join(service.thematiques or [])
        if "emploi" in themes or "formation" in themes:
            pathway = Pathway.EMPLOI
        elif any(word in themes for word in ("sante", "logement", "mobilite", "famille", "numerique")):
            pathway = Pathway.SOCIAL
        else:
            pathway = Pathway.SOCIO_PROFESSIONNEL
        rows.append(
            ServiceFinancing(
                service=service,
                departement=departement,
                pathway=pathway,
                territory=territories.get(service_territories.get(id(service))),
                year=today.year,
                places_financed=rng.choice([8, 10, 12, 15, 20, 24, 30]),
                unit_cost=Decimal(rng.choice([450, 850, 1200, 1800, 2400, 3500])),
                funders=funders[index % len(funders)],
                funding_reference=f"Fiche action FA-{today.year}-{index % 12 + 1:02d}",
            )
        )
    for row in rows:
        row.funders_index = f"|{'|'.join(sorted(set(row.funders)))}|"
    ServiceFinancing.objects.bulk_create(rows, batch_size=500)
    return len(rows)
