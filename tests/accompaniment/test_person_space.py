import datetime
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import activities, person_space
from parcours.accompaniment.models import AppointmentReply, SatisfactionAnswer
from parcours.accounts.models import Role
from parcours.orientation import services as orientation
from parcours.orientation.models import Appointment
from tests.factories import BeneficiaryFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def page(response):
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def _appointment(person, days, place):
    return Appointment.objects.create(
        beneficiary=person,
        kind="accompaniment",
        place=place,
        starts_at=timezone.now() + datetime.timedelta(days=days),
    )


@pytest.fixture
def account(person):
    return person_space.create_account(
        person, email="nadia.lebreton@example.org", password="mot-de-passe-1234"
    )


@pytest.fixture
def neighbour(departement):
    other = BeneficiaryFactory(departement=departement, first_name="Karim", last_name="Voisin")
    person_space.create_account(other, email="karim@example.org")
    return other


def test_person_sees_own_referent_appointments_and_plan(client, person, account, departement, neighbour):
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Claire", user__last_name="Morvan"
    ).user
    orientation.assign_referent(
        person,
        referent=referent,
        organisation=departement,
        author=MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user,
        started_on=datetime.date(2026, 3, 1),
    )
    _appointment(person, 3, "Espace départemental des solidarités de Redon")
    _appointment(neighbour, 3, "Maison de Karim")
    activities.plan_activity(
        neighbour,
        author=None,
        kind="formation",
        label="Formation de Karim",
        weekly_hours=10,
        weeks=4,
        starts_on=timezone.localdate(),
    )
    activities.plan_activity(
        person,
        author=None,
        kind="atelier",
        label="Atelier numérique",
        weekly_hours=3,
        weeks=4,
        starts_on=timezone.localdate(),
    )
    client.force_login(account.user)
    html = page(client.get(reverse("accompaniment:my_space")))
    assert "Bonjour Nadia" in html and "Claire Morvan" in html
    assert "Espace départemental des solidarités de Redon" in html and "Atelier numérique" in html
    assert "Maison de Karim" not in html and "Formation de Karim" not in html


def test_person_confirms_or_excuses_only_own_appointments(client, person, account, neighbour):
    mine = _appointment(person, 2, "EDS Redon")
    theirs = _appointment(neighbour, 2, "EDS Redon")
    client.force_login(account.user)
    url = reverse("accompaniment:my_appointment_reply", args=[theirs.pk])
    assert client.post(url, {"answer": "confirm"}).status_code == 404
    assert not AppointmentReply.objects.exists()
    client.post(
        reverse("accompaniment:my_appointment_reply", args=[mine.pk]), {"answer": "excuse", "reason": ""}
    )
    assert not AppointmentReply.objects.exists()
    client.post(
        reverse("accompaniment:my_appointment_reply", args=[mine.pk]),
        {"answer": "excuse", "reason": "Rendez-vous médical"},
    )
    reply = AppointmentReply.objects.get()
    assert (reply.appointment, reply.answer, reply.reason) == (mine, "excuse", "Rendez-vous médical")
    assert "Vous avez répondu : je ne pourrai pas venir" in page(
        client.get(reverse("accompaniment:my_space"))
    )


def test_past_appointment_cannot_be_answered(person):
    past = _appointment(person, -1, "EDS")
    with pytest.raises(ValidationError, match="passé"):
        person_space.reply_to_appointment(person, past.pk, answer="confirm")


def test_survey(client, person, account):
    client.force_login(account.user)
    url = reverse("accompaniment:my_survey")
    assert "Choisissez une note de 1 à 5" in page(client.post(url, {"listened_to": "oui"}))
    assert client.post(url, {"score": "4", "listened_to": "oui", "comment": "Merci"}).status_code == 302
    answer = SatisfactionAnswer.objects.get()
    assert (answer.beneficiary, answer.score, answer.listened_to) == (person, 4, True)


def test_person_cannot_reach_agent_pages_and_agents_have_no_space(
    client, person, account, orientation_manager
):
    client.force_login(account.user)
    assert client.get(reverse("beneficiary_detail", args=[person.pk])).status_code == 404
    assert client.get(reverse("accompaniment:activity_plan", args=[person.pk])).status_code == 404
    assert client.get(reverse("accompaniment:cases_in_progress")).status_code == 200  # liste vide
    assert "Aucune procédure en cours" in page(client.get(reverse("accompaniment:cases_in_progress")))
    client.force_login(orientation_manager)
    assert client.get(reverse("accompaniment:my_space")).status_code == 404


def test_account_creation_rules(person, account):
    with pytest.raises(ValidationError, match="déjà"):
        person_space.create_account(person, email="autre@example.org")
    other = BeneficiaryFactory(departement=person.departement, email="")
    with pytest.raises(ValidationError, match="déjà un compte"):
        person_space.create_account(other, email="NADIA.LEBRETON@example.org")
    with pytest.raises(ValidationError, match="obligatoire"):
        person_space.create_account(other, email="")


def test_satisfaction_summary(person, departement):
    other = BeneficiaryFactory(departement=departement)
    day = datetime.date(2026, 5, 4)
    person_space.answer_survey(person, score=5, listened_to=True, today=day)
    person_space.answer_survey(other, score=2, listened_to=False, today=day)
    person_space.answer_survey(other, score=4, listened_to=True, today=datetime.date(2026, 7, 1))
    assert person_space.satisfaction_summary(datetime.date(2026, 5, 1), datetime.date(2026, 5, 31)) == {
        "reponses": 2,
        "note_moyenne": 3.5,
        "part_ecoutee": 0.5,
    }
    assert (
        person_space.satisfaction_summary(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))["reponses"]
        == 0
    )


def test_a_person_lands_on_their_own_space_after_login(client):
    from parcours.accompaniment.person_space import create_account
    from tests.factories import BeneficiaryFactory

    person = BeneficiaryFactory()
    account = create_account(person, email="awa.diallo@example.org", password="motdepasse-solide-2026")
    client.force_login(account.user)
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/accompagnement/mon-espace/"
