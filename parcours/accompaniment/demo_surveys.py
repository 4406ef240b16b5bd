"""Démonstration du volet 3 (annexe 4 de 002) : questionnaires de satisfaction des personnes et des
professionnels, et progression dans l'employabilité (immersions, formations, contrats courts, freins
levés), pour que le tableau de bord et le fichier de l'annexe 4 aient des chiffres.

Appelée par ``accompaniment.demo.populate_demo`` ; tout passe par les services (mêmes règles, mêmes
événements du journal). Même graine, mêmes données.
"""

import datetime
import random

from django.core.exceptions import ValidationError

from parcours.beneficiaries.models import Beneficiary, FollowUp

from . import activities, services, surveys
from .models import DiagnosticVersion, Situation, SurveyChannel, ThemeKind

COMMENTS = [
    "Ma référente prend le temps de m'expliquer.",
    "J'aimerais des rendez-vous plus souvent.",
    "",
    "L'immersion m'a redonné confiance.",
    "",
]


def _answer_day(due_on, today, rng):
    return min(due_on + datetime.timedelta(days=rng.randint(0, 10)), today)


def populate_person_surveys(departement, *, today, seed=2026, limit=120):
    """Réponses des personnes suivies aux questionnaires dus (environ deux sur trois), la moitié par le
    lien reçu ; quelques avis donnés d'elles-mêmes."""
    rng = random.Random(f"parcours-demo-satisfaction-{seed}")
    followed = FollowUp.objects.filter(beneficiary__departement=departement).values("beneficiary")
    people = Beneficiary.objects.filter(pk__in=followed).select_related("departement").order_by("pk")[:limit]
    answered = 0
    for person in people:
        for occasion, due_on in surveys.occasions_of(person, today):
            if rng.random() > 0.65:
                continue
            day = _answer_day(due_on, today, rng)
            try:
                surveys.answer_person_survey(
                    person,
                    score=rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 3, 6, 5])[0],
                    listened_to=rng.random() < 0.8,
                    comment=rng.choice(COMMENTS),
                    occasion=occasion,
                    due_on=due_on,
                    channel=SurveyChannel.LINK if rng.random() < 0.5 else SurveyChannel.SPACE,
                    today=day,
                )
            except ValidationError:  # occasion déjà close ou déjà répondue
                continue
            answered += 1
        if rng.random() < 0.05:
            surveys.answer_person_survey(person, score=rng.randint(2, 5), listened_to=True, today=today)
            answered += 1
    return answered


def populate_professional_surveys(agents, *, today, seed=2026):
    """Réponses des professionnels au trimestre en cours et au précédent (quelques-uns ne répondent pas)."""
    rng = random.Random(f"parcours-demo-professionnels-{seed}")
    previous = surveys.quarter_of(today) - datetime.timedelta(days=20)
    answered = 0
    for email in sorted(agents):
        user = agents[email]
        if not surveys.surveyed_memberships(user):
            continue
        for day in (previous, today):
            if rng.random() < 0.3:
                continue
            surveys.answer_professional_survey(
                user,
                score=rng.choices([2, 3, 4, 5], weights=[1, 3, 5, 2])[0],
                tools_help=rng.random() < 0.7,
                offer_sufficient=rng.random() < 0.5,
                comment="Portefeuille chargé ce trimestre." if rng.random() < 0.3 else "",
                today=day,
            )
            answered += 1
    return answered


def populate_employability(people, referent, *, today):
    """Étapes de la progression dans l'employabilité : une immersion commencée, une formation réalisée,
    un contrat IAE commencé, et un frein levé à la nouvelle version du diagnostic, pour quelques personnes."""
    day = lambda n: today - datetime.timedelta(days=n)  # noqa: E731
    steps = [
        ("immersion", "Immersion (PMSMP) en maraîchage", "Les Jardins de la Vilaine", 30, 2, "in_progress"),
        ("formation", "Titre professionnel agent de propreté", "AFPA Rennes", 30, 12, "done"),
        (
            "iae",
            "Contrat en atelier d'insertion (recyclerie)",
            "Recyclerie du Pays de Redon",
            26,
            26,
            "in_progress",
        ),
    ]
    for person, (kind, label, provider, hours, weeks, status) in zip(people, steps, strict=False):
        activity = activities.plan_activity(
            person,
            author=referent,
            kind=kind,
            label=label,
            provider=provider,
            weekly_hours=hours,
            weeks=weeks,
            starts_on=day(45),
        )
        activities.set_activity_status(activity, "in_progress", actor=referent, on=day(45))
        if status == "done":
            activities.set_activity_status(
                activity,
                "done",
                actor=referent,
                on=day(5),
                actual_hours=hours * weeks,
                outcome="Titre obtenu",
            )
    barriers = list(
        Situation.objects.filter(active=True, theme__kind=ThemeKind.BARRIER, theme__sensitive=False)
        .select_related("theme")
        .order_by("theme__position", "position")
    )
    first_by_theme = {}
    for situation in barriers:
        first_by_theme.setdefault(situation.theme.code, situation)
    lifted = 0
    for person in people[:3]:
        latest = DiagnosticVersion.objects.filter(beneficiary=person).order_by("-number").first()
        situations = list(latest.situations.select_related("theme")) if latest else []
        found = {
            s.theme.code for s in situations if s.theme.kind == ThemeKind.BARRIER and not s.theme.sensitive
        }
        if not found and len(first_by_theme) >= 2:
            # Diagnostic d'entrée : deux freins relevés (mobilité, logement…).
            situations += list(first_by_theme.values())[lifted % 2 : lifted % 2 + 2]
            services.save_diagnostic(
                person,
                author=referent,
                can_see_sensitive=True,
                situations=situations,
                conducted_on=day(60),
                notes="Diagnostic : freins repérés avec la personne.",
            )
            found = {s.theme.code for s in situations if s.theme.kind == ThemeKind.BARRIER}
        if not found:
            continue
        lifted_theme = sorted(found)[0]
        services.save_diagnostic(
            person,
            author=referent,
            can_see_sensitive=True,
            situations=[s for s in situations if s.theme.code != lifted_theme],
            conducted_on=day(10),
            notes="Point d'étape : frein levé avec la personne.",
        )
        lifted += 1
    return lifted


def populate_demo(departement, agents, people, referent, *, today, seed=2026):
    """Le volet 3 de la démonstration ; renvoie un résumé."""
    lifted = populate_employability(people, referent, today=today)
    return {
        "avis_personnes": populate_person_surveys(departement, today=today, seed=seed),
        "avis_professionnels": populate_professional_surveys(agents, today=today, seed=seed),
        "freins_leves": lifted,
    }
