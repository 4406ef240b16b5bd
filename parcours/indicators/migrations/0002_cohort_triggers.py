"""Chaque événement écrit, modifié ou supprimé dans le journal inscrit sa personne dans
``indicators_cohortdirty``, dans la même transaction : la table de la cohorte (``cohort.refresh``) sait
quelles lignes recalculer, sans écart possible entre deux transactions concurrentes. Sur PostgreSQL, un
déclencheur par instruction (une ligne par personne distincte, même pour un import de 150 000 lignes).

Les personnes déjà dans le journal sont inscrites : la première lecture construit la table."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION indicators_cohort_mark_new() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id) SELECT DISTINCT beneficiary_id FROM new_rows;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION indicators_cohort_mark_old() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id) SELECT DISTINCT beneficiary_id FROM old_rows;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER indicators_cohort_insert AFTER INSERT ON journal_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_new();
CREATE TRIGGER indicators_cohort_update_new AFTER UPDATE ON journal_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_new();
CREATE TRIGGER indicators_cohort_update_old AFTER UPDATE ON journal_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_old();
CREATE TRIGGER indicators_cohort_delete AFTER DELETE ON journal_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_old();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS indicators_cohort_insert ON journal_event;
DROP TRIGGER IF EXISTS indicators_cohort_update_new ON journal_event;
DROP TRIGGER IF EXISTS indicators_cohort_update_old ON journal_event;
DROP TRIGGER IF EXISTS indicators_cohort_delete ON journal_event;
DROP FUNCTION IF EXISTS indicators_cohort_mark_new();
DROP FUNCTION IF EXISTS indicators_cohort_mark_old();
"""
SQLITE = [
    """CREATE TRIGGER indicators_cohort_insert AFTER INSERT ON journal_event BEGIN
        INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (NEW.beneficiary_id); END""",
    """CREATE TRIGGER indicators_cohort_update AFTER UPDATE ON journal_event BEGIN
        INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (OLD.beneficiary_id);
        INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (NEW.beneficiary_id); END""",
    """CREATE TRIGGER indicators_cohort_delete AFTER DELETE ON journal_event BEGIN
        INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (OLD.beneficiary_id); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS indicators_cohort_insert",
    "DROP TRIGGER IF EXISTS indicators_cohort_update",
    "DROP TRIGGER IF EXISTS indicators_cohort_delete",
]


EVERYONE = """
INSERT INTO indicators_cohortdirty (beneficiary_id) SELECT DISTINCT beneficiary_id FROM journal_event
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)
    schema_editor.execute(EVERYONE, params=None)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("indicators", "0001_cohort_table"), ("journal", "0005_payload_keys_in_english")]

    operations = [migrations.RunPython(create, drop)]
