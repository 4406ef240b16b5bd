"""France Travail transmet la date de signature d'un PPAE (annexe 5 de la convention 002, § 2.1) : contrat
signé dans Parcours par le service des contrats, journal, indicateurs, webhook ; idempotence."""

import datetime

from django.utils import timezone

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Contract, ContractKind, ContractStatus
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from parcours.interop import webhooks
from parcours.interop.models import Delivery, IdempotencyRecord
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory

from .conftest import follow

TODAY = timezone.localdate()
SIGNED = TODAY - datetime.timedelta(days=3)


def ppae(person, **over):
    body = {
        "personne": person.pk,
        "type": "ppae",
        "signe_le": SIGNED.isoformat(),
        "fin_prevue": (SIGNED + datetime.timedelta(days=180)).isoformat(),
        "reference": "PPAE-2026-000123",
    }
    body.update(over)
    return body


def test_france_travail_posts_a_signed_ppae(
    departement, france_travail, person, manager, make_partner, api_client
):
    follow(person, france_travail)
    partner, token = make_partner(france_travail)
    dep_partner, dep_token = make_partner(departement, name="Logiciel social du Département")
    subscription = webhooks.subscribe(dep_partner, "https://partenaire.example/hook", ["contrat.signe"])
    previous = accompaniment.create_contract(person, author=manager, kind=ContractKind.CER)
    accompaniment.sign_contract(previous, actor=manager, on=SIGNED - datetime.timedelta(days=300))

    response = api_client(token).post("contrats", ppae(person), key="ft-ppae-1")

    assert response.status_code == 201, response.content
    body = response.json()
    contract = Contract.objects.get(pk=body["id"])
    assert (contract.kind, contract.status, contract.signed_on) == ("ppae", ContractStatus.SIGNED, SIGNED)
    assert contract.organisation == france_travail and contract.external_reference == "PPAE-2026-000123"
    assert body["statut"] == "signed" and body["signe_le"] == SIGNED.isoformat()
    assert body["debut"] == SIGNED.isoformat() and body["organisation"] == france_travail.pk
    # Même service que l'écran : journal signé par le compte technique, contrat précédent remplacé.
    event = Event.objects.get(beneficiary=person, kind="contract_signed", payload__contract_id=contract.pk)
    assert event.actor == partner.service_user and event.organisation == france_travail
    previous.refresh_from_db()
    assert previous.status == ContractStatus.ENDED and f"n°{contract.pk}" in previous.end_reason
    # Les autres partenaires le reçoivent (webhook) et le lisent par l'API.
    delivery = Delivery.objects.get(subscription=subscription, payload__donnees__contrat=contract.pk)
    assert delivery.event_type == "contrat.signe"
    assert api_client(dep_token).get(f"contrats/{contract.pk}").json() == body
    # Les indicateurs du Département le comptent.
    values = compute_indicators(beneficiary_scope(departement=departement), SIGNED, TODAY)
    assert values["contrats_signes"]["ppae"] == 1


def test_replayed_key_does_nothing_and_same_reference_is_refused(
    france_travail, person, make_partner, api_client
):
    follow(person, france_travail)
    _, token = make_partner(france_travail)
    client = api_client(token)
    first = client.post("contrats", ppae(person), key="cle-1")
    again = client.post("contrats", ppae(person), key="cle-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Contract.objects.filter(beneficiary=person).count() == 1
    # Même contrat renvoyé avec une autre clé : refusé, rien n'est créé.
    duplicate = client.post("contrats", ppae(person), key="cle-2")
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "code": "deja_enregistre",
        "message": f"Le contrat de référence « PPAE-2026-000123 » est déjà enregistré "
        f"(contrat n° {first.json()['id']}).",
    }
    conflict = client.post("contrats", ppae(person, reference="AUTRE"), key="cle-1")
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflit"
    assert Contract.objects.filter(beneficiary=person).count() == 1


def test_refusals_are_french_and_leave_nothing(departement, france_travail, person, make_partner, api_client):
    follow(person, france_travail)
    stranger = BeneficiaryFactory(departement=departement)
    _, token = make_partner(france_travail)
    client = api_client(token)
    future = client.post(
        "contrats", ppae(person, signe_le=(TODAY + datetime.timedelta(days=2)).isoformat()), key="a"
    )
    assert future.status_code == 422
    assert future.json() == {"code": "contrat_refuse", "message": "Date : elle ne peut pas être future."}
    backwards = client.post("contrats", ppae(person, debut="2026-06-01", fin_prevue="2026-05-01"), key="b")
    assert backwards.status_code == 422
    assert backwards.json()["message"] == "Fin prévue : elle doit suivre la date de début."
    outside = client.post("contrats", ppae(stranger), key="c")
    assert outside.status_code == 404
    assert outside.json()["message"] == "Personne introuvable dans votre périmètre."
    engagement = client.post("contrats", ppae(person, type="contrat_engagement"), key="d")
    assert engagement.status_code == 422 and engagement.json()["code"] == "parametres_invalides"
    missing_key = client.post("contrats", ppae(person))
    assert missing_key.status_code == 422
    assert not Contract.objects.exists()
    # Les refus métier sont mémorisés (même clé, même réponse) ; l'absence de clé ne l'est pas.
    assert IdempotencyRecord.objects.filter(key__in=["a", "b", "c"]).count() == 3


def test_writing_requires_the_contract_write_scope(france_travail, person, make_partner, api_client):
    follow(person, france_travail)
    _, token = make_partner(france_travail, scopes=["contrats:lecture"])
    response = api_client(token).post("contrats", ppae(person), key="k")
    assert response.status_code == 403
    assert response.json()["message"] == "Ce système partenaire n'a pas la portée « contrats:ecriture »."
    assert not Contract.objects.exists()
