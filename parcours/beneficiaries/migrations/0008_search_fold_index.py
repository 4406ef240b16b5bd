"""Recherche des personnes par nom : index trigramme sur les noms sans accents ni casse (PostgreSQL).

- extensions ``unaccent`` et ``pg_trgm`` (livrées avec PostgreSQL, paquet « contrib ») ;
- fonction ``parcours_fold(texte)`` = ``lower(unaccent(texte))``, traits d'union et apostrophes changés en
  espaces, déclarée IMMUTABLE (le dictionnaire est nommé avec son schéma, comme le veut un index
  d'expression) ;
- index GIN trigramme sur ``parcours_fold(' ' || nom d'usage || ' ' || prénom || ' ' || nom de naissance || ' ')``,
  l'expression de ``parcours.beneficiaries.search.NameDocument`` (bornée d'espaces : « début d'un mot » et
  « fin d'un mot » s'écrivent chacun avec un seul motif LIKE).

Sur SQLite, rien à créer : ``parcours_fold`` est déclarée en Python à chaque connexion
(``parcours.core.dbfunctions``) et la recherche lit la table. Aucune colonne nouvelle : les imports en
masse (COPY) n'ont rien à remplir.
"""

from django.db import migrations

INDEX = "benef_name_fold_trgm"
EXTENSIONS = ("unaccent", "pg_trgm")
FOLD = """
CREATE OR REPLACE FUNCTION parcours_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL RESTRICTED
AS $$ SELECT translate(lower(public.unaccent('public.unaccent'::regdictionary, $1)), '-''', '  ') $$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", [list(EXTENSIONS)])
        missing = set(EXTENSIONS) - {name for (name,) in cursor.fetchall()}
        if missing:
            raise RuntimeError(
                "La recherche des personnes demande les extensions PostgreSQL "
                f"{', '.join(sorted(missing))} (paquet postgresql-contrib) : installez-les puis relancez "
                "« parcours migrate »."
            )
        for extension in EXTENSIONS:
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} WITH SCHEMA public")
        cursor.execute(FOLD)
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON beneficiaries_beneficiary USING gin "
            "(parcours_fold(' ' || last_name || ' ' || first_name || ' ' || birth_name || ' ') gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        cursor.execute("DROP FUNCTION IF EXISTS parcours_fold(text)")


class Migration(migrations.Migration):
    dependencies = [("beneficiaries", "0007_household_matricule_index")]

    operations = [migrations.RunPython(create, drop)]
