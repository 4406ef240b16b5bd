"""Une référence de contrat n'est enregistrée qu'une fois par personne et par organisation (docs/interop.md :
409 ``deja_enregistre``), même quand huit écritures arrivent en même temps avec des clés d'idempotence
différentes (contrainte ``unique_contract_reference``)."""

import datetime
import json
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Contract, ContractKind

from .conftest import follow

SIGNED = timezone.localdate() - datetime.timedelta(days=3)
PARALLEL = 8


def _body(person, reference="PPAE-2026-000777"):
    return {
        "personne": person.pk,
        "type": "ppae",
        "signe_le": SIGNED.isoformat(),
        "fin_prevue": (SIGNED + datetime.timedelta(days=180)).isoformat(),
        "reference": reference,
    }


def _post(token, body, key):
    return Client().post(
        "/api/v1/interop/contrats",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_same_reference_with_a_new_key_is_refused_with_409(france_travail, person, make_partner):
    follow(person, france_travail)
    _, token = make_partner(france_travail)
    assert _post(token, _body(person), "cle-a").status_code == 201
    duplicate = _post(token, _body(person), "cle-b")
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "deja_enregistre"
    assert Contract.objects.filter(beneficiary=person, external_reference="PPAE-2026-000777").count() == 1
    # Une autre référence pour la même personne reste acceptée.
    assert _post(token, _body(person, reference="PPAE-2026-000778"), "cle-c").status_code == 201


def test_the_database_refuses_a_second_contract_with_the_same_reference(france_travail, person, manager):
    fields = {"kind": ContractKind.PPAE, "organisation": france_travail, "external_reference": "REF-1"}
    accompaniment.create_contract(person, author=manager, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        accompaniment.create_contract(person, author=manager, **fields)
    # Sans référence : aucune contrainte (contrats rédigés dans Parcours).
    accompaniment.create_contract(person, author=manager, kind=ContractKind.CER, organisation=france_travail)
    accompaniment.create_contract(person, author=manager, kind=ContractKind.CER, organisation=france_travail)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="écritures simultanées : PostgreSQL seulement")
@pytest.mark.django_db(transaction=True)
def test_eight_parallel_writes_of_the_same_reference_create_one_contract(
    france_travail, person, make_partner
):
    follow(person, france_travail)
    _, token = make_partner(france_travail)
    body = _body(person)
    barrier = threading.Barrier(PARALLEL)
    statuses, errors = [], []

    def write(n):
        try:
            barrier.wait(timeout=30)
            response = _post(token, body, f"cle-parallele-{n}")
            statuses.append((response.status_code, response.json().get("code")))
        except Exception as error:  # noqa: BLE001 — remonté par l'assertion ci-dessous
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(status for status, _ in statuses) == [201] + [409] * (PARALLEL - 1)
    assert {code for status, code in statuses if status == 409} == {"deja_enregistre"}
    assert Contract.objects.filter(beneficiary=person, external_reference=body["reference"]).count() == 1
