import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from parcours.accompaniment import exits
from parcours.interop import webhooks
from parcours.interop.models import Delivery, DeliveryStatus
from parcours.orientation import services as orientation
from tests.factories import BeneficiaryFactory

from .conftest import follow, past

URL = "https://partenaire.example/webhooks"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ft_subscription(france_travail, make_partner):
    partner, _ = make_partner(france_travail)
    return webhooks.subscribe(
        partner, URL, ["orientation.decidee", "rendez-vous.cree", "rendez-vous.presence"]
    )


def test_orientation_decided_is_queued_for_the_concerned_partner_only(
    departement, france_travail, mission_locale, person, manager, make_partner, ft_subscription
):
    other, _ = make_partner(mission_locale)
    webhooks.subscribe(other, "https://autre.example/hook", ["orientation.decidee"])
    decision = orientation.decide_orientation(
        person, pathway="emploi", organisation=france_travail, author=manager
    )
    delivery = Delivery.objects.get()
    assert delivery.subscription == ft_subscription
    assert delivery.event_type == "orientation.decidee" and delivery.status == DeliveryStatus.PENDING
    assert delivery.payload["personne"] == person.pk
    assert delivery.payload["donnees"] == {"orientation": decision.pk, "pathway": "emploi", "code": "PED"}
    assert delivery.payload["id"] == str(delivery.event_id)
    assert "nir" not in json.dumps(delivery.payload)


def test_unsubscribed_types_and_unrelated_people_are_not_sent(
    departement, france_travail, manager, ft_subscription
):
    stranger = BeneficiaryFactory(departement=departement)
    orientation.schedule_appointment(stranger, starts_at=past(), place="Espace social", author=manager)
    orientation.decide_orientation(stranger, pathway="social", organisation=departement, author=manager)
    assert not Delivery.objects.exists()


def test_signed_delivery_is_accepted_by_the_receiver(
    person, france_travail, manager, ft_subscription, receiver
):
    receiver.secret = ft_subscription.secret
    follow(person, france_travail)
    appointment = orientation.schedule_appointment(person, starts_at=past(), place="Agence", author=manager)
    assert json.loads(run("interop-deliver", "--json")) == {"livrees": 1, "en_echec": 0}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.delivered_at is not None
    (event,) = receiver.events.values()
    assert event["type"] == "rendez-vous.cree" and event["donnees"]["rendez_vous"] == appointment.pk
    request = receiver.requests[0]
    assert request.headers["X-Parcours-Event-Type"] == "rendez-vous.cree"
    # Une signature calculée avec un autre secret est refusée par le récepteur.
    assert not webhooks.verify("whsec_autre", request.body, request.headers["X-Parcours-Signature"])
    # Plus rien à envoyer.
    assert json.loads(run("interop-deliver", "--json")) == {"livrees": 0, "en_echec": 0}


def test_signature_expires(ft_subscription):
    body = b'{"id":"1"}'
    stamp = int(timezone.now().timestamp()) - 3600
    header = f"t={stamp},v1={webhooks.sign(ft_subscription.secret, body, stamp)}"
    assert not webhooks.verify(ft_subscription.secret, body, header)
    assert webhooks.verify(ft_subscription.secret, body, header, now=stamp + 10)
    assert not webhooks.verify(ft_subscription.secret, body, "n'importe quoi")


def test_failures_back_off_exponentially_then_give_up(
    person, france_travail, manager, ft_subscription, receiver
):
    follow(person, france_travail)
    orientation.schedule_appointment(person, starts_at=past(), place="Agence", author=manager)
    receiver.fail_next = 100
    delivery = Delivery.objects.get()
    delays = []
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        before = timezone.now()
        counts = webhooks.deliver_due(now=timezone.now() + datetime.timedelta(days=1))
        assert counts == {"livrees": 0, "en_echec": 1}
        delivery.refresh_from_db()
        assert delivery.attempts == attempt and delivery.response_code == 503
        if delivery.next_try_at:
            delays.append(round((delivery.next_try_at - before).total_seconds() / 60))
    assert delays[:4] == [1, 2, 4, 8]
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_try_at is None
    assert delivery.last_error == "Réponse HTTP 503"
    # Pas encore dû : rien n'est renvoyé avant l'heure.
    assert webhooks.deliver_due() == {"livrees": 0, "en_echec": 0}


def test_not_yet_due_delivery_waits(person, france_travail, manager, ft_subscription, receiver):
    follow(person, france_travail)
    orientation.schedule_appointment(person, starts_at=past(), place="Agence", author=manager)
    receiver.fail_next = 1
    assert webhooks.deliver_due() == {"livrees": 0, "en_echec": 1}
    assert webhooks.deliver_due() == {"livrees": 0, "en_echec": 0}
    assert webhooks.deliver_due(now=timezone.now() + datetime.timedelta(minutes=2)) == {
        "livrees": 1,
        "en_echec": 0,
    }


def test_replay_resends_the_same_event_id(person, france_travail, manager, ft_subscription, receiver):
    follow(person, france_travail)
    orientation.schedule_appointment(person, starts_at=past(), place="Agence", author=manager)
    run("interop-deliver")
    delivery = Delivery.objects.get()
    output = run("interop-deliver", "--replay", str(delivery.pk))
    assert output.strip() == f"Livraison n° {delivery.pk} rejouée : livrée."
    assert len(receiver.requests) == 2
    ids = {r.headers["X-Parcours-Event-Id"] for r in receiver.requests}
    assert ids == {str(delivery.event_id)}
    assert len(receiver.events) == 1  # le récepteur a écarté le doublon
    with pytest.raises(CommandError, match="introuvable"):
        run("interop-deliver", "--replay", "999999")


def test_exit_and_attendance_events(departement, person, manager, make_partner, receiver):
    partner, _ = make_partner(departement)
    webhooks.subscribe(partner, URL, ["sortie.enregistree", "rendez-vous.presence", "rendez-vous.modifie"])
    appointment = orientation.schedule_appointment(person, starts_at=past(), place="Agence", author=manager)
    orientation.record_attendance(appointment, "no_show", author=manager)
    orientation.record_attendance(appointment, "planned", author=manager)
    exits.record_exit(person, author=manager, reason="demenagement", exited_on=timezone.localdate())
    assert list(Delivery.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "rendez-vous.presence",
        "rendez-vous.modifie",
        "sortie.enregistree",
    ]


def test_unknown_event_type_is_refused(france_travail, make_partner):
    partner, _ = make_partner(france_travail)
    with pytest.raises(ValidationError, match="Type d.événement inconnu"):
        webhooks.subscribe(partner, URL, ["tout"])


def test_contract_signed_event(departement, person, manager, make_partner, receiver):
    from parcours.accompaniment import services as accompaniment
    from parcours.accompaniment.models import ContractKind

    partner, _ = make_partner(departement)
    subscription = webhooks.subscribe(partner, URL, ["contrat.signe"])
    receiver.secret = subscription.secret
    contract = accompaniment.create_contract(person, author=manager, kind=ContractKind.CER)
    accompaniment.sign_contract(contract, actor=manager, on=timezone.localdate())
    delivery = Delivery.objects.get()
    assert delivery.event_type == "contrat.signe"
    assert delivery.payload["donnees"] == {"contrat": contract.pk, "type": "cer"}
    assert webhooks.deliver_due() == {"livrees": 1, "en_echec": 0}


def test_subscribe_command_shows_the_secret_once(france_travail, make_partner):
    partner, _ = make_partner(france_travail)
    result = json.loads(
        run(
            "interop-subscribe",
            str(partner.pk),
            URL,
            "--events",
            "rendez-vous.presence",
            "contrat.signe",
            "--json",
        )
    )
    subscription = partner.subscriptions.get()
    assert result == {
        "abonnement": subscription.pk,
        "types": ["contrat.signe", "rendez-vous.presence"],
        "secret": subscription.secret,
    }
    with pytest.raises(CommandError, match="Type d'événement inconnu : tout"):
        run("interop-subscribe", str(partner.pk), URL, "--events", "tout")
    with pytest.raises(CommandError, match="introuvable"):
        run("interop-subscribe", "999999", URL)
    with pytest.raises(CommandError):
        run("interop-subscribe", str(partner.pk), "pas une adresse")
    assert partner.subscriptions.count() == 1
