"""Moteur distribué (Spark) sur un export Parquet : mêmes définitions, quand une machine ne suffit plus.

Comme pour DuckDB (``engines.py``), chaque requête des indicateurs (``definitions.py``) est compilée en SQL
PostgreSQL par Django, sans connexion ; ``sqlglot`` la traduit en Spark SQL (opérateurs JSON ``->``/``->>``
→ ``GET_JSON_OBJECT``, ``::varchar`` → ``CAST(… AS STRING)``, ``CONCAT`` qui ignore les NULL comme
PostgreSQL…), avec quelques corrections sur l'arbre typé par sqlglot (différence de dates en jours,
médiane exacte, sous-requête scalaire dans une requête groupée) ; Spark l'exécute sur des vues
temporaires posées sur les fichiers Parquet exportés par ``export_parquet``. Aucune requête n'est écrite
deux fois.

    engine = SparkEngine("/chemin/export")                     # Spark local, tous les cœurs
    engine = SparkEngine("s3a://…/export", spark=session)      # session d'une grappe existante
    compute_indicators(Beneficiary.objects.all(), debut, fin, engine=engine)

PySpark (et Java 17) sont des dépendances optionnelles (``requirements-spark.txt``) : ce module ne les
importe qu'à l'usage.
"""

import datetime
import functools
import json

from django.db import connections

from .engines import EXPORTED_MODELS, _columns, engine_connection


def _literal(value):
    """Un paramètre de requête en littéral SQL PostgreSQL, échappé par sqlglot."""
    from sqlglot import exp

    obj = getattr(value, "obj", None)  # adaptateur JSON de psycopg (``Jsonb``) : valeur scalaire
    if obj is not None and type(value).__name__ in {"Json", "Jsonb"}:
        # ``GET_JSON_OBJECT`` rend les chaînes sans guillemets et les autres scalaires en JSON.
        value = obj if isinstance(obj, str) else json.dumps(obj)
    return exp.convert(value).sql(dialect="postgres")


def inline_parameters(sql, params):
    """Remplace les marques ``?`` du SQL par les paramètres, en littéraux échappés.

    Les marques sont repérées par le lexer PostgreSQL de sqlglot (un ``?`` dans une chaîne ou un nom n'en
    est pas une). Les paramètres doivent être dans le texte avant la traduction : la clé d'un opérateur
    JSON devient le chemin ``'$.clé'`` de ``GET_JSON_OBJECT``."""
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.tokens import TokenType

    marks = [t for t in Postgres().tokenize(sql) if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if len(marks) != len(params):
        raise ValueError(f"{len(marks)} marques « ? » pour {len(params)} paramètres : {sql}")
    parts, position = [], 0
    for mark, value in zip(marks, params, strict=True):
        parts += [sql[position : mark.start], _literal(value)]
        position = mark.end + 1
    return "".join([*parts, sql[position:]])


@functools.cache
def _schema():
    """Types des colonnes exportées, pour que sqlglot type les expressions (dates en particulier)."""
    return {model._meta.db_table: dict(_columns(model)) for model in EXPORTED_MODELS}


def _spark_fixes(tree):
    """Ce que la traduction de sqlglot ne rend pas à l'identique en Spark SQL (arbre typé, modifié sur place)."""
    from sqlglot import exp

    # Sous-requête scalaire corrélée dans les colonnes d'une requête groupée : PostgreSQL l'accepte (elle ne
    # dépend que des clés du groupe), Spark veut qu'elle soit agrégée → FIRST(…), même valeur.
    for node in list(tree.find_all(exp.Subquery)):
        if _ungrouped_scalar_subquery(node):
            wrapper = exp.Anonymous(this="FIRST")
            node.replace(wrapper)
            wrapper.set("expressions", [node])
    # PostgreSQL : date - date = nombre entier de jours ; Spark : un intervalle. → DATEDIFF(fin, début).
    for node in list(tree.find_all(exp.Sub)):
        if node.this.is_type("date") and node.expression.is_type("date"):
            node.replace(exp.Anonymous(this="DATEDIFF", expressions=[node.this, node.expression]))
    # PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x) : sqlglot en fait PERCENTILE_APPROX (approché) ;
    # PERCENTILE(x, p) de Spark est exact et interpole comme PostgreSQL (médiane d'un effectif pair).
    for node in list(tree.find_all(exp.WithinGroup)):
        order = node.expression.expressions if isinstance(node.expression, exp.Order) else []
        fraction = node.this.this if isinstance(node.this, exp.PercentileCont) else None
        if len(order) == 1 and isinstance(fraction, exp.Literal) and fraction.is_number:
            value = float(fraction.this)
            if order[0].args.get("desc"):
                value = 1 - value
            node.replace(
                exp.Anonymous(this="PERCENTILE", expressions=[order[0].this, exp.Literal.number(value)])
            )
    return tree


def _ungrouped_scalar_subquery(node):
    from sqlglot import exp

    if not isinstance(node.this, exp.Select):
        return False
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(
            parent,
            exp.AggFunc
            | exp.Filter
            | exp.WithinGroup
            | exp.Window
            | exp.From
            | exp.Join
            | exp.Subquery
            | exp.Exists,
        ):
            return False
        child, parent = parent, parent.parent
    return (
        parent is not None
        and parent.args.get("group") is not None
        and child.arg_key in {"expressions", "having"}
    )


def to_spark_sql(sql, params=()):
    """Traduit une requête compilée pour PostgreSQL (marques ``?`` + paramètres) en Spark SQL."""
    import sqlglot
    from sqlglot.optimizer.annotate_types import annotate_types

    tree = sqlglot.parse_one(inline_parameters(sql, params), read="postgres")
    annotate_types(tree, schema=_schema(), dialect="postgres")
    return _spark_fixes(tree).sql(dialect="spark")


def _python(value):
    # Spark rend les horodatages en heure locale naïve du processus Python : on les remet en UTC conscient.
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.astimezone(datetime.UTC)
    return value


class SparkEngine:
    """Exécute les requêtes des indicateurs avec Spark SQL sur les fichiers Parquet d'un dossier."""

    name = "spark"

    def __init__(self, directory, *, spark=None, master="local[*]", config=None):
        self._owns_session = spark is None
        if spark is None:
            from pyspark.sql import SparkSession

            builder = (
                SparkSession.builder.master(master)
                .appName("parcours-indicateurs")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
            )
            for key, value in (config or {}).items():
                builder = builder.config(key, value)
            spark = builder.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
        self.spark = spark
        directory = str(directory).rstrip("/")
        for model in EXPORTED_MODELS:
            table = model._meta.db_table
            spark.read.parquet(f"{directory}/{table}.parquet").createOrReplaceTempView(table)
        self.alias = f"indicators_spark_{id(self)}"
        self._wrapper = engine_connection(self.alias, self._execute)

    def _execute(self, sql, params):
        return [tuple(_python(v) for v in row) for row in self.spark.sql(to_spark_sql(sql, params)).collect()]

    def bind(self, queryset):
        """Le QuerySet, exécuté par Spark."""
        return queryset.using(self.alias)

    def close(self):
        del connections[self.alias]
        for model in EXPORTED_MODELS:
            self.spark.catalog.dropTempView(model._meta.db_table)
        if self._owns_session:
            self.spark.stop()
