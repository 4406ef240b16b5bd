"""Une seule façon de changer un statut : table, ligne verrouillée, événement du journal, une erreur."""

import datetime
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, models

from parcours.accompaniment import activities, services
from parcours.accompaniment.models import (
    ActivityKind,
    ActivityStatus,
    ContractStatus,
    Objective,
    PlannedActivity,
    Review,
    ReviewKind,
    ReviewStatus,
    Theme,
)
from parcours.accompaniment.reviews import REVIEW_WORKFLOW
from parcours.accounts.models import Role
from parcours.journal.models import Event, EventKind
from parcours.journal.services import InvalidPayload
from parcours.journal.transitions import TransitionError, Workflow, transition
from tests.factories import BeneficiaryFactory, MembershipFactory

D = datetime.date


@pytest.fixture
def review(db):
    return Review.objects.create(
        beneficiary=BeneficiaryFactory(), kind=ReviewKind.MILESTONE, due_on=D(2026, 6, 1)
    )


def test_refused_transition_is_one_clear_validation_error(review):
    review.status = ReviewStatus.HELD
    review.save()
    with pytest.raises(TransitionError) as error:
        transition(review, ReviewStatus.CANCELLED, workflow=REVIEW_WORKFLOW, actor=None, on=D(2026, 6, 2))
    assert isinstance(error.value, ValidationError)
    assert error.value.messages == ["Revue : impossible de passer de « Tenue » à « Annulée »."]
    assert (error.value.current, error.value.target) == ("held", "cancelled")


def test_apply_sees_the_locked_row_before_the_change_and_the_event_is_written(review):
    seen = []

    def apply(locked):
        seen.append(locked.status)
        locked.held_on = D(2026, 6, 2)

    held = transition(
        review,
        ReviewStatus.HELD,
        workflow=REVIEW_WORKFLOW,
        actor=None,
        on=D(2026, 6, 2),
        event=EventKind.REVIEW_HELD,
        payload=lambda locked, previous: {"review_id": locked.pk, "review_kind": locked.kind},
        apply=apply,
    )
    assert seen == ["planned"] and held.status == "held" and held.held_on == D(2026, 6, 2)
    event = Event.objects.get(kind=EventKind.REVIEW_HELD)
    assert event.payload == {"review_id": review.pk, "review_kind": ReviewKind.MILESTONE}
    assert event.beneficiary_id == review.beneficiary_id and event.occurred_on == D(2026, 6, 2)


@pytest.mark.parametrize("failure", ["apply", "journal"])
def test_everything_is_rolled_back_when_a_step_fails(review, failure):
    def apply(locked):
        if failure == "apply":
            raise ValidationError({"on": "Date : obligatoire."})

    with pytest.raises(ValidationError if failure == "apply" else InvalidPayload):
        transition(
            review,
            ReviewStatus.HELD,
            workflow=REVIEW_WORKFLOW,
            actor=None,
            on=D(2026, 6, 2),
            event=EventKind.REVIEW_HELD,
            payload={"review_id": review.pk, "revue": review.pk},  # clé non déclarée
            apply=apply,
        )
    review.refresh_from_db()
    assert review.status == "planned" and not Event.objects.exists()


def test_a_workflow_must_cover_every_status_of_its_choices():
    class Light(models.TextChoices):
        GREEN = "green", "Vert"
        RED = "red", "Rouge"

    with pytest.raises(ImproperlyConfigured, match=r"statuts absents de la table \['red'\]"):
        Workflow("Feu", Light, {Light.GREEN: {Light.RED}})
    with pytest.raises(ImproperlyConfigured, match=r"inconnus de Light \['blue'\]"):
        Workflow("Feu", Light, {Light.GREEN: {"blue"}, Light.RED: set()})
    light = Workflow("Feu", Light, {Light.GREEN: {Light.RED}, Light.RED: set()})
    assert light.is_final(Light.RED) and light.targets(Light.GREEN) == {"red"}


# --- deux appels simultanés (PostgreSQL : verrou de ligne) -----------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="verrou de ligne (select_for_update) : PostgreSQL seulement"
)


def _race(monkeypatch, model, call):
    """Deux fils appellent ``call`` en même temps ; l'enregistrement du modèle est ralenti pour que le second
    arrive pendant que le premier tient la ligne (sans verrou, les deux réussiraient)."""
    save = model.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.3)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(model, "save", slow_save)
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        barrier.wait()
        try:
            call()
            outcomes.append("ok")
        except TransitionError as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_activity_transitions_one_wins_the_other_gets_a_transition_error(monkeypatch):
    person = BeneficiaryFactory()
    agent = MembershipFactory(organisation=person.departement, role=Role.REFERENT).user
    activity = activities.plan_activity(
        person,
        author=agent,
        kind=ActivityKind.TRAINING,
        label="Formation",
        weekly_hours=10,
        weeks=4,
        starts_on=D(2026, 3, 2),
    )
    outcomes = _race(
        monkeypatch,
        PlannedActivity,
        lambda: activities.set_activity_status(activity, ActivityStatus.DONE, actor=agent, on=D(2026, 3, 30)),
    )
    assert sorted(map(str, outcomes)) == sorted(
        ["ok", str(TransitionError("Activité : impossible de passer de « Réalisée » à « Réalisée »."))]
    )
    assert Event.objects.filter(kind=EventKind.ACTIVITY_STATUS_CHANGED).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_contract_endings_one_wins_the_other_gets_a_transition_error(monkeypatch):
    from parcours.accompaniment.models import Contract

    person = BeneficiaryFactory()
    agent = MembershipFactory(organisation=person.departement, role=Role.REFERENT).user
    # Référentiel créé ici : un test transactionnel ne peut pas compter sur celui des migrations (vidé).
    theme, _ = Theme.objects.get_or_create(code="mobilite-test", defaults={"label": "Mobilité"})
    contract = services.create_contract(
        person,
        author=agent,
        referent=agent,
        referent_commitments="Un rendez-vous toutes les deux semaines.",
        person_commitments="Suivre la formation.",
        intensity="renforce",
        weekly_hours=15,
        objectives=[Objective.objects.create(theme=theme, code="permis", label="Obtenir le permis")],
    )
    services.sign_contract(contract, actor=agent, on=D(2026, 3, 2))
    outcomes = _race(
        monkeypatch,
        Contract,
        lambda: services.end_contract(contract, actor=agent, on=D(2026, 4, 1), reason="Sortie"),
    )
    assert outcomes.count("ok") == 1
    (error,) = [o for o in outcomes if o != "ok"]
    assert error.messages == ["Contrat : impossible de passer de « Terminé » à « Terminé »."]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ENDED
    assert contract.status_changes.filter(to_status=ContractStatus.ENDED).count() == 1
    assert Event.objects.filter(kind=EventKind.CONTRACT_ENDED).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_attendance_records_one_wins_the_other_gets_a_transition_error(monkeypatch):
    """La présence se saisit par la page, l'API et deux connecteurs : deux saisies simultanées (venu / absent)
    ne s'écrasent plus, la seconde voit la première et est refusée."""
    import datetime

    from django.utils import timezone

    from parcours.orientation import services as orientation
    from parcours.orientation.models import Appointment

    person = BeneficiaryFactory()
    agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    appointment = orientation.schedule_appointment(
        person,
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        place="Espace social de Redon",
        author=agent,
    )
    choices = iter(["seen", "no_show"])
    outcomes = _race(
        monkeypatch,
        Appointment,
        lambda attendance=None: orientation.record_attendance(appointment, next(choices), author=agent),
    )
    assert outcomes.count("ok") == 1
    (error,) = [o for o in outcomes if o != "ok"]
    assert error.messages[0].startswith("Rendez-vous : impossible de passer de")
    kinds = set(Event.objects.filter(beneficiary=person).values_list("kind", flat=True))
    assert len(kinds & {EventKind.APPOINTMENT_HELD, EventKind.APPOINTMENT_NO_SHOW}) == 1
