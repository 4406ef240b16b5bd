"""Index de la recherche : services à distance (toutes bases), et sur PostgreSQL seulement :

- un index GIN sur ``string_to_array(thematiques_index, '|')`` : le filtre de thématiques y est un
  recouvrement de tableaux (``&&``) indexé (voir ``search._filter_thematiques``) ;
- un index trigramme (extension ``pg_trgm``) sur ``search_text`` pour le texte libre (``LIKE '%…%'``).
  Si l'extension n'est pas disponible (ou pas autorisée), la migration passe sans cet index : la
  recherche reste correcte, seulement plus lente sur un gros catalogue.
"""

from django.db import DatabaseError, migrations, models, transaction

THEMATIQUES_INDEX = "catalogue_service_them_gin"
TRIGRAM_INDEXES = {"catalogue_service_text_trgm": "search_text"}


def create_search_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {THEMATIQUES_INDEX} ON catalogue_service "
            "USING gin (string_to_array(thematiques_index, '|'))"
        )
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:
            return
        for name, column in TRIGRAM_INDEXES.items():
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON catalogue_service USING gin ({column} gin_trgm_ops)"
            )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in [THEMATIQUES_INDEX, *TRIGRAM_INDEXES]:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="commune",
            index=models.Index(fields=["latitude", "longitude"], name="catalogue_commune_geo_idx"),
        ),
        migrations.AddIndex(
            model_name="service",
            index=models.Index(fields=["remote", "is_active"], name="catalogue_service_remote_idx"),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
