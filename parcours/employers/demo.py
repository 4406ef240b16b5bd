"""Employeurs de la démonstration : des entreprises des deux territoires avec leurs besoins et leurs offres,
un métier recherché (code ROME) au dernier diagnostic d'une partie des personnes (le diagnostic de la
démonstration n'en porte pas), quelques immersions avec leur bilan et des contrats courts."""

import datetime
import random
from decimal import Decimal

from parcours.accompaniment.models import DiagnosticVersion
from parcours.accounts.siret import luhn_valid

from . import services
from .models import Employer, ImmersionOutcome, JobOffer

# (raison sociale, secteur, code INSEE, commune, besoins, offres : (intitulé, ROME, contrat, mois, heures))
EMPLOYERS = [
    (
        "Boulangerie Le Fournil de Redon",
        "Commerce alimentaire",
        "35236",
        "Redon",
        "Vendeurs le week-end.",
        [("Vendeur en boulangerie", "D1106", "cdi", None, 28)],
    ),
    (
        "Supermarché des Vallons",
        "Grande distribution",
        "35236",
        "Redon",
        "Employés libre-service, caissiers.",
        [("Employé libre-service", "D1507", "cdd", 6, 30), ("Hôte de caisse", "D1505", "cdi", None, 24)],
    ),
    (
        "Logistique Vilaine",
        "Entreposage",
        "35176",
        "Guipry-Messac",
        "Préparateurs de commandes, caristes.",
        [("Préparateur de commandes", "N1103", "interim", 3, 35), ("Cariste", "N1101", "cdi", None, 35)],
    ),
    (
        "Propreté Redonnaise",
        "Nettoyage",
        "35236",
        "Redon",
        "Agents d'entretien à temps partiel.",
        [("Agent de propreté", "K2204", "cdi", None, 20)],
    ),
    (
        "EHPAD Les Ajoncs",
        "Médico-social",
        "35220",
        "Pipriac",
        "Agents de service hospitalier.",
        [("Agent de service hospitalier", "J1301", "cdd", 12, 35)],
    ),
    (
        "Restaurant La Marée",
        "Restauration",
        "35288",
        "Saint-Malo",
        "Saison : commis, plonge, salle.",
        [("Commis de cuisine", "G1602", "cdd", 5, 35), ("Serveur en salle", "G1803", "cdd", 5, 35)],
    ),
    (
        "Hôtel Côte d'Émeraude",
        "Hôtellerie",
        "35093",
        "Dinard",
        "Femmes et valets de chambre.",
        [("Valet de chambre", "G1501", "cdd", 6, 30)],
    ),
    (
        "Conserverie de Cancale",
        "Industrie agroalimentaire",
        "35049",
        "Cancale",
        "Opérateurs de production.",
        [("Opérateur de production", "H2102", "cdi", None, 35)],
    ),
    (
        "Paysages de la Rance",
        "Espaces verts",
        "35228",
        "Pleurtuit",
        "Ouvriers paysagistes.",
        [("Ouvrier paysagiste", "A1203", "cdd", 8, 35)],
    ),
    (
        "Bâti Malouin",
        "Bâtiment",
        "35288",
        "Saint-Malo",
        "Manœuvres et maçons.",
        [("Maçon", "F1703", "cdi", None, 35), ("Manœuvre du bâtiment", "F1704", "interim", 2, 35)],
    ),
    (
        "Transports Dolois",
        "Transport",
        "35095",
        "Dol-de-Bretagne",
        "Chauffeurs-livreurs permis B.",
        [("Chauffeur-livreur", "N4105", "cdi", None, 35)],
    ),
    (
        "Aide à domicile du Pays de Combourg",
        "Services à la personne",
        "35085",
        "Combourg",
        "Aides à domicile.",
        [("Aide à domicile", "K1302", "cdi", None, 24)],
    ),
]
PROJECT_ROMES = [rome for *_, offers in EMPLOYERS for _, rome, *_ in offers]


def _with_key(digits):
    return next(digits + str(d) for d in range(10) if luhn_valid(digits + str(d)))


def _siret(n):
    """Un SIRET fictif (SIREN commençant par 9) dont les clés du SIREN et du SIRET sont justes (Luhn)."""
    return _with_key(_with_key(f"9{n:07d}") + "0001")


def populate_demo(departement, agents, *, seed=2026, today):
    if Employer.objects.filter(departement=departement).exists():
        return {"employeurs": 0}
    rng = random.Random(seed)
    referent = agents.get("referent.redon@demo.parcours.fr")
    employers = []
    for n, (name, sector, insee, commune, needs, offers) in enumerate(EMPLOYERS, start=1):
        employer = Employer.objects.create(
            departement=departement,
            siret=_siret(n),
            name=name,
            sector=sector,
            commune_code=insee,
            commune_name=commune,
            contact_name="Service recrutement",
            needs=needs,
        )
        JobOffer.objects.bulk_create(
            JobOffer(
                employer=employer,
                title=title,
                rome_code=rome,
                commune_code=insee,
                commune_name=commune,
                contract_type=contract,
                contract_months=months,
                weekly_hours=Decimal(hours),
                starts_on=today + datetime.timedelta(days=rng.randint(7, 45)),
                reference=f"DEMO-{n}-{index}",
            )
            for index, (title, rome, contract, months, hours) in enumerate(offers, start=1)
        )
        employers.append(employer)
    # Un métier recherché au dernier diagnostic d'une partie des personnes (une sur trois).
    latest = {}
    for version in DiagnosticVersion.objects.filter(beneficiary__departement=departement).only(
        "pk", "beneficiary_id", "number"
    ):
        if version.beneficiary_id not in latest or version.number > latest[version.beneficiary_id].number:
            latest[version.beneficiary_id] = version
    chosen = sorted(latest)[::3]
    for beneficiary_id in chosen:
        DiagnosticVersion.objects.filter(pk=latest[beneficiary_id].pk).update(
            rome_code=rng.choice(PROJECT_ROMES)
        )
    immersions = 0
    if referent is not None:
        by_insee = {e.commune_code: e for e in employers}
        for beneficiary_id in chosen[:6]:
            version = DiagnosticVersion.objects.select_related("beneficiary").get(
                pk=latest[beneficiary_id].pk
            )
            employer = by_insee.get(version.beneficiary.insee_code) or rng.choice(employers)
            start = today - datetime.timedelta(days=rng.randint(20, 60))
            immersion = services.record_immersion(
                version.beneficiary,
                employer=employer,
                author=referent,
                objective="confirmer",
                starts_on=start,
                ends_on=start + datetime.timedelta(days=11),
                weekly_hours=Decimal(20),
                tutor_name="Tuteur de l'entreprise",
            )
            outcome = rng.choice(
                [ImmersionOutcome.CONFIRMED, ImmersionOutcome.HIRED, ImmersionOutcome.CHANGED]
            )
            services.record_immersion_outcome(
                immersion, outcome=outcome, actor=referent, on=start + datetime.timedelta(days=12)
            )
            if outcome == ImmersionOutcome.HIRED:
                services.record_hiring(
                    version.beneficiary,
                    employer=employer,
                    author=referent,
                    job_title="Contrat court après immersion",
                    contract_type="cdd",
                    contract_months=2,
                    weekly_hours=Decimal(24),
                    starts_on=start + datetime.timedelta(days=14),
                    close_pathway=False,
                )
            immersions += 1
    return {
        "employeurs": len(employers),
        "offres": JobOffer.objects.filter(employer__departement=departement).count(),
        "immersions": immersions,
    }
