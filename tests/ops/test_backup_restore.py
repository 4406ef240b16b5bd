"""Sauvegarde et restauration PostgreSQL : ``pg_dump -Fc`` puis ``pg_restore`` dans une base neuve.

La base restaurée, avec les mêmes clés (``PARCOURS_SECRET_KEY``, ``PARCOURS_NIR_KEY``,
``PARCOURS_AUDIT_KEY``), doit avoir un journal d'accès intègre et des NIR lisibles ; avec une autre clé des
NIR, ils ne se déchiffrent pas (les clés ne sont pas dans la sauvegarde : elles se conservent à part).
Même procédure que docs/exploitation.md. Ne tourne que sur PostgreSQL avec pg_dump et pg_restore.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from tests.factories import BeneficiaryFactory, MembershipFactory, make_nir

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="sauvegarde pg_dump : PostgreSQL seulement"),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump et pg_restore introuvables dans le PATH",
    ),
    pytest.mark.django_db(transaction=True),  # pg_dump ne voit pas les données d'une transaction en cours
]

READ_PERSON = textwrap.dedent(
    """
    import django
    django.setup()
    from django.db import connection
    from django.test import Client
    from parcours.accounts.models import User
    from parcours.beneficiaries.models import Beneficiary

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_accesslog'::regclass AND NOT tgisinternal"
        )
        print("declencheurs", sorted(row[0] for row in cursor.fetchall()))
    person_id, agent_id = {person_id}, {agent_id}
    client = Client()
    client.force_login(User.objects.get(pk=agent_id))
    print("fiche", client.get(f"/beneficiaires/{{person_id}}/").status_code)
    print("nir", Beneficiary.objects.get(pk=person_id).nir)
    """
)


def _libpq(params):
    """Options de connexion des outils PostgreSQL (hôte, port, utilisateur, mot de passe) pour ``params``."""
    args = []
    for option, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if params.get(key):
            args += [option, str(params[key])]
    env = dict(os.environ)
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    return args, env


def _url(params, name):
    auth = params.get("USER") or ""
    if params.get("PASSWORD"):
        auth += f":{params['PASSWORD']}"
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{name}" if auth else f"postgres://{host}{port}/{name}"


def _run(args, env, **kwargs):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False, **kwargs)  # noqa: S603


def test_a_restored_backup_is_readable_with_its_keys_and_only_with_them(client, settings, tmp_path):
    settings.PARCOURS_NIR_KEY = secrets.token_hex(64)
    settings.PARCOURS_AUDIT_KEY = secrets.token_hex(32)
    nir = make_nir(42)
    person = BeneficiaryFactory(nir=nir, last_name="Le Goff")
    agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    for _ in range(3):
        assert client.get(f"/beneficiaires/{person.pk}/").status_code == 200
    assert AccessLog.objects.count() == 3

    params = connection.settings_dict
    tool_args, env = _libpq(params)
    # pg_dump refuse un serveur plus récent que lui : « pg_dump (PostgreSQL) 15.20 (Debian …) ».
    version = re.search(r"\)\s+(\d+)", _run(["pg_dump", "--version"], env).stdout)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    if version is None or int(version.group(1)) < server_major:
        pytest.skip(
            f"pg_dump ({version and version.group(1)}) plus ancien que le serveur PostgreSQL {server_major}"
        )

    dump = tmp_path / "parcours.dump"
    done = _run(["pg_dump", "-Fc", *tool_args, "-d", params["NAME"], "-f", str(dump)], env)
    assert done.returncode == 0, done.stderr
    restored = f"{params['NAME']}_restore_{secrets.token_hex(4)}"[:63]
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        done = _run(
            ["pg_restore", "--no-owner", "--exit-on-error", *tool_args, "-d", restored, str(dump)], env
        )
        assert done.returncode == 0, done.stderr

        parcours = Path(sys.executable).with_name("parcours")
        same_keys = {
            **env,
            "DATABASE_URL": _url(params, restored),
            "DJANGO_SETTINGS_MODULE": "parcours.settings.test",
            "PARCOURS_SECRET_KEY": settings.SECRET_KEY,
            "PARCOURS_NIR_KEY": settings.PARCOURS_NIR_KEY,
            "PARCOURS_AUDIT_KEY": settings.PARCOURS_AUDIT_KEY,
            "PARCOURS_AUDIT_HEAD_DIR": str(tmp_path / "audit-heads"),
            "PARCOURS_ALLOWED_HOSTS": "testserver",
            "PARCOURS_DB_POOL": "0",
        }
        verified = _run([str(parcours), "audit-verify"], same_keys)
        assert verified.returncode == 0, verified.stderr
        assert "Journal d'accès intègre : 3 entrées vérifiées" in verified.stdout

        script = READ_PERSON.format(person_id=person.pk, agent_id=agent.pk)
        read = _run([sys.executable, "-c", script], same_keys)
        assert read.returncode == 0, read.stderr
        assert "fiche 200" in read.stdout and f"nir {nir}" in read.stdout
        assert "audit_accesslog_no_truncate" in read.stdout  # les gardes du journal sont restaurées

        # La lecture de la fiche dans la base restaurée s'est ajoutée à la chaîne.
        verified = _run([str(parcours), "audit-verify"], same_keys)
        assert "Journal d'accès intègre : 4 entrées vérifiées, 1 tête comparée," in verified.stdout

        wrong_nir_key = {**same_keys, "PARCOURS_NIR_KEY": secrets.token_hex(64)}
        read = _run([sys.executable, "-c", script], wrong_nir_key)
        assert read.returncode != 0 and "InvalidTag" in read.stderr
        assert f"nir {nir}" not in read.stdout

        wrong_audit_key = {**same_keys, "PARCOURS_AUDIT_KEY": secrets.token_hex(32)}
        verified = _run([str(parcours), "audit-verify", "--sans-export"], wrong_audit_key)
        assert verified.returncode != 0 and "la clé PARCOURS_AUDIT_KEY est-elle" in verified.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
