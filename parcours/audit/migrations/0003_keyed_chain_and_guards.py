"""Journal d'accès : empreinte à clé et gardes en base.

1. ``scheme`` : les entrées déjà écrites gardent leur empreinte SHA-256 sans clé (``1``), vérifiée selon
   l'ancien calcul ; rien n'est recalculé (ce qui effacerait la trace d'une altération passée). Les
   entrées suivantes sont en HMAC-SHA256 (``2``) ; la première reprend l'empreinte de la dernière ancienne.
   Un scellé signé par la clé (``LegacySeal``) fixe les entrées anciennes admises : nombre, dernière,
   empreinte ; sans lui (base neuve), aucune entrée sans clé n'est admise. La clé
   (``PARCOURS_AUDIT_KEY``) doit donc être en place avant cette migration.
2. PostgreSQL : un déclencheur refuse ``TRUNCATE`` (celui de 0002 ne voit que les lignes), sauf dans une
   base jetable de la suite de tests (nom préfixé ``test_``, vidée par ``TRUNCATE`` entre deux tests) tant
   que ``parcours.audit_strict`` n'est pas à ``on``.
3. SQLite : déclencheurs refusant modification et suppression (voir ``parcours.audit.guards``). Une
   migration future qui reconstruit la table sous SQLite les perd : elle doit les recréer
   (``tests/audit`` le vérifie).
"""

from django.db import migrations, models

from parcours.audit.keys import audit_key
from parcours.audit.legacy import seal_legacy_entries

PG_CREATE = r"""
CREATE OR REPLACE FUNCTION audit_accesslog_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_database() LIKE 'test\_%'
       AND coalesce(current_setting('parcours.audit_strict', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'Le journal d''accès est en ajout seul : TRUNCATE interdit.';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_accesslog_no_truncate
    BEFORE TRUNCATE ON audit_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION audit_accesslog_no_truncate();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS audit_accesslog_no_truncate ON audit_accesslog;
DROP FUNCTION IF EXISTS audit_accesslog_no_truncate();
"""
SQLITE_CREATE = [
    """
    CREATE TRIGGER audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog
    BEGIN SELECT RAISE(ABORT, 'Le journal d''accès est en ajout seul : modification interdite.'); END
    """,
    """
    CREATE TRIGGER audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog
    WHEN NOT parcours_audit_disposable()
    BEGIN SELECT RAISE(ABORT, 'Le journal d''accès est en ajout seul : suppression interdite.'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


def seal(apps, schema_editor):
    seal_legacy_entries(
        apps.get_model("audit", "AccessLog"), apps.get_model("audit", "LegacySeal"), audit_key()
    )


SCHEME_CHOICES = [
    (1, "SHA-256 sans clé (entrées antérieures à la clé)"),
    (2, "HMAC-SHA256 (clé PARCOURS_AUDIT_KEY)"),
]


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [
        # Entrées existantes : ancien calcul (1) ...
        migrations.AddField(
            model_name="accesslog",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=SCHEME_CHOICES, default=1, verbose_name="calcul de l'empreinte"
            ),
        ),
        # ... entrées nouvelles : empreinte à clé (2).
        migrations.AlterField(
            model_name="accesslog",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=SCHEME_CHOICES, default=2, verbose_name="calcul de l'empreinte"
            ),
        ),
        migrations.CreateModel(
            name="LegacySeal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sealed_at", models.DateTimeField(verbose_name="scellé le")),
                ("legacy_count", models.PositiveBigIntegerField(verbose_name="entrées sans clé")),
                ("legacy_last_id", models.BigIntegerField(verbose_name="dernière entrée sans clé")),
                (
                    "legacy_last_hash",
                    models.CharField(max_length=64, verbose_name="empreinte de la dernière entrée sans clé"),
                ),
                ("mac", models.CharField(max_length=64, verbose_name="signature")),
            ],
            options={
                "verbose_name": "scellé des entrées sans clé du journal d'accès",
                "verbose_name_plural": "scellés des entrées sans clé du journal d'accès",
            },
        ),
        migrations.RunPython(seal, migrations.RunPython.noop),
        migrations.RunPython(create, drop),
    ]
