"""Démonstration des étapes 7 à 10 : quelques personnes suivies du territoire de démonstration à chaque
étape (plan d'activités, adaptations, contrat et revues, procédures de sanction à chaque étape, absences
répétées, sorties et suivi dans l'emploi, espace de la personne).

Appelée par ``parcours.demo.territory.run_demo`` après l'import des flux ; tout passe par les services
du module (mêmes règles, mêmes événements du journal que dans la vraie vie). Même graine, mêmes données.
"""

import datetime
import random

from django.utils import timezone

from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.orientation.models import Appointment

from . import activities, exits, person_space, reviews, sanctions, services
from .models import Objective, TeamSession, TeamSessionGuest

PERSON_EMAIL = "personne@demo.parcours.fr"

ACTIVITY_SETS = [
    [
        ("formation", "Remise à niveau en français et calcul", "GRETA Bretagne Sud", 12, 10),
        ("recherche_emploi", "Ateliers de recherche d'emploi", "France Travail", 4, 6),
        ("mobilite", "Préparation au code de la route", "Plateforme mobilité du Pays de Redon", 2, 8),
    ],
    [("immersion", "Immersion (PMSMP) en logistique", "Transports Lebreton", 20, 2)],
    [("iae", "Contrat en chantier d'insertion espaces verts", "Tremplin Vilaine", 20, 26)],
    [
        ("atelier", "Atelier numérique", "Espace public numérique de Redon", 3, 6),
        ("sante", "Bilan de santé", "Centre d'examens de santé", 2, 1),
    ],
]


def _people(departement, count, seed):
    followed = FollowUp.objects.filter(ended_on__isnull=True).values("beneficiary")
    people = list(
        Beneficiary.objects.filter(departement=departement, is_sdd=True, pk__in=followed)
        .select_related("departement", "household")
        .order_by("pk")[: count * 3]
    )
    random.Random(f"parcours-demo-accompagnement-{seed}").shuffle(people)
    return people[:count]


def populate_demo(departement, agents, *, seed=2026, today=None):
    """Crée les données des étapes 7 à 10 ; renvoie un résumé (nombres par étape)."""
    today = min(today or timezone.localdate(), timezone.localdate())
    day = lambda n: today - datetime.timedelta(days=n)  # noqa: E731
    referent = agents["referent.redon@demo.parcours.fr"]
    people = _people(departement, 40, seed)
    if len(people) < 40:
        return {"personnes": 0}
    groups = iter([people[i : i + 4] for i in range(0, 40, 4)])
    summary = {}

    # 1. Plans d'activités : dans l'objectif, en dessous, au-delà ; activités réalisées ou abandonnées.
    plan_people = next(groups)
    for index, person in enumerate(plan_people):
        for kind, label, provider, hours, weeks in ACTIVITY_SETS[index % len(ACTIVITY_SETS)]:
            activities.plan_activity(
                person,
                author=referent,
                kind=kind,
                label=label,
                provider=provider,
                weekly_hours=hours,
                weeks=weeks,
                starts_on=activities.week_start(day(14)),
            )
    first = plan_people[0].planned_activities.first()
    activities.set_activity_status(first, "in_progress", actor=referent, on=day(13))
    last = plan_people[3].planned_activities.last()
    activities.set_activity_status(
        last, "done", actor=referent, on=day(7), actual_hours=2, outcome="Bilan fait"
    )
    summary["plans_d_activites"] = len(plan_people)

    # 2. Adaptations de l'objectif hebdomadaire (zéro à la demande, réduite, progressive).
    adjusted = next(groups)
    specs = [
        ("zero", "parent_isole", 0, True),
        ("reduit", "sante", 8, False),
        ("progressif", "progressif", 10, False),
        ("reduit", "handicap", 12, False),
    ]
    for person, (kind, reason, hours, requested) in zip(adjusted, specs, strict=True):
        activities.adjust_hours(
            person,
            author=referent,
            kind=kind,
            reason=reason,
            target_hours=hours,
            starts_on=day(10),
            ends_on=today + datetime.timedelta(days=90),
            requested_by_person=requested,
            details="Situation revue à l'échéance.",
        )
        if hours:
            activities.plan_activity(
                person,
                author=referent,
                kind="atelier",
                label="Atelier de remobilisation",
                provider="Tremplin Vilaine",
                weekly_hours=hours,
                weeks=12,
                starts_on=activities.week_start(day(7)),
            )
    summary["adaptations"] = len(adjusted)

    # 3. Contrats signés (revues prévues à la signature), une revue d'étape tenue.
    objective = Objective.objects.filter(active=True).order_by("pk").first()
    signed = next(groups)
    for index, person in enumerate(signed):
        contract = services.create_contract(
            person,
            author=referent,
            referent=referent,
            organisation=departement,
            referent_commitments="Un rendez-vous toutes les deux semaines ; mise en relation avec les partenaires.",
            person_commitments="Suivre les activités prévues et prévenir en cas d'empêchement.",
            intensity="social" if index % 2 else "renforce",
            weekly_hours=15,
            objectives=[objective] if objective else [],
            starts_on=day(200 - 30 * index),
        )
        services.sign_contract(contract, actor=referent, on=day(200 - 30 * index))
    held = signed[0].reviews.order_by("due_on").first()
    if held and held.due_on <= today:
        reviews.hold_review(
            held,
            actor=referent,
            on=held.due_on,
            minutes="Point d'étape : assiduité bonne.",
            decisions="Poursuivre le plan ; chercher une immersion.",
        )
    reviews.plan_review(
        signed[1], author=referent, kind="pluridisciplinaire", due_on=today + datetime.timedelta(days=10)
    )
    summary["contrats_signes"] = len(signed)

    # 4. Procédures de suspension-remobilisation, une personne à chaque étape.
    members = [
        agents[e]
        for e in (
            "admin@demo.parcours.fr",
            "orientation@demo.parcours.fr",
            "referent.redon@demo.parcours.fr",
            "referent.saintmalo@demo.parcours.fr",
            "direction@demo.parcours.fr",
        )
    ]
    past = TeamSession.objects.create(
        departement=departement,
        level=1,
        held_on=day(60),
        starts_at=datetime.time(9, 30),
        place="Espace départemental des solidarités, Redon",
        convened_on=day(75),
    )
    upcoming = TeamSession.objects.create(
        departement=departement,
        level=2,
        held_on=today + datetime.timedelta(days=15),
        starts_at=datetime.time(14, 0),
        place="Hôtel du Département, Rennes",
        convened_on=today,
    )
    for session in (past, upcoming):
        session.members.set(members)
        # Membres extérieurs (CASF L262-39) : France Travail, insertion, représentant des bénéficiaires.
        for name, quality, organisation in (
            ("Claire Morvan", "france_travail", "France Travail Redon"),
            ("Yann Le Goff", "insertion", "Tremplin Vilaine"),
            ("Sylvie Hamon", "beneficiaire", "Collectif des allocataires du Pays de Redon"),
        ):
            TeamSessionGuest.objects.create(
                session=session,
                name=name,
                quality=quality,
                organisation=organisation,
                present=session is past,
            )
    past.present.set(members[:4])
    path = [
        ("notice_sent", day(115), {}),
        (
            "observations",
            day(100),
            {
                "observations": "Garde d'enfant impossible les jours des rendez-vous.",
                "assisted_by": "Assistante sociale du CCAS",
            },
        ),
        ("referred", day(80), {"session": past}),
        (
            "opinion",
            day(60),
            {
                "team_opinion": "Suspension de 30 % pendant 1 mois ; reprendre contact.",
                "proposed_decision": "suspension",
                "favourable": True,
            },
        ),
        (
            "decided",
            day(55),
            {
                "decision": "suspension",
                "reduction_percent": 30,
                "duration_months": 1,
                "monthly_amount": "635.71",
            },
        ),
        ("notified", day(50), {}),
        ("regularised", day(20), {"repaid_amount": "635.71"}),
    ]
    sanction_people = next(groups) + next(groups)
    stops = [
        "opened",
        "notice_sent",
        "observations",
        "referred_upcoming",
        "opinion",
        "decided",
        "notified",
        "regularised",
    ]
    for person, stop in zip(sanction_people, stops, strict=True):
        case = sanctions.open_case(
            person,
            ground="absences",
            actor=referent,
            on=day(120),
            facts="Absences non excusées aux rendez-vous d'accompagnement des trois derniers mois.",
        )
        for target, on, data in path:
            if stop == "opened":
                break
            if stop == "referred_upcoming" and target == "referred":
                sanctions.transition_case(
                    case,
                    "referred",
                    actor=referent,
                    on=day(5),
                    reason="Inscription en séance",
                    session=upcoming,
                )
                break
            case = sanctions.transition_case(
                case, target, actor=referent, on=on, reason="Étape de démonstration", **data
            )
            if target == stop:
                break
    summary["procedures"] = len(sanction_people)

    # 5. Absences répétées : proposées à l'examen, sans procédure ouverte.
    absent = next(groups)
    for person in absent:
        for weeks_ago in (6, 4):
            Appointment.objects.create(
                beneficiary=person,
                kind="orientation",
                place="Espace départemental des solidarités de Redon",
                starts_at=timezone.now() - datetime.timedelta(weeks=weeks_ago),
                attendance="no_show",
                attendance_recorded_on=day(weeks_ago * 7),
            )
    summary["absences_repetees"] = len(absent)

    # 6. Sorties : emploi (vérification à 6 mois faite ou à faire), création, AAH, déménagement.
    leaving = next(groups) + next(groups)
    jobs = [("cdi", None, 220, True), ("cdd", 3, 200, None), ("interim", 1, 30, None), ("cdd", 12, 190, True)]
    for person, (contract_type, months, days_ago, check) in zip(leaving[:4], jobs, strict=True):
        exit_ = exits.record_exit(
            person,
            author=referent,
            reason="emploi",
            exited_on=day(days_ago),
            employer="Transports Lebreton",
            job_title="Préparateur de commandes",
            contract_type=contract_type,
            contract_months=months,
            job_started_on=day(days_ago),
            weekly_hours=35,
        )
        if check:
            exits.record_employment_check(
                exit_,
                author=referent,
                on=exits.durable_check_due_on(exit_),
                still_employed=True,
                contract_type=contract_type,
                contract_months=months,
                six_month=True,
            )
    for person, reason in zip(
        leaving[4:], ["creation_entreprise", "aah", "demenagement", "formation"], strict=True
    ):
        exits.record_exit(
            person,
            author=referent,
            reason=reason,
            exited_on=day(40),
            job_started_on=day(40),
            details="Sortie de démonstration",
        )
    summary["sorties"] = len(leaving)

    # 7. Espace de la personne : un compte de démonstration.
    person = plan_people[0]
    Appointment.objects.create(
        beneficiary=person,
        kind="accompaniment",
        place="Espace départemental des solidarités de Redon",
        starts_at=timezone.now() + datetime.timedelta(days=7),
    )
    from parcours.demo.territory import DEMO_PASSWORD  # import tardif : territory appelle ce module

    person_space.create_account(person, email=PERSON_EMAIL, password=DEMO_PASSWORD)
    summary["compte_personne"] = PERSON_EMAIL

    # 8. Volet 3 : satisfaction des personnes et des professionnels, progression dans l'employabilité.
    from .demo_surveys import populate_demo as populate_volet_3

    summary.update(populate_volet_3(departement, agents, plan_people, referent, today=today, seed=seed))
    return summary
