"""Spark s'accorde avec la base : mêmes définitions, traduites en Spark SQL par sqlglot et exécutées sur
l'export Parquet (Spark local). Ignoré si PySpark (``requirements-spark.txt``) ou Java manquent."""

import shutil

import pytest

from parcours.indicators.definitions import beneficiary_scope, compute_indicators

from .conftest import D, person
from .test_engines import scenario  # noqa: F401 — le même scénario que pour DuckDB

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
if shutil.which("java") is None:
    pytest.skip("Java est nécessaire pour Spark", allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=False)


def _rows(engine, queryset):
    return list(engine.bind(queryset))


def _count(engine, queryset):
    return engine.bind(queryset).count()


@pytest.fixture(scope="module")
def spark():
    """Une session Spark locale pour tout le module (son démarrage coûte quelques secondes)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("parcours-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def spark_engine(spark, scenario, tmp_path):  # noqa: F811
    from parcours.indicators.engines import export_parquet
    from parcours.indicators.engines_spark import SparkEngine

    engine = SparkEngine(export_parquet(tmp_path / "export"), spark=spark)
    yield engine
    engine.close()


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 1, 1), D(2026, 12, 31)), (D(2025, 1, 1), D(2025, 1, 31))],
)
def test_spark_on_parquet_agrees_with_the_database(departement, spark_engine, start, end):
    for scope in (beneficiary_scope(), beneficiary_scope(departement=departement)):
        expected = compute_indicators(scope, start, end)
        assert compute_indicators(scope, start, end, engine=spark_engine) == expected


def test_the_spark_figures_are_the_expected_ones(departement, spark_engine):
    values = compute_indicators(beneficiary_scope(), D(2026, 3, 1), D(2026, 4, 30), engine=spark_engine)
    assert values["nouveaux_entrants"] == 5
    assert values["nouveaux_entrants_orientes_15j"] == 2  # Bruno : orientation annulée puis tardive
    assert values["repartition_parcours"] == {
        "emploi": 1,
        "socio_professionnel": 1,
        "social": 1,
        "non_oriente": 2,
    }
    assert values["contrats_signes"]["cer"] == 1
    assert values["sortants"] == 2
    assert values["taux_retour_emploi_durable_6m"] == 1
    assert values["delai_median_diagnostic_premiere_action_jours"] == 10
    assert values["progression_employabilite"]["contrat_court"] == 1  # Bruno : embauche sans sortie


def test_parameters_are_inlined_as_escaped_literals(departement, scenario, spark, tmp_path):  # noqa: F811
    """Les paramètres deviennent des littéraux : apostrophe, antislash et « % » restent des données."""
    from parcours.beneficiaries.models import Beneficiary
    from parcours.indicators.engines import export_parquet
    from parcours.indicators.engines_spark import SparkEngine

    alice = person("alice")
    Beneficiary.objects.filter(pk=alice.pk).update(last_name="D'Arc \\ 100 %")
    engine = SparkEngine(export_parquet(tmp_path / "export"), spark=spark)
    try:
        people = Beneficiary.objects.order_by()
        assert _rows(engine, people.filter(last_name="D'Arc \\ 100 %").values_list("pk")) == [(alice.pk,)]
        assert _count(engine, people.filter(last_name__contains="c \\ 1")) == 1
        assert _count(engine, people.filter(last_name__startswith="D'A", birth_date=D(1985, 6, 12))) == 1
        assert _count(engine, people.filter(last_name__contains="100 %")) == 1
        assert _count(engine, people.filter(last_name__contains="D%c")) == 0  # « % » n'est pas un joker
        assert _rows(engine, people.filter(pk__in=[]).values_list("pk")) == []
        oriented = alice.events.filter(kind="oriented", payload__pathway="emploi").order_by()
        assert _rows(engine, oriented.values_list("occurred_on", "payload__pathway")) == [
            (D(2026, 3, 15), "emploi")
        ]
    finally:
        engine.close()


def test_first_row_subqueries_follow_the_ordering(departement, spark_engine):
    """Sous-requête corrélée « première ligne selon l'ordre » (``ORDER BY … LIMIT 1``), comme pour les
    orientations non annulées : Spark prend la même ligne que la base, dans les deux sens."""
    from django.db.models import OuterRef, Subquery

    from parcours.beneficiaries.models import Beneficiary
    from parcours.journal.models import Event

    for ordering in (("occurred_on", "pk"), ("-occurred_on", "-pk")):
        events = Event.objects.filter(beneficiary_id=OuterRef("pk")).order_by(*ordering)
        people = (
            Beneficiary.objects.order_by()
            .annotate(kind=Subquery(events.values("kind")[:1]), on=Subquery(events.values("occurred_on")[:1]))
            .values_list("pk", "kind", "on")
        )
        assert sorted(_rows(spark_engine, people)) == sorted(people)
