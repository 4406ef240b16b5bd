"""Intégrité du journal d'accès face à qui a les droits sur la base : chaîne à clé, gardes, têtes exportées."""

import hashlib
import hmac
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from parcours.accounts.models import Role
from parcours.audit import heads
from parcours.audit.keys import audit_key
from parcours.audit.legacy import seal_legacy_entries
from parcours.audit.models import AccessLog, HashScheme, LegacySeal
from parcours.audit.services import GENESIS
from parcours.jobs.handlers import JobError, audit_head
from tests.audit.helpers import disable_guards
from tests.factories import BeneficiaryFactory, MembershipFactory

pytestmark = pytest.mark.django_db
TABLE = AccessLog._meta.db_table


@pytest.fixture
def read(client):
    """``read(n)`` : n lectures de dossiers par un chargé d'orientation ; renvoie les personnes lues."""
    state = {}

    def do(n):
        if "agent" not in state:
            first = BeneficiaryFactory()
            state["departement"] = first.departement
            state["agent"] = MembershipFactory(
                organisation=first.departement, role=Role.ORIENTATION_MANAGER
            ).user
            people = [first] + [BeneficiaryFactory(departement=first.departement) for _ in range(n - 1)]
        else:
            people = [BeneficiaryFactory(departement=state["departement"]) for _ in range(n)]
        client.force_login(state["agent"])
        for person in people:
            assert client.get(f"/beneficiaires/{person.pk}/").status_code == 200
        return people

    return do


def verify(*args):
    """``audit-verify`` : (sortie, erreurs) ; lève CommandError si le journal est altéré."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit-verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def head_lines():
    path = heads.head_path()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def raw_delete(where, params=()):
    disable_guards()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE {where}", params)  # noqa: S608


def rewrite(rows):
    """Réécrit en base les champs de chaque entrée (après désactivation des déclencheurs)."""
    disable_guards()
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                f"UPDATE {TABLE} SET beneficiary_id = %s, scheme = %s, previous_hash = %s, hash = %s "  # noqa: S608
                "WHERE id = %s",
                [row.beneficiary_id, row.scheme, row.previous_hash, row.hash, row.pk],
            )


def plain_sha256(row):
    """Le calcul d'avant la clé : SHA-256 du contenu et de l'empreinte précédente, sans secret."""
    payload = json.dumps([row.previous_hash, *row.content()], ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def keyed_with(key):
    def compute(row):
        payload = json.dumps([row.scheme, row.previous_hash, *row.content()], ensure_ascii=False, default=str)
        return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()

    return compute


def forge(change, compute, scheme=None):
    """L'attaquant modifie la 2e entrée puis recalcule toute la chaîne avec ``compute``."""
    rows = list(AccessLog.objects.order_by("pk"))
    change(rows[1])
    previous = GENESIS
    for row in rows:
        if scheme is not None:
            row.scheme = scheme
        row.previous_hash = previous
        row.hash = previous = compute(row)
    rewrite(rows)


# --- intact ----------------------------------------------------------------------------------------------------


def test_an_intact_log_verifies_and_exports_a_signed_head(read):
    read(3)
    out, _ = verify()
    assert "Journal d'accès intègre : 3 entrées vérifiées, 0 tête comparée," in out
    assert "Tête du journal d'accès" in out
    [head] = head_lines()
    last = AccessLog.objects.order_by("-pk").first()
    assert (head["entrees"], head["dernier_id"], head["derniere_empreinte"]) == (3, last.pk, last.hash)
    assert heads.signature_ok(head, audit_key())
    assert all(e.scheme == HashScheme.HMAC_SHA256 for e in AccessLog.objects.all())

    read(2)
    out, _ = verify()
    assert "intègre : 5 entrées vérifiées, 1 tête comparée," in out
    assert [h["entrees"] for h in head_lines()] == [3, 5]

    read(1)
    out, _ = verify()
    assert "intègre : 6 entrées vérifiées, 2 têtes comparées," in out


def test_the_nightly_job_verifies_and_exports_the_head(read):
    read(2)
    assert audit_head()["entrees"] == 2
    assert head_lines()[-1]["entrees"] == 2
    raw_delete("id = (SELECT MAX(id) FROM audit_accesslog)")
    with pytest.raises(JobError, match="Entrées supprimées en fin de journal"):
        audit_head()


# --- gardes en base -----------------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE n'existe que sous PostgreSQL")
def test_postgresql_refuses_truncate(read, strict_guards):
    read(2)
    with (
        pytest.raises(DatabaseError, match="TRUNCATE interdit"),
        transaction.atomic(),
        connection.cursor() as c,
    ):
        c.execute(f"TRUNCATE {TABLE}")
    assert AccessLog.objects.count() == 2


def test_the_database_refuses_raw_update_and_delete(read, strict_guards):
    read(2)
    for statement in (f"UPDATE {TABLE} SET reason = 'effacé'", f"DELETE FROM {TABLE}"):  # noqa: S608
        with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic(), connection.cursor() as c:
            c.execute(statement)
    assert AccessLog.objects.count() == 2


# --- suppressions que la chaîne seule ne voit pas : têtes ------------------------------------------------------


def test_an_emptied_log_is_detected(read):
    read(3)
    verify()
    disable_guards()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}" if connection.vendor == "postgresql" else f"DELETE FROM {TABLE}")  # noqa: S608
    with pytest.raises(CommandError, match="Journal vidé : la tête exportée le .* comptait 3 entrées"):
        verify()


def test_deleting_the_last_entries_is_detected(read):
    read(3)
    verify()
    read(2)
    verify()
    ids = list(AccessLog.objects.order_by("pk").values_list("pk", flat=True))
    raw_delete("id >= %s", [ids[3]])  # les deux dernières : la chaîne restante est intacte
    with pytest.raises(CommandError, match="Entrées supprimées en fin de journal") as failure:
        verify()
    assert f"allait jusqu'à l'entrée n° {ids[4]} (5 entrées)" in str(failure.value)
    assert len(head_lines()) == 2  # journal altéré : aucune nouvelle tête


def test_a_head_kept_elsewhere_detects_the_deletion_even_without_the_local_file(read, tmp_path):
    read(3)
    out, _ = verify()
    shipped = tmp_path / "journaux-expedies.log"  # ce qu'a reçu l'expéditeur de journaux
    shipped.write_text(out.splitlines()[-1] + "\n", encoding="utf-8")
    heads.head_path().unlink()  # l'attaquant efface aussi le fichier local
    raw_delete("id = (SELECT MAX(id) FROM audit_accesslog)")
    verify("--sans-export")  # sans tête, rien à comparer
    with pytest.raises(CommandError, match="Entrées supprimées en fin de journal"):
        verify("--head", str(shipped))


def test_a_forged_head_is_detected(read):
    read(2)
    verify()
    path = heads.head_path()
    head = head_lines()[0]
    head["entrees"] = 1  # tête réécrite pour couvrir une suppression
    path.write_text(json.dumps(head) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="signature invalide"):
        verify()


# --- réécriture de la chaîne ----------------------------------------------------------------------------------


def _change_person(row):
    row.beneficiary_id = 999_999


def test_an_edited_entry_with_a_chain_recomputed_in_plain_sha256_is_detected(read):
    read(3)
    forge(_change_person, plain_sha256)
    with pytest.raises(CommandError, match="empreinte à clé invalide"):
        verify()


def test_a_log_rewritten_entirely_as_keyless_entries_is_detected(read):
    """L'attaquant prétend que tout le journal date d'avant la clé (``scheme`` 1) : aucun scellé ne
    couvre ces entrées, même sans tête exportée."""
    read(3)
    forge(_change_person, lambda row: row.compute_hash(), scheme=HashScheme.LEGACY_SHA256)
    assert set(AccessLog.objects.values_list("scheme", flat=True)) == {HashScheme.LEGACY_SHA256}
    with pytest.raises(CommandError, match="non couvertes par le scellé"):
        verify()


def test_an_edited_entry_with_a_chain_recomputed_under_another_key_is_detected(read):
    read(3)
    forge(_change_person, keyed_with(b"k" * 32))
    with pytest.raises(CommandError, match="la clé PARCOURS_AUDIT_KEY est-elle"):
        verify()


def test_the_configured_key_is_used(read, settings):
    settings.PARCOURS_AUDIT_KEY = "ab" * 32
    read(2)
    entry = AccessLog.objects.order_by("pk").first()
    assert entry.hash == keyed_with(bytes.fromhex("ab" * 32))(entry)
    verify()
    settings.PARCOURS_AUDIT_KEY = "cd" * 32  # mauvaise clé à la vérification
    with pytest.raises(CommandError, match="autre clé"):
        verify()


# --- passage à la clé : entrées anciennes -----------------------------------------------------------------------


def _legacy_entries(n):
    """Des entrées écrites avant la clé (SHA-256 sans clé), comme les avait laissées l'ancienne version."""
    previous = GENESIS
    rows = []
    for i in range(n):
        row = AccessLog(
            at=timezone.now(),
            user_label="ancien@departement35.fr",
            beneficiary_id=1000 + i,
            action="read",
            scheme=HashScheme.LEGACY_SHA256,
            previous_hash=previous,
        )
        row.hash = previous = row.compute_hash()
        rows.append(row)
    AccessLog.objects.bulk_create(rows)
    return rows


def test_entries_written_before_the_key_are_sealed_and_still_verify(read):
    old = _legacy_entries(2)
    seal = seal_legacy_entries(AccessLog, LegacySeal, audit_key())  # ce que fait la migration 0003
    assert (seal.legacy_count, seal.legacy_last_hash) == (2, old[-1].hash)
    read(2)
    first_keyed = AccessLog.objects.filter(scheme=HashScheme.HMAC_SHA256).order_by("pk").first()
    assert first_keyed.previous_hash == old[-1].hash  # la première entrée à clé scelle les anciennes
    out, _ = verify()
    assert "4 entrées vérifiées dont 2 sans clé" in out
    assert head_lines()[-1]["dernier_id_sans_cle"] == old[-1].pk

    # Réécrire une entrée ancienne (en recalculant les anciennes empreintes) casse le lien avec la première
    # entrée à clé ; supprimer le scellé rend les entrées anciennes inadmissibles.
    rows = list(AccessLog.objects.order_by("pk"))[:2]
    rows[0].beneficiary_id = 999_999
    previous = GENESIS
    for row in rows:
        row.previous_hash = previous
        row.hash = previous = row.compute_hash()
    rewrite(rows)
    with pytest.raises(CommandError, match=f"Entrée n° {first_keyed.pk} : ne suit pas"):
        verify()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_legacyseal")
    with pytest.raises(CommandError, match="non couvertes par le scellé"):
        verify()
