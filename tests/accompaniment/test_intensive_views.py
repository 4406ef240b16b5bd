import datetime
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import activities, exits, reviews, sanctions
from parcours.accompaniment.models import (
    Exit,
    PlannedActivity,
    Review,
    SanctionCase,
    SanctionStatus,
    TeamSession,
)
from parcours.accounts.models import Role
from parcours.orientation.models import Appointment
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def page(response):
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def test_activity_plan_page_shows_weekly_total_and_adds_activities(client, person, orientation_manager):
    activities.plan_activity(
        person,
        author=orientation_manager,
        kind="formation",
        label="Remise à niveau",
        weekly_hours=10,
        weeks=4,
        starts_on=D(2026, 3, 2),
    )
    client.force_login(orientation_manager)
    url = reverse("accompaniment:activity_plan", args=[person.pk])
    html = page(client.get(url + "?semaine=2026-03-04"))
    assert "Remise à niveau (10 h)" in html and "Manque 5 h" in html and "15 à 20 h" in html

    response = client.post(
        url,
        {
            "form": "activite",
            "kind": "immersion",
            "label": "PMSMP chez Transports Lebreton",
            "weekly_hours": "7",
            "weeks": "2",
            "starts_on": "2026-03-02",
            "provider": "Transports Lebreton",
        },
    )
    assert response.status_code == 302
    html = page(client.get(url + "?semaine=2026-03-04"))
    assert "Objectif atteint" in html and "PMSMP chez Transports Lebreton" in html

    response = client.post(
        url,
        {
            "form": "adaptation",
            "kind": "zero",
            "reason": "sante",
            "starts_on": "2026-03-02",
            "ends_on": "2026-04-30",
        },
    )
    assert "seulement à la demande de la personne" in page(response)


def test_activity_status_is_recorded(client, person, orientation_manager):
    activity = activities.plan_activity(
        person,
        author=orientation_manager,
        kind="atelier",
        label="Atelier CV",
        weekly_hours=3,
        weeks=2,
        starts_on=D(2026, 3, 2),
    )
    client.force_login(orientation_manager)
    client.post(
        reverse("accompaniment:activity_status", args=[activity.pk]),
        {"status": "done", "on": "2026-03-14", "actual_hours": "6", "outcome": "CV terminé"},
    )
    activity.refresh_from_db()
    assert activity.status == "done" and activity.actual_hours == 6


def test_read_only_and_out_of_scope(client, person, manager, orientation_manager):
    url = reverse("accompaniment:activity_plan", args=[person.pk])
    client.force_login(manager)
    html = page(client.get(url))
    assert "Ajouter une activité" not in html
    assert client.post(url, {"form": "activite"}).status_code == 403
    assert client.post(reverse("accompaniment:case_list", args=[person.pk]), {}).status_code == 403
    elsewhere = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    outsider = MembershipFactory(organisation=elsewhere, role=Role.ADMIN).user
    client.force_login(outsider)
    for name in ("activity_plan", "review_list", "case_list", "exit_list"):
        assert client.get(reverse(f"accompaniment:{name}", args=[person.pk])).status_code == 404


def test_review_page_plans_and_holds(client, person, orientation_manager):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:review_list", args=[person.pk])
    assert client.post(url, {"kind": "pluridisciplinaire", "due_on": "2026-04-01"}).status_code == 302
    review = Review.objects.get(beneficiary=person)
    client.post(
        reverse("accompaniment:review_hold", args=[review.pk]),
        {
            "on": "2026-04-01",
            "minutes": "Situation examinée en équipe.",
            "decisions": "Réorientation proposée",
        },
    )
    html = page(client.get(url))
    assert "Situation examinée en équipe." in html and "Réorientation proposée" in html


@pytest.fixture
def session(departement):
    # Noms fixés : un nom tiré au hasard pourrait être celui de la personne (« Lebreton »), que la synthèse
    # anonymisée ne doit jamais montrer.
    members = [
        MembershipFactory(organisation=departement, role=Role.REFERENT, user__last_name=f"Membre {i}").user
        for i in range(3)
    ]
    s = TeamSession.objects.create(
        departement=departement, held_on=D(2026, 5, 5), place="Hôtel du Département"
    )
    s.members.set(members)
    s.present.set(members)
    return s


def test_sanction_procedure_through_pages(client, person, orientation_manager, follower, session):
    client.force_login(follower)
    response = client.post(
        reverse("accompaniment:case_list", args=[person.pk]),
        {"ground": "absences", "facts": "Absente aux rendez-vous des 3 et 10 février.", "on": "2026-03-02"},
    )
    case = SanctionCase.objects.get(beneficiary=person)
    assert response.url == reverse("accompaniment:case_detail", args=[case.pk])
    url = response.url
    client.post(
        url, {"to_status": "notice_sent", "on": "2026-03-03", "reason": "Courrier d'information envoyé"}
    )
    html = page(client.get(reverse("accompaniment:case_letter", args=[case.pk])))
    assert "Information préalable" in html and "jusqu'au 02/04/2026" in html
    client.post(
        url,
        {
            "to_status": "observations",
            "on": "2026-03-20",
            "reason": "Entretien",
            "observations": "Enfant malade",
        },
    )
    client.post(
        url, {"to_status": "referred", "on": "2026-04-20", "reason": "Inscription", "session": session.pk}
    )
    case.refresh_from_db()
    assert case.status == SanctionStatus.REFERRED
    # L'avis et la décision relèvent du Département : la référente de la Mission locale ne peut pas.
    assert "Avis de l'équipe pluridisciplinaire" not in page(client.get(url)).split("Étape suivante")[1]
    response = client.post(
        url,
        {
            "to_status": "opinion",
            "on": "2026-05-05",
            "reason": "Séance",
            "team_opinion": "Suspension",
            "proposed_decision": "suspension",
        },
    )
    assert response.status_code == 403
    client.force_login(orientation_manager)
    client.post(
        url,
        {
            "to_status": "opinion",
            "on": "2026-05-05",
            "reason": "Séance",
            "team_opinion": "Suspension de 30 % pendant 1 mois",
            "proposed_decision": "suspension",
        },
    )
    response = client.post(
        url,
        {
            "to_status": "decided",
            "on": "2026-05-06",
            "reason": "Décision",
            "decision": "suspension",
            "reduction_percent": "20",
            "duration_months": "1",
        },
    )
    assert "entre 30 % et 100 %" in page(response)
    client.post(
        url,
        {
            "to_status": "decided",
            "on": "2026-05-06",
            "reason": "Décision",
            "decision": "suspension",
            "reduction_percent": "30",
            "duration_months": "1",
        },
    )
    case.refresh_from_db()
    assert case.status == SanctionStatus.DECIDED and case.steps.count() == 6
    html = page(client.get(url))
    assert "30 % pendant 1 mois" in html and str(orientation_manager) in html

    summary = page(client.get(reverse("accompaniment:session_summary", args=[session.pk])))
    assert f"Dossier n°{case.pk} — N. L." in summary
    assert "Lebreton" not in summary and "Nadia" not in summary


def test_exit_and_employment_check_pages(client, person, orientation_manager):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:exit_list", args=[person.pk])
    response = client.post(
        url,
        {
            "reason": "emploi",
            "exited_on": "2026-03-02",
            "employer": "Transports Lebreton",
            "job_title": "Cariste",
            "contract_type": "cdd",
            "contract_months": "8",
            "job_started_on": "2026-03-02",
        },
    )
    assert response.status_code == 302
    exit_ = Exit.objects.get(beneficiary=person)
    client.post(
        reverse("accompaniment:employment_check", args=[exit_.pk]),
        {"on": "2026-09-02", "still_employed": "on", "contract_type": "cdi", "six_month": "on"},
    )
    html = page(client.get(url))
    assert "Cariste chez Transports Lebreton" in html and "emploi durable" in html
    response = client.post(url, {"reason": "emploi", "exited_on": "2026-03-02"})
    assert "Employeur : champ obligatoire" in page(response)


# --- listes : nombre de requêtes borné -----------------------------------------------------------------


def _populate(departement, author, session, n, start):
    for i in range(start, start + n):
        person = BeneficiaryFactory(departement=departement, last_name=f"Personne{i:03d}")
        case = sanctions.open_case(
            person, ground="absences", facts="Absences", actor=author, on=D(2026, 3, 2)
        )
        sanctions.transition_case(case, "notice_sent", actor=author, on=D(2026, 3, 3), reason="Courrier")
        reviews.plan_review(person, author=author, kind="jalon", due_on=D(2026, 4, 1))
        exits.record_exit(
            person,
            author=author,
            reason="emploi",
            exited_on=D(2026, 1, 5),
            employer="SARL",
            contract_type="cdi",
            job_started_on=D(2026, 1, 5),
        )
        other = BeneficiaryFactory(departement=departement, last_name=f"Absent{i:03d}")
        for day in (3, 10):
            Appointment.objects.create(
                beneficiary=other,
                kind="orientation",
                place="EDS",
                attendance="no_show",
                starts_at=datetime.datetime(2026, 2, day, 9, tzinfo=datetime.UTC),
            )


@pytest.mark.parametrize(
    "name,marker",
    [("cases_in_progress", "Personne0"), ("reviews_due", "Personne0"), ("durable_checks_due", "Personne0")],
)
def test_list_pages_have_bounded_queries(
    client, departement, orientation_manager, session, name, marker, django_assert_max_num_queries
):
    client.force_login(orientation_manager)
    url = reverse(f"accompaniment:{name}") + "?on=2026-07-10"
    _populate(departement, orientation_manager, session, 3, 0)
    client.get(url)
    with django_assert_max_num_queries(14) as small:
        html = page(client.get(url))
    assert html.lower().count(marker.lower()) == 3
    _populate(departement, orientation_manager, session, 9, 3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = page(client.get(url))
    assert html.lower().count(marker.lower()) == 12
    if name == "cases_in_progress":
        assert html.lower().count("absent0") == 12 and "2 absences non excusées" in html


def test_beneficiary_sees_tabs_to_new_pages(client, person, orientation_manager):
    client.force_login(orientation_manager)
    html = page(client.get(reverse("accompaniment:contract_list", args=[person.pk])))
    for name in ("activity_plan", "review_list", "case_list", "exit_list"):
        assert reverse(f"accompaniment:{name}", args=[person.pk]) in html
    assert PlannedActivity.objects.count() == 0


def test_reorientation_examined_in_team_session_is_on_the_anonymised_summary(
    client, person, orientation_manager, session
):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:review_list", args=[person.pk])
    assert client.post(url, {"kind": "pluridisciplinaire", "session": session.pk}).status_code == 302
    review = Review.objects.get(beneficiary=person)
    assert review.session == session and review.due_on == session.held_on
    reviews.hold_review(
        review,
        actor=orientation_manager,
        on=D(2026, 5, 5),
        minutes="Freins sociaux levés",
        decisions="Réorientation vers France Travail proposée",
    )
    summary = page(client.get(reverse("accompaniment:session_summary", args=[session.pk])))
    assert (
        f"Situation n°{review.pk} — N. L." in summary
        and "Réorientation vers France Travail proposée" in summary
    )
    assert "Lebreton" not in summary
    other_session = TeamSession.objects.create(
        departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"), held_on=D(2026, 6, 1)
    )
    with pytest.raises(ValidationError, match="Département de la personne"):
        reviews.plan_review(
            person, author=orientation_manager, kind="pluridisciplinaire", due_on=None, session=other_session
        )
