"""La migration qui rend la référence d'un contrat unique ne supprime rien : le premier contrat d'un groupe en
double garde sa référence, les suivants la gardent suffixée (``#doublon-<id>``)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accompaniment", "0005_contract_imported_from")]
AFTER = [("accompaniment", "0006_contract_unique_reference")]


# serialized_rollback : à la fin, la base est vidée sans recréer les types de contenu (post_migrate), comme
# l'attend le test suivant qui restaure le contenu sérialisé (parcours dans le navigateur).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_duplicates_are_kept_and_suffixed():
    try:
        _check_duplicates_are_kept_and_suffixed()
    finally:
        # Le schéma revient à jour (toutes les migrations, celles d'après 0006 comprises) : les tests suivants
        # de la même session en ont besoin.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _check_duplicates_are_kept_and_suffixed():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    # État des modèles : toutes les autres applications à jour, l'accompagnement avant la contrainte.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "accompaniment"]
    apps = executor.loader.project_state(others + BEFORE).apps
    Organisation = apps.get_model("accounts", "Organisation")
    Beneficiary = apps.get_model("beneficiaries", "Beneficiary")
    Contract = apps.get_model("accompaniment", "Contract")
    departement = Organisation.objects.create(kind="departement", name="Département", departement_code="35")
    partner = Organisation.objects.create(
        kind="france_travail", name="France Travail", departement=departement
    )
    person = Beneficiary.objects.create(departement=departement, last_name="Diallo", first_name="Awa")
    same = {"beneficiary": person, "organisation": partner, "kind": "ppae"}
    first, second, third = (Contract.objects.create(external_reference="PPAE-1", **same) for _ in range(3))
    other = Contract.objects.create(external_reference="PPAE-2", **same)
    blank = [Contract.objects.create(external_reference="", **same) for _ in range(2)]

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    apps = executor.loader.project_state(others + AFTER).apps
    references = dict(
        apps.get_model("accompaniment", "Contract").objects.values_list("pk", "external_reference")
    )
    assert references[first.pk] == "PPAE-1"
    assert references[second.pk] == f"PPAE-1#doublon-{second.pk}"
    assert references[third.pk] == f"PPAE-1#doublon-{third.pk}"
    assert references[other.pk] == "PPAE-2"
    assert [references[c.pk] for c in blank] == ["", ""]
