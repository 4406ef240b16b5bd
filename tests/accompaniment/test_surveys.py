"""Questionnaires de satisfaction : la personne (après l'entretien d'orientation, après 3 mois
d'accompagnement, depuis son espace ou par lien signé) et les professionnels (chaque trimestre)."""

import datetime
import re
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import person_space, surveys
from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ProfessionalSurveyAnswer, SatisfactionAnswer
from parcours.accounts.models import OrganisationKind, Role
from parcours.audit.models import AccessLog
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from tests.factories import FollowUpFactory, MembershipFactory, OrganisationFactory

from .conftest import situation

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def page(response):
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def held_interview(person, author, on):
    """Entretien d'orientation honoré le jour ``on``."""
    starts_at = timezone.make_aware(datetime.datetime(on.year, on.month, on.day, 10))
    appointment = orientation.schedule_appointment(
        person, starts_at=starts_at, place="Espace social de Redon", author=author
    )
    orientation.record_attendance(appointment, "seen", author=author, on=on)
    return appointment


@pytest.fixture
def account(person):
    return person_space.create_account(person, email="nadia.lebreton@example.org")


@pytest.fixture
def interviewed(person, orientation_manager):
    day = TODAY - datetime.timedelta(days=5)
    held_interview(person, orientation_manager, day)
    return day


def test_survey_is_offered_after_the_orientation_interview_and_answered_once(
    client, person, account, interviewed
):
    client.force_login(account.user)
    html = page(client.get(reverse("accompaniment:my_space")))
    assert 'id="questionnaire-satisfaction"' in html
    assert f"après l'entretien d'orientation du {interviewed:%d/%m/%Y}" in html

    url = reverse("accompaniment:my_survey")
    data = {"occasion": "entretien_orientation", "echeance": interviewed.isoformat()}
    assert "Choisissez une note de 1 à 5" in page(client.post(url, {**data, "listened_to": "oui"}))
    response = client.post(url, {**data, "score": "4", "listened_to": "oui", "comment": "Très à l'écoute"})
    assert response.status_code == 302
    answer = SatisfactionAnswer.objects.get()
    assert (answer.occasion, answer.due_on, answer.channel, answer.score) == (
        "entretien_orientation",
        interviewed,
        "espace",
        4,
    )
    assert 'id="questionnaire-satisfaction"' not in page(client.get(reverse("accompaniment:my_space")))
    with pytest.raises(ValidationError, match="déjà répondu"):
        surveys.answer_person_survey(
            person, score=2, listened_to=False, occasion="entretien_orientation", due_on=interviewed
        )
    assert SatisfactionAnswer.objects.count() == 1


def test_three_months_occasion_needs_a_follow_up_still_in_progress(person, departement):
    started = datetime.date(2026, 3, 10)
    FollowUpFactory(beneficiary=person, organisation=departement, started_on=started)
    assert surveys.occasions_of(person, datetime.date(2026, 6, 9)) == []
    assert surveys.occasions_of(person, datetime.date(2026, 6, 10)) == [
        ("trois_mois", datetime.date(2026, 6, 10))
    ]
    # Fenêtre de réponse de 60 jours
    assert surveys.open_occasions(person, datetime.date(2026, 8, 9)) == [
        ("trois_mois", datetime.date(2026, 6, 10))
    ]
    assert surveys.open_occasions(person, datetime.date(2026, 8, 10)) == []

    other = FollowUpFactory(
        beneficiary__departement=departement,
        organisation=departement,
        started_on=started,
        ended_on=datetime.date(2026, 5, 2),
    ).beneficiary
    assert surveys.occasions_of(other, datetime.date(2026, 7, 1)) == []


def test_person_answers_by_signed_link_without_account(client, person, follower, interviewed):
    client.force_login(follower)
    html = page(client.get(reverse("accompaniment:person_survey_links", args=[person.pk])))
    assert "après l'entretien d'orientation" in html.lower()
    assert AccessLog.objects.filter(beneficiary_id=person.pk).exists()  # lecture du dossier journalisée
    link = re.search(r"http://testserver(/accompagnement/avis/[^/\"]+/)", html).group(1)
    token = link.split("/")[-2]
    assert surveys.read_token(token) == (person, "entretien_orientation", interviewed)

    client.logout()
    html = page(client.get(link))
    assert "Bonjour Nadia" in html and "Lebreton" not in html
    html = page(client.post(link, {"score": "5", "listened_to": "oui", "comment": "Merci"}))
    assert "Merci pour votre réponse" in html
    answer = SatisfactionAnswer.objects.get()
    assert (answer.beneficiary, answer.channel, answer.score) == (person, "lien", 5)
    assert "déjà répondu" in page(client.get(link))

    tampered = link.replace(link.split("/")[-2], link.split("/")[-2][:-2] + "xx")
    response = client.get(tampered)
    assert response.status_code == 410 and "n'est pas valide" in unescape(response.content.decode())


def test_expired_link_is_refused(client, person, interviewed, settings):
    settings.PARCOURS_DELAYS = {**settings.PARCOURS_DELAYS, "satisfaction_link_days": 0}
    link = reverse(
        "accompaniment:survey_by_link",
        args=[surveys.make_token(person, "entretien_orientation", interviewed)],
    )
    response = client.post(link, {"score": "5", "listened_to": "oui"})
    assert response.status_code == 410
    assert "Ce lien a expiré" in unescape(response.content.decode())
    assert not SatisfactionAnswer.objects.exists()


def test_agent_without_access_to_the_person_gets_404(client, person, interviewed):
    stranger = MembershipFactory(
        organisation=OrganisationFactory(
            kind=OrganisationKind.MISSION_LOCALE, name="Mission locale de Vitré"
        ),
        role=Role.REFERENT,
    ).user
    client.force_login(stranger)
    assert client.get(reverse("accompaniment:person_survey_links", args=[person.pk])).status_code == 404


def test_professional_answers_once_per_quarter(client, departement, follower, manager, person, account):
    url = reverse("accompaniment:professional_survey")
    client.force_login(follower)
    html = page(client.get(url))
    assert surveys.quarter_label(surveys.quarter_of(TODAY)) in html
    response = client.post(
        url, {"score": "4", "tools_help": "oui", "offer_sufficient": "non", "comment": "Trop de dossiers"}
    )
    assert response.status_code == 302
    answer = ProfessionalSurveyAnswer.objects.get()
    assert (answer.user, answer.score, answer.tools_help, answer.offer_sufficient) == (
        follower,
        4,
        True,
        False,
    )
    assert answer.organisation.name == "Mission locale du Pays de Redon"
    assert answer.departement == departement and answer.quarter == surveys.quarter_of(TODAY)
    assert "Vous avez répondu pour ce trimestre" in page(client.get(url))
    with pytest.raises(ValidationError, match="déjà répondu"):
        surveys.answer_professional_survey(follower, score=2, tools_help=False, offer_sufficient=False)
    # Le trimestre suivant, le questionnaire rouvre.
    next_quarter = surveys.quarter_of(TODAY) + datetime.timedelta(days=95)
    assert surveys.professional_survey_due(follower, next_quarter)

    client.force_login(manager)  # responsable en lecture seule : pas concerné
    assert client.get(url).status_code == 403
    client.force_login(account.user)  # personne accompagnée
    assert client.get(url).status_code in (403, 404)


def test_quarters():
    assert surveys.quarter_of(datetime.date(2026, 5, 17)) == datetime.date(2026, 4, 1)
    assert surveys.quarter_of(datetime.date(2026, 12, 31)) == datetime.date(2026, 10, 1)
    assert surveys.quarter_label(datetime.date(2026, 1, 1)) == "1er trimestre 2026"
    assert surveys.quarter_label(datetime.date(2026, 10, 1)) == "4e trimestre 2026"


def test_a_barrier_theme_closed_by_a_new_diagnostic_is_lifted_in_the_journal(person, orientation_manager):
    no_car = situation("mobilite", "Aucun moyen de transport")
    tenant = situation("logement", "Locataire du parc social")
    mdph = situation("sante", "Existence d'un dossier MDPH")
    first = datetime.date(2026, 3, 5)
    accompaniment.save_diagnostic(
        person,
        author=orientation_manager,
        can_see_sensitive=True,
        conducted_on=first,
        situations=[no_car, tenant, mdph],
    )
    assert not Event.objects.filter(kind="barrier_lifted").exists()
    accompaniment.save_diagnostic(
        person,
        author=orientation_manager,
        can_see_sensitive=True,
        conducted_on=datetime.date(2026, 6, 2),
        situations=[tenant],
    )
    lifted = Event.objects.get(kind="barrier_lifted")
    # La santé (donnée sensible) n'est jamais écrite au journal.
    assert (lifted.occurred_on, lifted.payload["themes"], lifted.payload["version"]) == (
        datetime.date(2026, 6, 2),
        ["mobilite"],
        2,
    )
