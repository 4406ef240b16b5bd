"""Sortie enregistrée : l'événement signé ``sortie.enregistree`` part vers les partenaires concernés, qui lisent
ensuite la sortie par l'API."""

import datetime
from decimal import Decimal

from django.utils import timezone

from parcours.accompaniment import exits
from parcours.interop import webhooks
from parcours.interop.models import Delivery
from tests.factories import BeneficiaryFactory

from .conftest import follow

URL = "https://partenaire.example/webhooks"


def test_exit_is_pushed_to_the_following_partner_then_read_by_the_api(
    departement, france_travail, person, manager, make_partner, api_client, receiver
):
    follow(person, france_travail)
    partner, token = make_partner(france_travail)
    subscription = webhooks.subscribe(partner, URL, ["sortie.enregistree"])
    receiver.secret = subscription.secret
    stranger = BeneficiaryFactory(departement=departement)
    exits.record_exit(stranger, author=manager, reason="demenagement", exited_on=timezone.localdate())
    started = timezone.localdate() - datetime.timedelta(days=10)
    exit_ = exits.record_exit(
        person,
        author=manager,
        reason="emploi",
        exited_on=started,
        employer="Boulangerie Le Fournil",
        job_title="Vendeuse",
        contract_type="cdd",
        contract_months=8,
        weekly_hours=Decimal("28"),
        job_started_on=started,
    )

    delivery = Delivery.objects.get()  # la sortie de la personne qu'il ne suit pas ne lui est pas envoyée
    assert delivery.event_type == "sortie.enregistree" and delivery.payload["personne"] == person.pk
    # « contrat » d'une sortie est le type de contrat de travail : publié sous un nom sans ambiguïté.
    assert delivery.payload["donnees"] == {"sortie": exit_.pk, "motif": "emploi", "contrat_travail": "cdd"}
    assert webhooks.deliver_due() == {"livrees": 1, "en_echec": 0}
    (event,) = receiver.events.values()
    detail = api_client(token).get(f"sorties/{event['donnees']['sortie']}").json()
    assert detail["emploi"]["employeur"] == "Boulangerie Le Fournil" and detail["personne"] == person.pk
