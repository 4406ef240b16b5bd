"""Banc d'essai des indicateurs de pilotage, sur la base désignée par DATABASE_URL.

    python bench/indicators.py [--beneficiaries 150000] [--seed 0] [--repeat 3]

Crée une base de test vide (puis la détruit), y écrit en masse (``parcours.core.bulk.insert_rows``) N
bénéficiaires d'un Département et leur parcours (~10 événements chacun : flux, nouvel entrant, invitation,
entretien, orientation notifiée, référent, diagnostic, contrat, sortie…) avec les tables d'état lues
par les indicateurs (droits, suivis, contrats, sorties), puis mesure le calcul du jeu complet
d'indicateurs (``compute_indicators``) sur un an et sur toute la période, pour le Département et pour
un territoire. Cible : moins de 5 s sur PostgreSQL à 150 000 bénéficiaires. Avec ``--engines django,duckdb``
(défaut), les mêmes définitions sont aussi exécutées par DuckDB sur un export Parquet des tables, et le
banc vérifie que les deux moteurs donnent les mêmes chiffres. Avec ``--engines django,duckdb,spark``, Spark
(local, ``requirements-spark.txt`` et Java 17) les exécute aussi sur le même export.
"""

import argparse
import datetime
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")

START = datetime.date(2025, 1, 1)
SPAN_DAYS = 640  # T0 entre janvier 2025 et octobre 2026
PATHWAYS = ("emploi", "socio_professionnel", "social")
CONTRACT_KINDS = ("contrat_engagement", "contrat_engagement", "cer", "ppae")


def filler(model, now):
    """Valeurs par défaut de chaque colonne (les lignes insérées en masse ne passent pas par l'ORM)."""
    defaults = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = now
        elif field.has_default():
            defaults[field.attname] = field.get_default()
        elif field.null:
            defaults[field.attname] = None
        else:
            defaults[field.attname] = ""
    return defaults


class Writer:
    """Accumule des lignes (dicts) par modèle et les écrit avec ``insert_rows`` (COPY sur PostgreSQL)."""

    def __init__(self, now):
        self.now = now
        self.rows = {}
        self.ids = {}

    def add(self, model, **values):
        pk = self.ids.get(model, 0) + 1
        self.ids[model] = pk
        self.rows.setdefault(model, []).append({"id": pk, **values})
        return pk

    def flush(self):
        from parcours.core.bulk import insert_rows

        counts = {}
        for model, rows in self.rows.items():
            defaults = filler(model, self.now)
            fields = ["id", *defaults]
            insert_rows(model, fields, ([r.get(f, defaults.get(f)) for f in fields] for r in rows))
            counts[model._meta.label] = len(rows)
        self.rows = {}
        return counts


def generate(n, seed):
    from django.db import connection
    from django.utils import timezone

    from parcours.accompaniment.models import Contract, Exit
    from parcours.accounts.models import Organisation, OrganisationKind, Territory
    from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, RsaRight
    from parcours.journal.models import Event

    rng = random.Random(seed)
    now = timezone.now()
    departement = Organisation.objects.create(
        kind=OrganisationKind.DEPARTEMENT, name="Département du banc d'essai", departement_code="99"
    )
    partner = Organisation.objects.create(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail du banc", departement=departement
    )
    territories = [
        Territory.objects.create(departement=departement, code=f"T{i}", name=f"Territoire {i}").pk
        for i in range(8)
    ]
    w = Writer(now)
    total_events = 0

    def event(beneficiary, kind, on, **payload):
        nonlocal total_events
        total_events += 1
        w.add(Event, beneficiary_id=beneficiary, kind=kind, occurred_on=on, recorded_at=now, payload=payload)

    day = datetime.timedelta
    for i in range(n):
        household = w.add(
            Household, departement_id=departement.pk, organism="CAF", matricule=f"{9000000 + i}"
        )
        opened = START + day(rng.randrange(SPAN_DAYS))
        t0 = opened + day(rng.randrange(5, 40))
        closed = rng.random() < 0.1
        w.add(RsaRight, household_id=household, opened_on=opened, state="5" if closed else "2")
        pk = w.add(
            Beneficiary,
            departement_id=departement.pk,
            household_id=household,
            role="DEM",
            last_name=f"Nom{i}",
            first_name=f"Prénom{i}",
            birth_date=datetime.date(1970 + i % 35, 1 + i % 12, 1 + i % 28),
            territory_id=territories[i % len(territories)],
            rsa_state="5" if closed else "2",
            is_sdd=True,
            new_entrant_t0=t0,
        )
        event(pk, "person_created", t0)
        event(pk, "right_opened", t0, etat="2", date_ouverture=opened.isoformat())
        event(pk, "became_sdd", t0)
        event(pk, "new_entrant", t0, t0=t0.isoformat())
        event(pk, "invited", t0 + day(rng.randrange(1, 10)))
        cursor = t0
        if rng.random() < 0.75:
            cursor = t0 + day(rng.randrange(5, 40))
            event(pk, "appointment_planned", t0 + day(2))
            event(pk, "appointment_held", cursor)
        if rng.random() < 0.85:
            notified = cursor + day(rng.randrange(0, 20))
            decision = i + 1
            pathway = rng.choice(PATHWAYS)
            event(pk, "orientation_decided", notified, decision_id=decision, pathway=pathway)
            event(pk, "oriented", notified, decision_id=decision, pathway=pathway)
            if rng.random() < 0.7:
                started = notified + day(rng.randrange(0, 15))
                event(pk, "referent_assigned", started, referent_id=1)
                w.add(
                    FollowUp,
                    beneficiary_id=pk,
                    organisation_id=partner.pk,
                    started_on=started,
                    ended_on=started + day(300) if closed else None,
                )
                if rng.random() < 0.8:
                    diagnosed = started + day(rng.randrange(0, 20))
                    event(pk, "diagnosed", diagnosed, version=1)
                    if rng.random() < 0.8:
                        signed = diagnosed + day(rng.randrange(1, 45))
                        kind = rng.choice(CONTRACT_KINDS)
                        w.add(
                            Contract,
                            beneficiary_id=pk,
                            kind=kind,
                            status="signed",
                            weekly_hours=rng.choice((8, 12, 15, 18, 20)),
                            signed_on=signed,
                            starts_on=signed,
                        )
                        event(pk, "contract_signed", signed, type=kind)
        if closed:
            event(pk, "right_closed", t0 + day(300), etat="5")
            if rng.random() < 0.5:
                w.add(
                    Exit,
                    beneficiary_id=pk,
                    reason="emploi",
                    exited_on=t0 + day(290),
                    contract_type=rng.choice(("cdi", "cdd", "interim")),
                )
        if (i + 1) % 20_000 == 0:
            w.flush()
    w.flush()
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("ANALYZE")
    return departement, territories[0], total_events


def measure(engine_label, engine, cases, repeat, results):
    """Mesure le jeu complet pour chaque cas ; compare au premier moteur mesuré (``results``)."""
    from parcours.indicators.definitions import compute_indicators

    print(f"Moteur {engine_label} :")
    for label, scope, year in cases:
        start, end = (
            (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
            if year
            else (START, datetime.date(2026, 12, 31))
        )
        timings = []
        for _ in range(repeat):
            t = time.perf_counter()
            cpu = time.process_time()
            values = compute_indicators(scope, start, end, engine=engine)
            timings.append((time.perf_counter() - t, time.process_time() - cpu))
        agree = ""
        if label in results:
            agree = " ; identique au premier moteur" if results[label] == values else " ; DIFFÉRENT !"
        results.setdefault(label, values)
        wall, cpu = min(timings)
        print(
            f"- {label} : jeu complet en {wall:.2f} s (meilleur de {repeat} ; CPU du processus {cpu:.2f} s) ; "
            f"nouveaux entrants {values['nouveaux_entrants']}, "
            f"taux 15 j {values['taux_orientation_15j']:.3f}, "
            f"délai médian T0→orientation {values['delai_median_t0_orientation_jours']} j{agree}"
        )


def spark_available():
    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        print("Spark : paquet « pyspark » (requirements-spark.txt) ou Java absent, moteur ignoré.")
        return False
    return True


def measure_saved_export(directory, repeat, engines="duckdb"):
    """DuckDB (et Spark s'il est demandé) sur un export gardé par ``--parquet`` (aucune base n'est créée ni
    lue)."""
    from parcours.accounts.models import Organisation, Territory
    from parcours.indicators.definitions import beneficiary_scope
    from parcours.indicators.engines import DuckDBEngine

    meta = json.loads((directory / "banc.json").read_text())
    print(
        f"Export gardé {directory} : {meta['beneficiaries']:_} bénéficiaires ; "
        f"{meta['events']:_} événements".replace("_", " ")
    )
    departement = Organisation(pk=meta["departement"])
    territory = Territory(pk=meta["territory"])
    cases = [
        ("Département, 1 an (2026)", beneficiary_scope(departement=departement), 2026),
        ("Département, toute la période", beneficiary_scope(departement=departement), None),
        ("un territoire, 1 an (2026)", beneficiary_scope(departement=departement, territory=territory), 2026),
    ]
    results = {}
    if "duckdb" in engines:
        engine = DuckDBEngine(directory)
        try:
            measure("DuckDB (Parquet)", engine, cases, repeat, results)
        finally:
            engine.close()
    if "spark" in engines and spark_available():
        from parcours.indicators.engines_spark import SparkEngine

        engine = SparkEngine(directory)
        try:
            measure("Spark (Parquet)", engine, cases, repeat, results)
        finally:
            engine.close()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beneficiaries", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="mesures par cas (on garde la meilleure)")
    parser.add_argument(
        "--engines",
        default="django,duckdb",
        help="moteurs mesurés : django (la base de DATABASE_URL), duckdb (export Parquet, paquet duckdb), "
        "spark (le même export, Spark local)",
    )
    parser.add_argument(
        "--parquet",
        metavar="DOSSIER",
        help="garde l'export Parquet dans DOSSIER ; s'il en contient déjà un (fichier banc.json), ne génère "
        "rien et mesure DuckDB seul sur cet export (profilage sans régénérer 2 millions de bénéficiaires ; "
        "avec --engines duckdb,spark ou spark, Spark aussi ou seul)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from parcours.accounts.models import Territory
    from parcours.indicators.definitions import beneficiary_scope

    if args.parquet and (Path(args.parquet) / "banc.json").exists():
        return measure_saved_export(Path(args.parquet), args.repeat, args.engines)
    old_name = connection.settings_dict["NAME"]
    creation = connection.creation
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"Base : {connection.vendor} ({test_name})")
    try:
        started = time.perf_counter()
        departement, territory_id, events = generate(args.beneficiaries, args.seed)
        print(
            f"Données : {args.beneficiaries:_} bénéficiaires ; {events:_} événements "
            f"({time.perf_counter() - started:.1f} s)".replace("_", " ")
        )
        territory = Territory.objects.get(pk=territory_id)
        cases = [
            ("Département, 1 an (2026)", beneficiary_scope(departement=departement), 2026),
            ("Département, toute la période", beneficiary_scope(departement=departement), None),
            (
                "un territoire, 1 an (2026)",
                beneficiary_scope(departement=departement, territory=territory),
                2026,
            ),
        ]
        engines = [("PostgreSQL" if connection.vendor == "postgresql" else connection.vendor, None)]
        if "duckdb" in args.engines and importlib.util.find_spec("duckdb") is None:
            print("DuckDB : paquet « duckdb » non installé, moteur ignoré.")
            args.engines = "django"
        export_dir = None
        if "duckdb" in args.engines:
            from parcours.indicators.engines import DuckDBEngine, export_parquet

            export_dir = args.parquet or tempfile.mkdtemp(prefix="indicateurs-parquet-")
            started = time.perf_counter()
            export_parquet(export_dir)
            print(f"Export Parquet : {time.perf_counter() - started:.1f} s")
            if args.parquet:
                (Path(export_dir) / "banc.json").write_text(
                    json.dumps(
                        {
                            "departement": departement.pk,
                            "territory": territory_id,
                            "beneficiaries": args.beneficiaries,
                            "events": events,
                        }
                    )
                )
            engines.append(("DuckDB (Parquet)", DuckDBEngine(export_dir)))
        if "spark" in args.engines and spark_available():
            from parcours.indicators.engines import export_parquet
            from parcours.indicators.engines_spark import SparkEngine

            if export_dir is None:
                export_dir = args.parquet or tempfile.mkdtemp(prefix="indicateurs-parquet-")
                export_parquet(export_dir)
            started = time.perf_counter()
            engines.append(("Spark (Parquet)", SparkEngine(export_dir)))
            print(f"Démarrage de Spark : {time.perf_counter() - started:.1f} s")
        results = {}
        for engine_label, engine in engines:
            measure(engine_label, engine, cases, args.repeat, results)
        for _, engine in engines[1:]:
            engine.close()
        if export_dir and not args.parquet:
            shutil.rmtree(export_dir, ignore_errors=True)
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
