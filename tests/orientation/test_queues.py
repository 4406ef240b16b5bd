"""Files de travail et délais (T0 = jour 1, objectif 15 jours, délai légal 6 semaines), à date figée."""

import datetime

import pytest

from parcours.beneficiaries.models import Beneficiary
from parcours.orientation import services
from parcours.orientation.models import Channel, Pathway
from parcours.pathway import services as pathway
from tests.factories import BeneficiaryFactory, DepartementFactory

D = datetime.date

pytestmark = pytest.mark.django_db


def days_left(person, today):
    row = services.with_days_left(Beneficiary.objects.filter(pk=person.pk), today).get()
    return row.days_left_target, row.days_left_legal


def test_fifteen_day_target_counts_t0_as_day_one(person):
    # Exemple de la convention : T0 = 01/03 → orientée dans les temps si la notification part le 15/03.
    assert days_left(person, D(2026, 3, 1)) == (14, 42)
    assert days_left(person, D(2026, 3, 15)) == (0, 28)
    assert days_left(person, D(2026, 3, 16)) == (-1, 27)
    # Délai légal de 6 semaines (Code de procédure civile, art. 641) : dernier jour T0 + 42, le même jour de la
    # semaine que T0 (bornes : tests/orientation/test_legal_delay.py).
    assert days_left(person, D(2026, 4, 12)) == (-28, 0)
    assert days_left(person, D(2026, 4, 13))[1] == -1
    assert services.deadlines(person.new_entrant_t0, person.departement) == (D(2026, 3, 15), D(2026, 4, 12))


def test_delays_are_per_departement(person):
    other = DepartementFactory(
        departement_code="44", name="Loire-Atlantique", delay_overrides={"orientation_target_days": 30}
    )
    far = BeneficiaryFactory(departement=other, new_entrant_t0=D(2026, 3, 1))
    assert days_left(person, D(2026, 3, 16))[0] == -1
    assert days_left(far, D(2026, 3, 16))[0] == 14
    assert services.deadlines(far.new_entrant_t0, other)[0] == D(2026, 3, 30)


def test_new_entrants_to_invite_ordered_by_urgency_and_leave_once_invited(person, manager, departement):
    later = BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 3, 10), email="b@example.org")
    BeneficiaryFactory(departement=departement, new_entrant_t0=None)  # stock : pas dans cette file
    closed = BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 3, 2), rsa_state="5")
    scope = Beneficiary.objects.filter(departement=departement)

    rows = list(services.new_entrants_to_invite(scope, D(2026, 3, 12)))
    assert [r.pk for r in rows] == [person.pk, later.pk]
    assert closed.pk not in [r.pk for r in rows]
    assert (rows[0].days_left_target, rows[1].days_left_target) == (3, 12)

    services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 12))
    assert [r.pk for r in services.new_entrants_to_invite(scope, D(2026, 3, 12))] == [later.pk]
    pending = list(services.pending_invitations(scope, D(2026, 3, 12)))
    assert [(i.beneficiary_id, i.days_left_target) for i in pending] == [(person.pk, 3)]


def test_failed_invitation_keeps_person_in_queue(person, manager, departement):
    person.email = ""
    person.phone = "02 99 00 00 00"
    person.save()
    scope = Beneficiary.objects.filter(departement=departement)
    with pytest.raises(Exception, match="aucun numéro de téléphone mobile"):
        services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    assert [r.pk for r in services.new_entrants_to_invite(scope, D(2026, 3, 2))] == [person.pk]


def test_exempted_people_leave_queues(person, manager, departement):
    scope = Beneficiary.objects.filter(departement=departement)
    services.add_exemption(
        person, reason="sante", author=manager, starts_on=D(2026, 3, 3), ends_on=D(2026, 5, 31)
    )
    assert not services.new_entrants_to_invite(scope, D(2026, 3, 4)).exists()
    assert not services.people_to_orient(scope, D(2026, 3, 4)).exists()
    # la dispense finie, la personne revient dans la file
    assert services.people_to_orient(scope, D(2026, 6, 1)).get().pk == person.pk


def test_people_to_orient_until_notified(person, manager, departement, france_travail):
    scope = Beneficiary.objects.filter(departement=departement)
    assert services.people_to_orient(scope, D(2026, 3, 20)).get().days_left_target == -5
    decision = services.decide_orientation(
        person, pathway=Pathway.EMPLOI, organisation=france_travail, author=manager, decided_on=D(2026, 3, 20)
    )
    row = services.people_to_orient(scope, D(2026, 3, 20)).get()
    assert row.pending_pathway == Pathway.EMPLOI  # décidée mais pas encore notifiée
    services.notify_orientation(decision, author=manager, notified_on=D(2026, 3, 21))
    assert not services.people_to_orient(scope, D(2026, 3, 21)).exists()
    # une personne radiée (suivi clos), revenue comme nouvel entrant après l'orientation, retourne dans la file
    pathway.close_follow_up(
        person, on=D(2026, 7, 1), reason="Droit clos : accompagnement clos (radiation)", end_cause="radiation"
    )
    person.new_entrant_t0 = D(2026, 9, 1)
    person.save()
    assert services.people_to_orient(scope, D(2026, 9, 2)).get().pk == person.pk


def test_expired_invitation_queue_and_appointments_to_record(person, manager, departement, frozen):
    scope = Beneficiary.objects.filter(departement=departement)
    frozen(2026, 3, 2)
    invitation = services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    assert invitation.expires_on == D(2026, 3, 12)
    assert services.expire_invitations(D(2026, 3, 12)) == []
    assert [i.pk for i in services.expire_invitations(D(2026, 3, 13))] == [invitation.pk]
    assert [i.pk for i in services.expired_invitations(scope, D(2026, 3, 13))] == [invitation.pk]

    now = frozen(2026, 3, 13)
    appointment = services.schedule_appointment(
        person,
        starts_at=datetime.datetime(2026, 3, 14, 9, 30, tzinfo=datetime.UTC),
        place="Maison du Département, Redon",
        author=manager,
    )
    assert not services.expired_invitations(scope, now).exists()  # rendez-vous fixé : plus à convoquer
    assert not services.appointments_to_record(scope).exists()
    frozen(2026, 3, 15)
    assert [a.pk for a in services.appointments_to_record(scope)] == [appointment.pk]
    services.record_attendance(appointment, "seen", author=manager)
    assert not services.appointments_to_record(scope).exists()
    assert services.people_to_orient(scope, D(2026, 3, 15)).get().seen is True


def test_stock_without_orientation_for_recontact_campaigns(person, manager, departement, france_travail):
    stock = BeneficiaryFactory(departement=departement, new_entrant_t0=None, email="stock@example.org")
    BeneficiaryFactory(departement=departement, new_entrant_t0=None, is_sdd=False)
    oriented = BeneficiaryFactory(departement=departement, new_entrant_t0=None)
    services.decide_orientation(oriented, pathway="emploi", organisation=france_travail, author=manager)
    scope = Beneficiary.objects.filter(departement=departement)
    assert set(services.stock_without_orientation(scope).values_list("pk", flat=True)) == {
        person.pk,
        stock.pk,
    }
    report = services.invite_many(
        services.stock_without_orientation(scope).filter(new_entrant_t0__isnull=True),
        channel=Channel.EMAIL,
        author=manager,
        today=D(2026, 3, 2),
    )
    assert [i.beneficiary for i in report.sent] == [stock]


def test_people_followed_by_an_organisation_leave_the_queues(person, manager, departement, mission_locale):
    from parcours.beneficiaries.models import FollowUp

    scope = Beneficiary.objects.filter(departement=departement)
    FollowUp.objects.create(beneficiary=person, organisation=mission_locale, started_on=D(2026, 3, 5))
    assert not services.new_entrants_to_invite(scope, D(2026, 3, 6)).exists()
    assert not services.people_to_orient(scope, D(2026, 3, 6)).exists()
    FollowUp.objects.update(ended_on=D(2026, 3, 7))
    assert services.people_to_orient(scope, D(2026, 3, 8)).get() == person
