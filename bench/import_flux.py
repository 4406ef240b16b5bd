"""Banc d'essai de l'import des flux : débit et mémoire, sur la base désignée par DATABASE_URL.

    python bench/import_flux.py [--rows 150000] [--seed 0] [--profile]

Étapes mesurées, sur une base vide (la base de test est créée puis détruite) :
1. premier import d'un fichier canonique de N lignes (stock initial : tout est créé) ;
2. ré-import du même fichier (idempotence : tout est inchangé) ;
3. import du mois suivant où 10 % des droits changent d'état.
Affiche pour chaque étape la durée, le débit en lignes/s, le pic de mémoire du processus et le rapport à la
copie brute du même fichier dans une table temporaire (``COPY`` sur PostgreSQL, insertions groupées sur SQLite) :
la borne basse de ce que coûte la seule lecture du fichier par la base.
"""

import argparse
import contextlib
import csv
import datetime
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_cpu_seconds(connection):
    """Temps CPU du processus serveur PostgreSQL de la connexion, s'il tourne sur cette machine (``/proc``) ; sinon
    ``None``. Sur une machine partagée, moins bruité que la durée : la base attend son tour sans compter."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def next_month(source, target, share=10):
    """Copie le fichier en changeant l'état du droit d'une ligne sur ``share`` (2 → 3 ou 3/4 → 2)."""
    with (
        open(source, encoding="utf-8", newline="") as src,
        open(target, "w", encoding="utf-8", newline="") as dst,
    ):
        reader = csv.DictReader(src, delimiter=";")
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames, delimiter=";")
        writer.writeheader()
        for index, row in enumerate(reader):
            if index % share == 0:
                row["etat_droit"] = "3" if row["etat_droit"] == "2" else "2"
            writer.writerow(row)


def raw_copy_seconds(connection, path):
    """Durée d'une copie brute du fichier CSV (toutes colonnes en texte) dans une table temporaire."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle, delimiter=";"))
    columns = ", ".join(f"c{i} text" for i in range(len(header)))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_raw_copy ({columns})")
        if connection.vendor == "postgresql":
            with (
                open(path, "rb") as handle,
                cursor.cursor.copy(
                    "COPY bench_raw_copy FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true)"
                ) as copy,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        else:
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle, delimiter=";")
                next(reader)
                sql = f"INSERT INTO bench_raw_copy VALUES ({', '.join(['%s'] * len(header))})"  # noqa: S608
                batch = []
                for row in reader:
                    batch.append(row)
                    if len(batch) >= 5000:
                        cursor.executemany(sql, batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_copy")
    return elapsed


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--profile", type=int, choices=(1, 2, 3), help="profil cProfile de l'étape donnée (1, 2 ou 3)"
    )
    parser.add_argument(
        "--sql", action="store_true", help="temps cumulé par forme de requête SQL (les 15 plus coûteuses)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import get_runner, setup_test_environment  # noqa: F401

    from parcours.demo.generator import write_canonical_csv
    from parcours.intake.services import default_departement, import_flux

    old_name = connection.settings_dict["NAME"]
    creation = connection.creation
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"Base : {connection.vendor} ({test_name})")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = Path(tmp) / "flux-mois-1.csv"
            second = Path(tmp) / "flux-mois-2.csv"
            started = time.perf_counter()
            write_canonical_csv(first, args.rows, seed=args.seed)
            next_month(first, second)
            print(
                f"Fichiers générés : {args.rows} lignes, {first.stat().st_size / 1e6:.1f} Mo "
                f"({time.perf_counter() - started:.1f} s)"
            )
            departement = default_departement()
            raw = {path: raw_copy_seconds(connection, path) for path in (first, second)}
            print(
                f"Copie brute dans une table temporaire : {raw[first]:.2f} s (mois 1), {raw[second]:.2f} s (mois 2) ; "
                f"mémoire avant le premier import {peak_rss_mb():.0f} Mo"
            )
            steps = [
                ("premier import (tout est créé)", first, datetime.date(2026, 1, 5)),
                ("ré-import du même fichier (rien ne change)", first, datetime.date(2026, 1, 5)),
                ("mois suivant (10 % des droits changent)", second, datetime.date(2026, 2, 5)),
            ]
            for index, (label, path, received_on) in enumerate(steps):
                profiler = None
                if args.profile == index + 1:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                sql_times = {}

                def timed(execute, sql, params, many, context, sql_times=sql_times):
                    began = time.perf_counter()
                    try:
                        return execute(sql, params, many, context)
                    finally:
                        shape = re.sub(r"\(%s(, %s)*\)|\d+", "?", sql)[:160]
                        total, count = sql_times.get(shape, (0.0, 0))
                        sql_times[shape] = (total + time.perf_counter() - began, count + 1)

                server_started = server_cpu_seconds(connection)
                cpu_started = time.process_time()
                started = time.perf_counter()
                with connection.execute_wrapper(timed) if args.sql else contextlib.nullcontext():
                    report = import_flux(path, organisation=departement, received_on=received_on, fmt="csv")
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                server_ended = server_cpu_seconds(connection)
                server = (
                    f", CPU PostgreSQL {server_ended - server_started:.1f} s"
                    if server_started is not None and server_ended is not None
                    else ""
                )
                for shape, (total, count) in sorted(sql_times.items(), key=lambda item: -item[1][0])[:15]:
                    print(f"    {total:6.2f} s {count:6d} × {shape}")
                if profiler:
                    profiler.disable()
                    import pstats

                    pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
                        35
                    )
                status = "REJETÉ : " + report.message if report.rejected else "ok"
                print(
                    f"- {label} : {elapsed:.1f} s (CPU Python {cpu:.1f} s{server}), {args.rows / elapsed:,.0f} lignes/s ; "
                    f"créés {report.created}, mis à jour {report.updated}, inchangés {report.unchanged}, "
                    f"nouveaux entrants {report.new_entrants} ; pic mémoire {peak_rss_mb():.0f} Mo ; "
                    f"{elapsed / raw[path]:.1f} × la copie brute ; {status}"
                )
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
