"""Comités de la démonstration : le comité de pilotage du Département (une réunion passée, procès-verbal
arrêté, chiffres figés ; la suivante prévue) et le comité de suivi du premier territoire."""

import datetime

from parcours.accounts.models import Territory

from . import services
from .models import Committee, CommitteeKind, MemberQuality

STEERING_MEMBERS = [
    ("Préfecture d'Ille-et-Vilaine", "Secrétaire général", MemberQuality.ETAT, "Claire Dumont"),
    ("DDETS", "Directrice adjointe", MemberQuality.ETAT, "Sophie Le Goff"),
    ("Département", "Vice-président insertion", MemberQuality.DEPARTEMENT, "Yann Morvan"),
    ("Département", "Directrice de l'insertion", MemberQuality.DEPARTEMENT, "Anne Guérin"),
    ("France Travail", "Directeur territorial", MemberQuality.FRANCE_TRAVAIL, "Marc Riou"),
    ("CAF d'Ille-et-Vilaine", "Responsable des prestations", MemberQuality.CAF, "Nadia Benali"),
    ("MSA Portes de Bretagne", "Chargée de mission", MemberQuality.MSA, "Julie Perrin"),
    ("Mission locale", "Directeur", MemberQuality.MISSION_LOCALE, "Thomas Le Roux"),
]


def populate_demo(departement, *, user, today):
    if Committee.objects.filter(departement=departement).exists():
        return {"comites": 0}
    steering = Committee.objects.create(
        departement=departement,
        kind=CommitteeKind.STEERING,
        name="Comité de pilotage de l'accompagnement rénové",
        purpose="Garant des modalités de mise en œuvre et du suivi / évaluation de l'accompagnement rénové "
        "des allocataires du RSA.",
    )
    members = steering.members.bulk_create(
        [
            steering.members.model(committee=steering, organisation=org, position=pos, quality=q, name=name)
            for org, pos, q, name in STEERING_MEMBERS
        ]
    )
    past = services.plan_meeting(
        steering,
        held_on=today - datetime.timedelta(days=30),
        starts_at=datetime.time(14, 0),
        place="Hôtel du Département, Rennes",
        agenda=[
            ("Tableau de bord commun : orientation dans les 15 jours", "Direction de l'insertion"),
            ("Contrats d'engagement et heures d'activité", "France Travail"),
            ("Bilan financier de la convention", "DDETS"),
        ],
    )
    services.record_presence(past, [m.pk for m in members[:6]])
    services.add_decision(
        past,
        text="Renforcer l'équipe d'orientation du territoire de Redon pour résorber les invitations expirées.",
        owner="Direction de l'insertion",
        due_on=today + datetime.timedelta(days=30),
    )
    services.add_decision(
        past, text="Présenter au prochain comité le taux de contrats signés à 3 mois.", owner="DDETS"
    )
    services.save_minutes(
        past,
        "Le comité a examiné le tableau de bord commun.\n\nLe délai d'orientation progresse ; les invitations "
        "expirées restent nombreuses sur le territoire de Redon.",
    )
    past = services.hold_meeting(past, actor=user, today=today)
    services.close_minutes(past, actor=user, today=today)
    services.plan_meeting(
        steering,
        held_on=today + datetime.timedelta(days=60),
        starts_at=datetime.time(14, 0),
        place="Hôtel du Département, Rennes",
        agenda=[("Suivi des décisions", "Secrétariat"), ("Satisfaction des personnes accompagnées", "")],
    )
    territory = Territory.objects.filter(departement=departement).order_by("name").first()
    if territory is not None:
        monitoring = Committee.objects.create(
            departement=departement,
            territory=territory,
            kind=CommitteeKind.MONITORING,
            name=f"Comité de suivi — {territory.name}",
        )
        monitoring.members.create(
            name="Anne Guérin", quality=MemberQuality.DEPARTEMENT, organisation="Département"
        )
        monitoring.members.create(
            name="Marc Riou", quality=MemberQuality.FRANCE_TRAVAIL, organisation="France Travail"
        )
        services.plan_meeting(monitoring, held_on=today + datetime.timedelta(days=14), place=territory.name)
    return {"comites": Committee.objects.filter(departement=departement).count()}
