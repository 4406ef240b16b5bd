"""Ce que coûte l'écriture des personnes à l'import mensuel (150 000 lignes) : index redondants retirés et place
libre pour des mises à jour « HOT ».

Index retirés (chaque index se paie à chaque création de personne et à chaque mise à jour qui n'est pas HOT) :

- index d'une seule colonne des clés étrangères couvertes par un index composé qui commence par elles :
  Département de la personne (``benef_dep_name_idx``, ``benef_dep_state_idx``, ``unique_nir_per_departement``…),
  territoire (``benef_territory_idx``), foyer (``benef_household_role_idx``), Département du foyer
  (``unique_household``), personne d'une situation mensuelle (``unique_snapshot_per_date``) ;
- index ``_like`` (``varchar_pattern_ops``) que PostgreSQL reçoit pour ``db_index=True`` sur un texte : ils ne
  servent qu'à ``LIKE 'x%'`` sur leur colonne, qu'aucune requête ne fait sur l'identifiant France Travail,
  l'identifiant du Département, le courriel ou le téléphone (recherche et rapprochement : égalité). L'index
  ordinaire de chacune de ces colonnes reste (``Meta.indexes``).

Place libre (``fillfactor`` 50, au lieu de 75) dans les pages des personnes et des droits : chaque flux mensuel
réécrit la date du dernier flux de toutes les personnes (et la date de référence de tous les droits), dans une
seule transaction ; les anciennes versions des lignes restent dans leur page jusqu'à la fin de la transaction.
Une mise à jour est « HOT » (aucun index touché) seulement si la nouvelle version tient dans la même page : à 75 %,
un tiers des personnes y tenaient, les deux autres tiers réécrivaient leurs 23 index ; à 50 %, chaque ligne
d'une page peut y écrire sa nouvelle version. Le réglage vaut pour les pages écrites ensuite : sur une base
existante, ``VACUUM FULL beneficiaries_beneficiary, beneficiaries_rsaright`` (table verrouillée le temps de la
réécriture) l'applique à toutes les pages.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("beneficiaries_beneficiary", "beneficiaries_rsaright")
# Index retirés : (nom, table, colonne, index « _like » PostgreSQL aussi). Retirés par leur nom, sans
# ``AlterField`` en base : sur SQLite, ``AlterField`` recrée la table, et perdrait ses déclencheurs (cohorte des
# indicateurs).
DROPPED = (
    (
        "beneficiaries_beneficiary_departement_id_ef65326b",
        "beneficiaries_beneficiary",
        "departement_id",
        False,
    ),
    ("beneficiaries_beneficiary_household_id_a5082fa0", "beneficiaries_beneficiary", "household_id", False),
    ("beneficiaries_beneficiary_territory_id_f02f6555", "beneficiaries_beneficiary", "territory_id", False),
    (
        "beneficiaries_beneficiary_france_travail_id_8ce50c9f",
        "beneficiaries_beneficiary",
        "france_travail_id",
        True,
    ),
    (
        "beneficiaries_beneficiary_departement_internal_id_f3933cb6",
        "beneficiaries_beneficiary",
        "departement_internal_id",
        True,
    ),
    ("beneficiaries_beneficiary_email_5a871964", "beneficiaries_beneficiary", "email", True),
    ("beneficiaries_beneficiary_phone_168b79b5", "beneficiaries_beneficiary", "phone", True),
    ("beneficiaries_household_departement_id_c253d57b", "beneficiaries_household", "departement_id", False),
    (
        "beneficiaries_rightsnapshot_beneficiary_id_53677032",
        "beneficiaries_rightsnapshot",
        "beneficiary_id",
        False,
    ),
)


def drop_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, _table, _column, like in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)
        if like and postgres:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}_like", params=None)


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, column, like in DROPPED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})", params=None)
        if like and postgres:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_like ON {table} ({column} varchar_pattern_ops)",
                params=None,
            )


def set_fillfactor(apps, schema_editor, value=50):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})", params=None)


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=75)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organisation_code"),
        ("beneficiaries", "0011_scope_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="beneficiary",
                    name="departement",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="beneficiaries",
                        to="accounts.organisation",
                        verbose_name="Département",
                    ),
                ),
                migrations.AlterField(
                    model_name="beneficiary",
                    name="household",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="members",
                        to="beneficiaries.household",
                        verbose_name="foyer",
                    ),
                ),
                migrations.AlterField(
                    model_name="beneficiary",
                    name="territory",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="beneficiaries",
                        to="accounts.territory",
                        verbose_name="territoire",
                    ),
                ),
                migrations.AlterField(
                    model_name="household",
                    name="departement",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="households",
                        to="accounts.organisation",
                        verbose_name="Département",
                    ),
                ),
                migrations.AlterField(
                    model_name="rightsnapshot",
                    name="beneficiary",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="snapshots",
                        to="beneficiaries.beneficiary",
                    ),
                ),
                # Les quatre colonnes cherchées par égalité : l'index ordinaire, sans son jumeau « _like ».
                migrations.AlterField(
                    model_name="beneficiary",
                    name="france_travail_id",
                    field=models.CharField(
                        blank=True, max_length=30, verbose_name="identifiant France Travail"
                    ),
                ),
                migrations.AlterField(
                    model_name="beneficiary",
                    name="departement_internal_id",
                    field=models.CharField(
                        blank=True, max_length=50, verbose_name="identifiant interne du Département"
                    ),
                ),
                migrations.AlterField(
                    model_name="beneficiary",
                    name="email",
                    field=models.EmailField(blank=True, max_length=254, verbose_name="adresse électronique"),
                ),
                migrations.AlterField(
                    model_name="beneficiary",
                    name="phone",
                    field=models.CharField(blank=True, max_length=20, verbose_name="téléphone"),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="beneficiary",
            index=models.Index(fields=["france_travail_id"], name="benef_france_travail_id_idx"),
        ),
        migrations.AddIndex(
            model_name="beneficiary",
            index=models.Index(fields=["departement_internal_id"], name="benef_internal_id_idx"),
        ),
        migrations.AddIndex(
            model_name="beneficiary",
            index=models.Index(fields=["email"], name="benef_email_idx"),
        ),
        migrations.AddIndex(
            model_name="beneficiary",
            index=models.Index(fields=["phone"], name="benef_phone_idx"),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
