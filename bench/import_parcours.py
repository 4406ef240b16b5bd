"""Banc d'essai de l'import des événements du parcours, sur la base désignée par DATABASE_URL.

    python bench/import_parcours.py [--people 150000] [--events 150000] [--seed 0] [--profile] [--sql]

Sur une base vide (créée puis détruite ; pour SQLite, un fichier temporaire et non la mémoire) :
1. mise en place : un Département, 25 organisations et 2 500 référents, ``--people`` personnes et leurs foyers
   créés par insertions groupées (comme après un premier flux), puis un fichier canonique de ``--events``
   événements (60 % d'orientations, 28 % de référents, 8 % de contrats, 4 % de fins de suivi), personnes
   reconnues par le NIR (80 %) ou par le foyer (20 %) ;
2. premier import : durées de lecture et vérification, rapprochement (personnes, organisations, référents,
   idempotence), application (les fonctions de service des pages, une transaction) ;
3. ré-import du même fichier : tout est inchangé.
"""

import argparse
import contextlib
import datetime
import os
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")

HEADER = [
    "nir",
    "organisme",
    "matricule",
    "role",
    "evenement",
    "date",
    "parcours",
    "structure",
    "referent",
    "type_contrat",
    "source",
    "reference",
]
ORGANISATIONS = 25
REFERENTS_PER_ORGANISATION = 100
START = datetime.date(2024, 1, 8)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_nir(index):
    from parcours.beneficiaries.nir import compute_key

    commune, order = divmod(index, 999)
    body = f"{1 + index % 2}{80 + index % 20:02d}{1 + index % 12:02d}35{commune + 1:03d}{order + 1:03d}"
    return f"{body}{compute_key(body):02d}"


def setup_people(n_people):
    """Département, organisations, référents ; ``n_people`` foyers (un demandeur chacun), en insertions groupées."""
    from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User
    from parcours.beneficiaries.models import Beneficiary, Household

    departement = Organisation.objects.create(
        kind=OrganisationKind.DEPARTEMENT, name="Département d'Ille-et-Vilaine", departement_code="35"
    )
    kinds = [OrganisationKind.FRANCE_TRAVAIL, OrganisationKind.MISSION_LOCALE, OrganisationKind.CCAS]
    organisations = [departement]
    for index in range(ORGANISATIONS - 1):
        organisations.append(
            Organisation.objects.create(
                kind=kinds[index % len(kinds)],
                name=f"Organisation {index + 1}",
                siret=f"{13002526500000 + index:014d}",
                code=f"ORG{index + 1:02d}",
                departement=departement,
            )
        )
    users, memberships = [], []
    for org_index in range(len(organisations)):
        for n in range(REFERENTS_PER_ORGANISATION):
            email = f"referent{n}@org{org_index}.fr"
            users.append(User(email=email, username=email, first_name="Réf", last_name=f"N{n}"))
    User.objects.bulk_create(users, batch_size=2000)
    by_email = dict(User.objects.values_list("email", "pk"))
    for org_index, org in enumerate(organisations):
        for n in range(REFERENTS_PER_ORGANISATION):
            memberships.append(
                Membership(
                    user_id=by_email[f"referent{n}@org{org_index}.fr"], organisation=org, role=Role.REFERENT
                )
            )
    Membership.objects.bulk_create(memberships, batch_size=2000)

    batch = 5000
    for start in range(0, n_people, batch):
        stop = min(start + batch, n_people)
        households = Household.objects.bulk_create(
            [
                Household(departement=departement, organism="CAF", matricule=f"{5_000_000 + i}")
                for i in range(start, stop)
            ]
        )
        if households[0].pk is None:  # SQLite ancien : relire les identifiants
            households = list(
                Household.objects.filter(
                    matricule__in=[f"{5_000_000 + i}" for i in range(start, stop)]
                ).order_by("pk")
            )
        Beneficiary.objects.bulk_create(
            [
                Beneficiary(
                    departement=departement,
                    household=household,
                    role="DEM",
                    last_name=f"Nom{i}",
                    first_name=f"Prénom{i}",
                    birth_date=datetime.date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
                    nir=make_nir(i),
                    rsa_state="2",
                    is_sdd=True,
                    new_entrant_t0=START - datetime.timedelta(days=i % 30),
                    last_flux_on=START,
                )
                for i, household in zip(range(start, stop), households, strict=True)
            ]
        )
    return departement, organisations


def write_events(path, n_people, n_events, organisations, seed):
    """Fichier canonique : par personne, orientation puis (selon sa place) référent, contrat ou fin de suivi."""
    import csv

    rng = random.Random(seed)
    pathways = ["emploi", "socio_professionnel", "social"]
    contract_kinds = ["cer", "ppae", "contrat_engagement"]
    n_orientations = min(n_people, int(n_events * 0.60))
    n_referents = min(n_orientations, int(n_events * 0.28))
    n_contracts = min(n_referents, int(n_events * 0.08))
    n_ends = n_events - n_orientations - n_referents - n_contracts
    rows = []
    for i in range(n_orientations):
        org_index = 1 + i % (len(organisations) - 1)
        org = organisations[org_index]
        structure = org.siret if i % 3 == 0 else (org.code if i % 3 == 1 else org.name)
        on = START + datetime.timedelta(days=rng.randint(0, 500))
        key = (make_nir(i), "", "", "") if i % 5 else ("", "CAF", f"{5_000_000 + i}", "DEM")
        rows.append(
            [
                *key,
                "orientation",
                on.strftime("%d/%m/%Y"),
                pathways[i % 3],
                structure,
                "",
                "",
                "WEBRSA",
                f"O{i}",
            ]
        )
        if i < n_referents:
            on = on + datetime.timedelta(days=rng.randint(1, 20))
            email = f"referent{rng.randrange(REFERENTS_PER_ORGANISATION)}@org{org_index}.fr"
            rows.append([*key, "referent", on.isoformat(), "", org.code, email, "", "WEBRSA", f"R{i}"])
            if i < n_contracts:
                on = on + datetime.timedelta(days=rng.randint(1, 30))
                rows.append(
                    [*key, "contrat", on.isoformat(), "", "", "", contract_kinds[i % 3], "WEBRSA", f"C{i}"]
                )
        elif i < n_referents + n_ends:
            on = on + datetime.timedelta(days=rng.randint(30, 200))
            rows.append([*key, "fin_suivi", on.isoformat(), "", "", "", "", "", ""])
    rng.shuffle(rows)  # l'import trie par date : l'ordre du fichier ne doit pas compter
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=150_000)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="profil cProfile du premier import")
    parser.add_argument(
        "--sql", action="store_true", help="temps cumulé par forme de requête SQL (15 premières)"
    )
    parser.add_argument("--no-rerun", action="store_true", help="sans le ré-import du même fichier")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="vérification seule (lecture, rapprochement, idempotence) : mesure ces étapes à grande échelle",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # Comme en production (PARCOURS_DEBUG=0) : sans le journal des requêtes SQL que Django tient en mode DEBUG.
    settings.DEBUG = False

    from parcours.pathway.imports import import_pathway

    tmp = tempfile.TemporaryDirectory()
    # Base du banc à part (jamais « test_<base> », que les suites de tests en cours utilisent) ; pour SQLite, un
    # fichier temporaire plutôt que la mémoire, pour mesurer de vraies écritures.
    if connection.vendor == "sqlite":
        bench_name = str(Path(tmp.name) / "bench.sqlite3")
    else:
        bench_name = f"bench_import_parcours_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_name
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"Base : {connection.vendor} ({test_name})")
    try:
        started = time.perf_counter()
        departement, organisations = setup_people(args.people)
        setup_people_s = time.perf_counter() - started
        path = Path(tmp.name) / "parcours.csv"
        started = time.perf_counter()
        n_rows = write_events(path, args.people, args.events, organisations, args.seed)
        print(
            f"Mise en place : {args.people:,} personnes et foyers, {len(organisations)} organisations, "
            f"{len(organisations) * REFERENTS_PER_ORGANISATION:,} référents en {setup_people_s:.1f} s ; fichier de "
            f"{n_rows:,} événements ({path.stat().st_size / 1e6:.1f} Mo) en {time.perf_counter() - started:.1f} s"
        )
        steps = [("vérification seule" if args.dry_run else "premier import", True)]
        if not (args.no_rerun or args.dry_run):
            steps.append(("ré-import du même fichier", False))
        for label, first in steps:
            sql_times = {}

            def timed(execute, sql, params, many, context, sql_times=sql_times):
                began = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    shape = re.sub(r"\(%s(, %s)*\)|\d+", "?", sql)[:150]
                    total, count = sql_times.get(shape, (0.0, 0))
                    sql_times[shape] = (total + time.perf_counter() - began, count + 1)

            profiler = None
            if args.profile and first:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            cpu = time.process_time()
            started = time.perf_counter()
            with connection.execute_wrapper(timed) if args.sql else contextlib.nullcontext():
                report = import_pathway(path, departement=departement, fmt="csv", dry_run=args.dry_run)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            if profiler:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            if sql_times:
                queries = sum(count for _, count in sql_times.values())
                print(f"    {queries:,} requêtes SQL, {sum(t for t, _ in sql_times.values()):.1f} s")
            for shape, (total, count) in sorted(sql_times.items(), key=lambda item: -item[1][1])[:40]:
                print(f"    {total:7.2f} s {count:8d} × {shape}")
            t = report.timings
            status = "REJETÉ : " + report.message if report.rejected else "ok"
            print(
                f"- {label} : {elapsed:.1f} s (CPU Python {cpu:.1f} s) — lecture et vérification "
                f"{t.get('read', 0):.1f} s, rapprochement {t.get('resolve', 0):.1f} s, application "
                f"{t.get('apply', 0):.1f} s"
                + (
                    f" ({report.created / t['apply']:,.0f} événements/s)"
                    if report.created and t.get("apply")
                    else ""
                )
                + " ; "
                f"enregistrés {report.created:,}, inchangés {report.unchanged:,}, erreurs {report.error_count}, "
                f"avertissements {len(report.warnings) + report.warnings_omitted} ; pic mémoire "
                f"{peak_rss_mb():.0f} Mo ; {status}"
            )
            if report.errors:
                for issue in report.errors[:5]:
                    print(f"    {issue}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


if __name__ == "__main__":
    main()
