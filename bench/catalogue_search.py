"""Banc d'essai de la recherche du catalogue : latence p50/p95 par forme de requête.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours python bench/catalogue_search.py \
        [--services 100000] [--runs 50] [--seed 0]

Une base de test dédiée (``test_bench_catalogue`` sur PostgreSQL) est créée puis détruite : la base
désignée par DATABASE_URL n'est pas touchée. Le catalogue généré ressemble à un catalogue national :
2 000 communes réparties sur la métropole (plus les communes de référence data·inclusion), des services
groupés autour de ces communes avec une métropole lilloise dense (5 % des services à moins de 30 km de
Lille), 15 % de services à distance, 10 % de services localisés par leur seul code commune, des zones
d'éligibilité (département, commune, EPCI, France) et 1 à 3 thématiques par service.

Chaque forme de requête est exécutée ``--runs`` fois (après un passage d'échauffement) en appelant la
fonction de recherche des vues et de l'API (``parcours.catalogue.search.search``) : la latence mesurée
comprend la résolution de la commune, les requêtes SQL et le classement en Python de la première page.
Objectif : p95 < 50 ms pour commune + rayon + thématique.
"""

import argparse
import datetime
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")

LILLE = ("59350", 50.6311, 3.0468)
STRASBOURG = ("67482", 48.5691, 7.7621)
REFERENCE_COMMUNES = [
    ("59183", "Dunkerque", "59", "245900428", 51.0169, 2.3431),
    ("59295", "Hazebrouck", "59", "200040947", 50.7254, 2.5357),
    ("59350", "Lille", "59", "200093201", 50.6311, 3.0468),
    ("59392", "Maubeuge", "59", "200043396", 50.2834, 3.9611),
    ("59512", "Roubaix", "59", "200093201", 50.6887, 3.1843),
    ("75056", "Paris", "75", "200054781", 48.8589, 2.347),
    ("75111", "Paris 11e", "75", "200054781", 48.8601, 2.3816),
    ("67482", "Strasbourg", "67", "246700488", 48.5691, 7.7621),
]


def percentile(values, share):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def generate(n_services, rng):
    """Écrit les communes, ~n/20 structures et ``n_services`` services. Renvoie la liste des communes."""
    from data_inclusion.schema import v1

    from parcours.catalogue.models import Commune, Origin, Service, Structure

    communes = [
        Commune(code=c, nom=n, departement=d, epci=e, latitude=la, longitude=lo)
        for c, n, d, e, la, lo in REFERENCE_COMMUNES
    ]
    departements = [f"{d:02d}" for d in range(1, 96) if d != 20]
    for index in range(2000):
        dep = departements[index % len(departements)]
        communes.append(
            Commune(
                code=f"{dep}{900 + index // len(departements):03d}",
                nom=f"Commune générée {index}",
                departement=dep,
                epci=f"2{index // 20:08d}",
                latitude=rng.uniform(43.0, 50.9),
                longitude=rng.uniform(-1.5, 7.5),
            )
        )
    for commune in communes:
        commune.search_name = f" commune {commune.code} "
    Commune.objects.bulk_create(communes, batch_size=1000)

    leaves = [t.value for t in v1.Thematique]
    publics = [p.value for p in v1.Public]
    types = [t.value for t in v1.TypeService]
    today = datetime.date(2026, 11, 1)
    structures = []
    for index in range(max(1, n_services // 20)):
        commune = rng.choice(communes)
        structures.append(
            Structure(
                source="bench",
                di_id=f"bench--structure-{index}",
                origin=Origin.IMPORT,
                nom=f"Structure {index} de {commune.nom}",
                date_maj=today,
                code_insee=commune.code,
                commune=commune.nom,
            )
        )
    Structure.objects.bulk_create(structures, batch_size=2000)
    structures = list(Structure.objects.order_by("pk"))

    batch = []
    for index in range(n_services):
        structure = structures[index % len(structures)]
        roll = rng.random()
        if roll < 0.05:  # métropole lilloise dense
            commune = communes[2]
            radius_deg = 0.25
        else:
            commune = rng.choice(communes)
            radius_deg = 0.05
        mode = rng.random()
        service = Service(
            structure=structure,
            source="bench",
            di_id=f"bench--service-{index}",
            origin=Origin.IMPORT,
            nom=f"Service {index} : {rng.choice(['atelier', 'accompagnement', 'permanence', 'formation'])}",
            description="Service d'insertion généré pour le banc d'essai de la recherche du catalogue.",
            date_maj=today,
            type=rng.choice(types),
            thematiques=sorted(set(rng.sample(leaves, rng.randint(1, 3)))),
            publics=sorted(set(rng.sample(publics, rng.randint(1, 2)))),
            frais=rng.choice(["gratuit", "payant", ""]),
            quality_score=round(rng.random(), 2),
        )
        if mode < 0.15:
            service.modes_accueil = ["a-distance"]
        else:
            service.modes_accueil = ["en-presentiel"] + (["a-distance"] if mode > 0.9 else [])
            service.code_insee, service.commune = commune.code, commune.nom
            if mode >= 0.25:
                service.latitude = commune.latitude + rng.uniform(-radius_deg, radius_deg)
                service.longitude = commune.longitude + rng.uniform(-radius_deg, radius_deg) * 1.5
        zone = rng.random()
        if zone < 0.3:
            service.zone_eligibilite = [commune.departement]
        elif zone < 0.4:
            service.zone_eligibilite = [commune.code]
        elif zone < 0.45:
            service.zone_eligibilite = [commune.epci]
        elif zone < 0.5:
            service.zone_eligibilite = ["france"]
        service.refresh_derived()
        batch.append(service)
        if len(batch) == 5000:
            Service.objects.bulk_create(batch)
            batch = []
    if batch:
        Service.objects.bulk_create(batch)
    return communes


def shapes(communes, rng):
    """Formes de requête mesurées : (libellé, fonction qui renvoie les paramètres d'un passage)."""
    spread = [c.code for c in communes[8:]]

    def q(**values):
        return lambda: {k: (v() if callable(v) else v) for k, v in values.items()}

    def anywhere():
        return rng.choice(spread)

    leaf = "mobilite--preparer-un-permis"
    return [
        (
            "commune + rayon 20 km + thématique (Lille, dense)",
            q(commune=LILLE[0], rayon="20", thematiques=leaf),
        ),
        (
            "commune + rayon 20 km + thématique (commune au hasard)",
            q(commune=anywhere, rayon="20", thematiques=leaf),
        ),
        ("commune + rayon 50 km + catégorie (Lille)", q(commune=LILLE[0], rayon="50", thematiques="famille")),
        ("commune + rayon 20 km, sans filtre (Lille)", q(commune=LILLE[0], rayon="20")),
        (
            "commune + rayon + thématique + publics + frais (Lille)",
            q(commune=LILLE[0], rayon="30", thematiques="famille", publics="jeunes", frais="gratuit"),
        ),
        ("commune + rayon + texte libre (Lille)", q(commune=LILLE[0], rayon="20", q="atelier")),
        ("thématique seule (tout le catalogue)", q(thematiques=leaf)),
        ("texte libre seul (tout le catalogue)", q(q="permanence")),
        (
            "page 3 : commune + rayon + catégorie (Lille)",
            q(commune=LILLE[0], rayon="20", thematiques="famille", page="3"),
        ),
    ]


def profile(search, params):
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        profiler.enable()
        search(params)
        profiler.disable()
    for query in queries.captured_queries:
        print(f"[{query['time']} s] {query['sql'][:300]}")
        if connection.vendor == "postgresql" and query["sql"].startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + query["sql"])
                print("\n".join("    " + row[0] for row in cursor.fetchall()))
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=int, help="profil cProfile et requêtes SQL de la forme n° (1, 2…)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from parcours.catalogue.search import SearchParams, search

    old_name = connection.settings_dict["NAME"]
    # Nom propre au banc : ne jamais écraser la base de test d'une autre session (test_<nom>).
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        "test_bench_catalogue" if connection.vendor == "postgresql" else None
    )
    creation = connection.creation
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"Base : {connection.vendor} ({test_name})")
    rng = random.Random(args.seed)
    try:
        started = time.perf_counter()
        communes = generate(args.services, rng)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Comme l'autovacuum après un gros import : statistiques et liste d'attente des index GIN.
                cursor.execute("VACUUM ANALYZE")
        print(
            f"Catalogue généré : {args.services:,} services, {len(communes):,} communes "
            f"({time.perf_counter() - started:.1f} s)".replace(",", " ")
        )
        print(f"{'forme de requête':<58} {'p50':>8} {'p95':>8} {'max':>8}  résultats")
        failures = []
        for number, (label, make) in enumerate(shapes(communes, rng), start=1):
            timings, totals = [], []
            search(SearchParams.from_query(make()))  # échauffement
            if args.profile == number:
                profile(search, SearchParams.from_query(make()))
            for _ in range(args.runs):
                params = SearchParams.from_query(make())
                t0 = time.perf_counter()
                outcome = search(params)
                timings.append((time.perf_counter() - t0) * 1000)
                totals.append(outcome.total)
            p50, p95 = statistics.median(timings), percentile(timings, 0.95)
            print(
                f"{label:<58} {p50:7.1f}ms {p95:7.1f}ms {max(timings):7.1f}ms  ~{statistics.median(totals):.0f}"
            )
            if label.startswith("commune + rayon 20 km + thématique") and p95 >= 50:
                failures.append(label)
        if failures:
            print(f"OBJECTIF NON ATTEINT (p95 ≥ 50 ms) : {', '.join(failures)}")
        else:
            print("Objectif atteint : p95 < 50 ms pour commune + rayon + thématique.")
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
