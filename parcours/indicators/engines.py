"""Moteur analytique embarqué (DuckDB) sur un export Parquet : mêmes définitions, autre moteur.

Les indicateurs sont définis une seule fois, en requêtes de l'ORM (``definitions.py``). Pour la
consolidation nationale, ces mêmes requêtes sont **compilées en SQL PostgreSQL** par Django (sans
connexion) et exécutées par DuckDB sur des vues posées sur les fichiers Parquet exportés ; DuckDB lit ce
dialecte (opérateurs JSON ``->``/``->>``, ``FILTER``, ``::varchar``). Aucune requête n'est écrite deux fois.

    export_parquet("/chemin/export")                      # depuis la base de Django
    engine = DuckDBEngine("/chemin/export")
    compute_indicators(Beneficiary.objects.all(), debut, fin, engine=engine)

DuckDB est une dépendance optionnelle (``duckdb``) : ce module ne l'importe qu'à l'usage.
"""

import csv
from pathlib import Path

from django.db import connection as default_connection
from django.db import connections

from parcours.accompaniment.models import (
    Contract,
    EmploymentCheck,
    Exit,
    PlannedActivity,
    ProfessionalSurveyAnswer,
    SatisfactionAnswer,
)
from parcours.accounts.models import Membership, Organisation, Territory
from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, RsaRight
from parcours.employers.models import Hiring
from parcours.journal.models import Event

# Tables lues par les indicateurs (le reste de la base n'est pas exporté).
EXPORTED_MODELS = (
    Event,
    Beneficiary,
    Household,
    RsaRight,
    FollowUp,
    Contract,
    Exit,
    EmploymentCheck,
    Organisation,
    Territory,
    # Volet 3 (satisfaction, progression dans l'employabilité)
    PlannedActivity,
    SatisfactionAnswer,
    ProfessionalSurveyAnswer,
    Membership,
    Hiring,  # embauches sans sortie : contrats de courte durée
)
# Colonnes jamais exportées : textes libres (commentaires des questionnaires de satisfaction, récit d'une
# activité, intitulé d'un poste), que les indicateurs ne lisent pas.
EXCLUDED_COLUMNS = {
    SatisfactionAnswer: {"comment"},
    ProfessionalSurveyAnswer: {"comment"},
    PlannedActivity: {"label", "provider", "outcome"},
    Hiring: {"job_title"},
}

NULL = "\\N"

_DUCKDB_TYPES = {
    "AutoField": "BIGINT",
    "BigAutoField": "BIGINT",
    "ForeignKey": "BIGINT",
    "OneToOneField": "BIGINT",
    "IntegerField": "BIGINT",
    "BigIntegerField": "BIGINT",
    "SmallIntegerField": "BIGINT",
    "PositiveIntegerField": "BIGINT",
    "PositiveSmallIntegerField": "BIGINT",
    "PositiveBigIntegerField": "BIGINT",
    "BooleanField": "BOOLEAN",
    "DateField": "DATE",
    "DateTimeField": "TIMESTAMPTZ",
    "DecimalField": "DOUBLE",
    "FloatField": "DOUBLE",
    "JSONField": "VARCHAR",
}


def _exported_fields(model):
    excluded = EXCLUDED_COLUMNS.get(model, set())
    return [f for f in model._meta.concrete_fields if f.name not in excluded]


def _columns(model):
    return [(f.column, _DUCKDB_TYPES.get(f.get_internal_type(), "VARCHAR")) for f in _exported_fields(model)]


def _write_csv(model, path, using):
    """Copie une table en CSV (``\\N`` = NULL) : COPY sur PostgreSQL, lecture par l'ORM ailleurs."""
    connection = connections[using]
    columns = [c for c, _ in _columns(model)]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = "COPY {} ({}) TO STDOUT WITH (FORMAT csv, HEADER true, NULL '{}')".format(  # noqa: S608
            quote(model._meta.db_table), ", ".join(quote(c) for c in columns), NULL
        )
        with connection.cursor() as cursor, open(path, "wb") as handle, cursor.cursor.copy(sql) as copy:
            for chunk in copy:
                handle.write(chunk)
        return
    import json

    attnames = [f.attname for f in _exported_fields(model)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in (
            model._base_manager.using(using).order_by().values_list(*attnames).iterator(chunk_size=5000)
        ):
            writer.writerow(
                [
                    NULL
                    if v is None
                    else json.dumps(v)
                    if isinstance(v, dict | list)
                    else ("true" if v else "false")
                    if isinstance(v, bool)
                    else v
                    for v in row
                ]
            )


def export_parquet(directory, *, using="default"):
    """Exporte les tables des indicateurs en Parquet (un fichier par table) ; renvoie le dossier."""
    import duckdb

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        for model in EXPORTED_MODELS:
            table = model._meta.db_table
            csv_path = directory / f"{table}.csv"
            _write_csv(model, csv_path, using)
            columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in _columns(model)) + "}"
            con.execute(
                f"COPY (SELECT * FROM read_csv('{csv_path}', header=true, nullstr='{NULL}', "  # noqa: S608
                f"columns={columns}, quote='\"', escape='\"')) TO '{directory / table}.parquet' (FORMAT parquet)"
            )
            csv_path.unlink()
    finally:
        con.close()
    return directory


class EngineCursor:
    """Curseur DB-API minimal : Django y envoie le SQL PostgreSQL qu'il a compilé, ``execute`` (fonction
    ``(sql, paramètres) -> lignes``, SQL aux marques ``?``) l'exécute sur un autre moteur."""

    def __init__(self, execute):
        self._execute = execute
        self._rows = []
        self._position = 0
        self.rowcount = -1
        self.description = None

    def execute(self, sql, params=None):
        self._rows = self._execute(sql.replace("%s", "?").replace("%%", "%"), list(params or ()))
        self._position = 0
        self.rowcount = len(self._rows)

    def fetchone(self):
        if self._position >= len(self._rows):
            return None
        self._position += 1
        return self._rows[self._position - 1]

    def fetchmany(self, size=1):
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self):
        return self.fetchmany(len(self._rows))

    def close(self):
        self._rows = []


def engine_connection(alias, execute):
    """Enregistre sous ``alias`` une connexion Django « PostgreSQL » qui ne se connecte à aucun serveur :
    les QuerySets ``.using(alias)`` sont compilés en SQL PostgreSQL et exécutés par ``execute``. Les
    définitions des indicateurs (``list()``, ``.count()``, ``.aggregate()``) tournent ainsi telles quelles
    sur DuckDB ou un autre moteur."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    class EngineWrapper(DatabaseWrapper):
        queries_logged = False

        def get_connection_params(self):
            return {}

        def get_new_connection(self, conn_params):
            return execute

        def init_connection_state(self):
            pass

        def check_database_version_supported(self):
            pass

        def _set_autocommit(self, autocommit):
            pass

        def create_cursor(self, name=None):
            return EngineCursor(execute)

        def is_usable(self):
            return True

        def _close(self):
            pass

    settings = dict(default_connection.settings_dict)
    settings.update(ENGINE="django.db.backends.postgresql", NAME=alias, OPTIONS={}, CONN_HEALTH_CHECKS=False)
    wrapper = EngineWrapper(settings, alias=alias)
    wrapper.pg_version = 160000  # pas de serveur à qui demander sa version
    # DuckDB ne déduit pas les colonnes d'une ligne de sa clé primaire : GROUP BY complet.
    wrapper.features.allows_group_by_selected_pks = False
    connections[alias] = wrapper
    return wrapper


class DuckDBEngine:
    """Exécute les requêtes des indicateurs avec DuckDB sur les fichiers Parquet d'un dossier."""

    name = "duckdb"

    def __init__(self, directory, *, threads=None):
        import duckdb

        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        for model in EXPORTED_MODELS:
            table = model._meta.db_table
            path = Path(directory) / f"{table}.parquet"
            json_columns = [
                f.column for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"
            ]
            select = "*"
            if json_columns:
                select = "* REPLACE ({})".format(
                    ", ".join(f'CAST("{c}" AS JSON) AS "{c}"' for c in json_columns)
                )
            self.con.execute(f"CREATE VIEW \"{table}\" AS SELECT {select} FROM read_parquet('{path}')")  # noqa: S608
        self.alias = f"indicators_duckdb_{id(self)}"
        self._wrapper = engine_connection(self.alias, self._execute)

    def _execute(self, sql, params):
        return [tuple(row) for row in self.con.execute(sql, params).fetchall()]

    def bind(self, queryset):
        """Le QuerySet, exécuté par DuckDB."""
        return queryset.using(self.alias)

    def close(self):
        del connections[self.alias]
        self.con.close()
