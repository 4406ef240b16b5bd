"""Expressions SQL portables des indicateurs (SQLite, PostgreSQL, et DuckDB/Spark qui lisent le SQL
PostgreSQL compilé par Django) : nombre de jours entre deux dates, médiane.

La médiane est ``PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x)`` (moyenne des deux valeurs du milieu pour
un effectif pair, comme ``statistics.median``) ; SQLite n'en ayant pas, l'application y enregistre une
fonction d'agrégat équivalente à chaque connexion (``register_sqlite_functions``).
"""

import statistics

from django.db.models import Aggregate, FloatField, Func, IntegerField


class DaysBetween(Func):
    """Nombre de jours de ``start`` à ``end`` (entier, négatif si ``end`` précède ``start``)."""

    arity = 2
    output_field = IntegerField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # PostgreSQL et DuckDB : date - date = nombre entier de jours.
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ")

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(JULIANDAY(%(expressions)s) AS INTEGER)",
            arg_joiner=") - JULIANDAY(",
        )


class Median(Aggregate):
    """Médiane des valeurs non nulles (``None`` s'il n'y en a aucune)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            function=SQLITE_MEDIAN,
            template="%(function)s(%(expressions)s)",
            **extra_context,
        )


SQLITE_MEDIAN = "PARCOURS_MEDIAN"


class _SQLiteMedian:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return float(statistics.median(self.values)) if self.values else None


def register_sqlite_functions(sender, connection, **kwargs):
    """Signal ``connection_created`` : ajoute la médiane aux connexions SQLite."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_MEDIAN, 1, _SQLiteMedian)


def as_number(value):
    """Médiane lue en base (flottant) → entier quand elle tombe juste (12.0 → 12), sinon 12.5."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value
