"""La table de la cohorte et celle des premiers diagnostics gardent ce que les filtres du tableau de bord
lisent sur la personne (Département, territoire) et la date d'ouverture du droit de son foyer (délai jusqu'au
premier entretien) : le périmètre de l'agent s'y évalue sans parcourir la table des personnes
(``scope.stored_condition``).

Ces colonnes sont tenues à jour comme les étapes : un déclencheur inscrit dans ``indicators_cohortdirty`` la
personne dont le Département, le territoire ou le foyer change, et les membres du foyer dont le droit est
créé, supprimé ou change de date d'ouverture, dans la transaction de la modification. Toutes les personnes du
journal sont inscrites : la lecture suivante remplit les nouvelles colonnes.

Index de la table des personnes ``(departement_id, territory_id, id)`` : les indicateurs qui ne lisent pas la
cohorte (suivis, contrats, sorties) choisissent les personnes du périmètre dans l'index seul (parcours de
l'index au lieu de la table entière)."""

from django.db import migrations, models

POSTGRES = """
CREATE OR REPLACE FUNCTION indicators_cohort_mark_person() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION indicators_cohort_mark_right_new() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id)
    SELECT DISTINCT b.id FROM beneficiaries_beneficiary b JOIN new_rows n ON n.household_id = b.household_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION indicators_cohort_mark_right_old() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id)
    SELECT DISTINCT b.id FROM beneficiaries_beneficiary b JOIN old_rows o ON o.household_id = b.household_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION indicators_cohort_mark_right_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO indicators_cohortdirty (beneficiary_id)
    SELECT b.id FROM beneficiaries_beneficiary b WHERE b.household_id IN (OLD.household_id, NEW.household_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- Mises à jour : déclencheurs par ligne filtrés par WHEN (évalué sans appel de fonction), et non par
-- instruction sur les tables de transition : celles-ci n'ont ni index ni statistiques, et leur jointure
-- (150 000 × 150 000 lignes à chaque import mensuel) partait en boucles imbriquées.
CREATE TRIGGER indicators_cohort_person
    AFTER UPDATE OF departement_id, territory_id, household_id ON beneficiaries_beneficiary
    FOR EACH ROW WHEN (
        OLD.departement_id IS DISTINCT FROM NEW.departement_id
        OR OLD.territory_id IS DISTINCT FROM NEW.territory_id
        OR OLD.household_id IS DISTINCT FROM NEW.household_id
    ) EXECUTE FUNCTION indicators_cohort_mark_person();
CREATE TRIGGER indicators_cohort_right_insert AFTER INSERT ON beneficiaries_rsaright
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_right_new();
CREATE TRIGGER indicators_cohort_right_update AFTER UPDATE OF opened_on, household_id ON beneficiaries_rsaright
    FOR EACH ROW WHEN (
        OLD.opened_on IS DISTINCT FROM NEW.opened_on OR OLD.household_id IS DISTINCT FROM NEW.household_id
    ) EXECUTE FUNCTION indicators_cohort_mark_right_changed();
CREATE TRIGGER indicators_cohort_right_delete AFTER DELETE ON beneficiaries_rsaright
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION indicators_cohort_mark_right_old();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS indicators_cohort_person ON beneficiaries_beneficiary;
DROP TRIGGER IF EXISTS indicators_cohort_right_insert ON beneficiaries_rsaright;
DROP TRIGGER IF EXISTS indicators_cohort_right_update ON beneficiaries_rsaright;
DROP TRIGGER IF EXISTS indicators_cohort_right_delete ON beneficiaries_rsaright;
DROP FUNCTION IF EXISTS indicators_cohort_mark_person();
DROP FUNCTION IF EXISTS indicators_cohort_mark_right_new();
DROP FUNCTION IF EXISTS indicators_cohort_mark_right_old();
DROP FUNCTION IF EXISTS indicators_cohort_mark_right_changed();
"""
MEMBERS = "INSERT INTO indicators_cohortdirty (beneficiary_id) SELECT id FROM beneficiaries_beneficiary"
SQLITE = [
    """CREATE TRIGGER indicators_cohort_person
        AFTER UPDATE OF departement_id, territory_id, household_id ON beneficiaries_beneficiary
        WHEN OLD.departement_id IS NOT NEW.departement_id OR OLD.territory_id IS NOT NEW.territory_id
            OR OLD.household_id IS NOT NEW.household_id
        BEGIN INSERT INTO indicators_cohortdirty (beneficiary_id) VALUES (NEW.id); END""",
    f"""CREATE TRIGGER indicators_cohort_right_insert AFTER INSERT ON beneficiaries_rsaright BEGIN
        {MEMBERS} WHERE household_id = NEW.household_id; END""",
    f"""CREATE TRIGGER indicators_cohort_right_update AFTER UPDATE OF opened_on, household_id
        ON beneficiaries_rsaright
        WHEN OLD.opened_on IS NOT NEW.opened_on OR OLD.household_id IS NOT NEW.household_id BEGIN
        {MEMBERS} WHERE household_id IN (OLD.household_id, NEW.household_id); END""",
    f"""CREATE TRIGGER indicators_cohort_right_delete AFTER DELETE ON beneficiaries_rsaright BEGIN
        {MEMBERS} WHERE household_id = OLD.household_id; END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS indicators_cohort_person",
    "DROP TRIGGER IF EXISTS indicators_cohort_right_insert",
    "DROP TRIGGER IF EXISTS indicators_cohort_right_update",
    "DROP TRIGGER IF EXISTS indicators_cohort_right_delete",
]
EVERYONE = "INSERT INTO indicators_cohortdirty (beneficiary_id) SELECT DISTINCT beneficiary_id FROM journal_event"


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
    dependencies = [("indicators", "0002_cohort_triggers")]

    operations = [
        migrations.AddField(
            model_name="cohortentry",
            name="departement_id",
            field=models.BigIntegerField(null=True, verbose_name="Département de la personne"),
        ),
        migrations.AddField(
            model_name="cohortentry",
            name="territory_id",
            field=models.BigIntegerField(null=True, verbose_name="territoire de la personne"),
        ),
        migrations.AddField(
            model_name="cohortentry",
            name="right_opened_on",
            field=models.DateField(null=True, verbose_name="ouverture du droit du foyer"),
        ),
        migrations.AddField(
            model_name="firstdiagnosis",
            name="departement_id",
            field=models.BigIntegerField(null=True, verbose_name="Département de la personne"),
        ),
        migrations.AddField(
            model_name="firstdiagnosis",
            name="territory_id",
            field=models.BigIntegerField(null=True, verbose_name="territoire de la personne"),
        ),
        migrations.RunPython(create, drop),
    ]
