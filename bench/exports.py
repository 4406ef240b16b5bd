"""Banc des exports CSV nominatifs : chaque export qu'un agent télécharge, lu jusqu'au dernier octet par le
client de test de Django (DEBUG désactivé), sur une base créée par ``parcours demo`` (celles de
``bench/pages.py --build N``).

    python bench/exports.py [--database URL] [--repeat 3]

Pour chaque export : lignes et taille du fichier, délai avant le premier octet (la page écrit d'abord une
entrée du journal d'accès par personne exportée, puis envoie le fichier en flux), durée totale du
téléchargement (p50 sur ``--repeat`` passages après un passage d'échauffement) et pic de mémoire Python
pendant un passage (``tracemalloc``, passage à part : il ralentit la mesure). Un export en flux garde une
mémoire plate quelle que soit sa taille.

Les mesures tournent dans une transaction annulée à la fin : les entrées du journal d'accès écrites par les
exports disparaissent, la base n'est pas modifiée. Clés : celles de l'environnement, sinon ``BENCH_KEYS``.
"""

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import measure_in_subprocess  # noqa: E402

# (compte, libellé, chemin) ; {campaign} : la première campagne du stock (``pages.targets``).
EXPORTS = [
    ("orientation@demo.parcours.fr", "liste des personnes (Département)", "/beneficiaires/export.csv"),
    ("ft.redon@demo.parcours.fr", "liste des personnes (France Travail)", "/beneficiaires/export.csv"),
    ("orientation@demo.parcours.fr", "campagne (membres)", "/orientation/campagnes/{campaign}/export.csv"),
    ("ft.redon@demo.parcours.fr", "portefeuille (France Travail)", "/orientation/portefeuille/?format=csv"),
]


def measure(repeat):
    """(Sous-processus) mesure chaque export ; écrit le résultat en JSON sur la sortie standard."""
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.test import Client
    from pages import targets

    from parcours.accounts.models import User

    settings.DEBUG = False
    logging.getLogger("parcours.access").setLevel(logging.WARNING)

    def download(client, path):
        started = time.perf_counter()
        response = client.get(path)
        first = time.perf_counter()
        chunks = response.streaming_content if response.streaming else [response.content]
        size = lines = 0
        for chunk in chunks:  # lu au fil de l'eau comme un navigateur, sans garder le fichier en mémoire
            size += len(chunk)
            lines += chunk.count(b"\n")
        return (
            response.status_code,
            size,
            lines,
            1000 * (first - started),
            1000 * (time.perf_counter() - started),
        )

    results = []
    with transaction.atomic():
        values = targets()
        for email, label, path in EXPORTS:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(User.objects.get(email=email))
            path = path.format(**values)
            status, size, lines, _first, _total = download(client, path)  # échauffement
            firsts, totals = [], []
            for _ in range(repeat):
                _status, _size, _lines, first, total = download(client, path)
                firsts.append(first)
                totals.append(total)
            tracemalloc.start()
            download(client, path)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            results.append(
                {
                    "who": email,
                    "export": label,
                    "status": status,
                    "rows": max(lines - 1, 0),
                    "mb": size / 1e6,
                    "first_ms": statistics.median(firsts),
                    "total_ms": statistics.median(totals),
                    "peak_mb": peak / 1e6,
                }
            )
        transaction.set_rollback(True)
    print(json.dumps({"beneficiaries": values["beneficiaries"], "exports": results}))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="base à mesurer")
    parser.add_argument("--repeat", type=int, default=3, help="passages mesurés par export (défaut : 3)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.repeat)
        return
    if not args.database:
        raise SystemExit("Indiquez --database URL (une base construite par « parcours demo »).")
    result = measure_in_subprocess(__file__, args.database, ["--repeat", str(args.repeat)])
    print(f"\n{result['beneficiaries']:_} bénéficiaires".replace("_", " "))
    print(
        f"{'export':38} {'statut':>6} {'lignes':>8} {'Mo':>6} {'1er octet ms':>13} {'total ms':>9} "
        f"{'mémoire Mo':>11}"
    )
    for row in result["exports"]:
        print(
            f"{row['export']:38} {row['status']:6} {row['rows']:8} {row['mb']:6.1f} {row['first_ms']:13.0f} "
            f"{row['total_ms']:9.0f} {row['peak_mb']:11.1f}"
        )


if __name__ == "__main__":
    main()
