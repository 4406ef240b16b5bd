"""Expressions SQL portables des indicateurs (SQLite, PostgreSQL, et DuckDB/Spark qui lisent le SQL
PostgreSQL compilé par Django) : nombre de jours entre deux dates, date quelques mois plus tard, médiane.

La médiane est ``PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x)`` (moyenne des deux valeurs du milieu pour
un effectif pair, comme ``statistics.median``) ; SQLite n'en ayant pas, l'application y enregistre une
fonction d'agrégat équivalente à chaque connexion (``register_sqlite_functions``).
"""

import datetime
import statistics

from django.db.models import Aggregate, DateField, FloatField, Func, IntegerField


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


class AddMonths(Func):
    """La date ``months`` mois après ``day`` (fin de mois ramenée au dernier jour : 31 janvier + 1 mois =
    28 février), comme ``accompaniment.surveys.shift_months``. PostgreSQL et DuckDB le font d'eux-mêmes
    (date + intervalle de mois) ; SQLite par la fonction ``PARCOURS_ADD_MONTHS`` déclarée à chaque connexion,
    qui appelle ``shift_months``."""

    arity = 2
    output_field = DateField()

    def __init__(self, day, months, **extra):
        super().__init__(day, months, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="CAST((%(expressions)s * INTERVAL '1 month') AS DATE)",
            arg_joiner=" + ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_ADD_MONTHS, **extra_context)


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
SQLITE_ADD_MONTHS = "PARCOURS_ADD_MONTHS"


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
        connection.connection.create_function(SQLITE_ADD_MONTHS, 2, _sqlite_add_months, deterministic=True)


def _sqlite_add_months(day, months):
    from parcours.accompaniment.surveys import shift_months

    if day is None or months is None:
        return None
    return shift_months(datetime.date.fromisoformat(day[:10]), int(months)).isoformat()


def as_number(value):
    """Médiane lue en base (flottant) → entier quand elle tombe juste (12.0 → 12), sinon 12.5."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value
