"""Banc de la page du délégué à la protection des données sur un long journal d'accès.

    python bench/audit_log.py [--database URL] [--entries 2000000] [--repeat 20]

Le journal grandit à chaque lecture de dossier et d'une entrée par personne à chaque export nominatif : des
millions d'entrées en quelques mois. Le banc ajoute ``--entries`` entrées au journal d'une base créée par
``parcours demo`` (une par seconde jusqu'à maintenant, 50 agents, les personnes de la base, le Département
du délégué), dans une transaction annulée à la fin (la base n'est pas modifiée), puis mesure
``/journal-acces/`` comme le délégué ``dpo@demo.parcours.fr`` : sans filtre, un jour choisi, un agent, un
dossier, une période ancienne, et la 2e page. PostgreSQL seulement (``generate_series``).

Pour chaque page : p50 et p95 (ms) sur ``--repeat`` passages après un passage d'échauffement, et le nombre
de requêtes SQL.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import measure_in_subprocess, percentile  # noqa: E402

DPO = "dpo@demo.parcours.fr"

FILL = """
INSERT INTO audit_accesslog (at, user_id, user_label, beneficiary_id, departement_id, action, view, path,
                             reason, ip, previous_hash, hash, scheme)
SELECT now() - make_interval(secs => %(n)s - g), NULL, 'agent' || (g %% 50) || '@demo.parcours.fr',
       %(first)s + g %% %(people)s, %(departement)s, 'read', 'beneficiary_detail', '/beneficiaires/', '',
       '127.0.0.1', md5(g::text) || md5((g + 1)::text), md5((-g)::text) || md5((g * 7)::text), 2
FROM generate_series(1, %(n)s) AS g
"""


def measure(entries, repeat):
    """(Sous-processus) remplit le journal, mesure chaque page ; écrit le résultat en JSON."""
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from parcours.accounts.models import User
    from parcours.beneficiaries.models import Beneficiary

    settings.DEBUG = False
    logging.getLogger("parcours.access").setLevel(logging.WARNING)
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    results = []
    with transaction.atomic():
        dpo = User.objects.get(email=DPO)
        people = Beneficiary.objects.order_by("pk")
        first = people.values_list("pk", flat=True).first()
        departement = people.values_list("departement_id", flat=True).first()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                FILL, {"n": entries, "first": first, "people": people.count(), "departement": departement}
            )
            cursor.execute("ANALYZE audit_accesslog")
        fill_s = time.perf_counter() - started
        today = timezone.localdate()
        day = (today - datetime.timedelta(days=3)).isoformat()
        old = (today - datetime.timedelta(days=max(entries // 86_400 - 2, 1))).isoformat()
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(dpo)
        first_page = client.get("/journal-acces/").content.decode()
        cursor = unquote(re.search(r"apres=([^\"&]+)", first_page).group(1))
        plan = [
            ("journal d'accès", {}),
            ("page suivante", {"apres": cursor}),
            ("un jour", {"du": day, "au": day}),
            ("période ancienne", {"au": old}),
            ("un agent", {"agent": "agent7@"}),
            ("un dossier", {"personne": str(first + 5)}),
        ]
        for label, query in plan:
            executed.clear()
            with connection.execute_wrapper(count):
                response = client.get("/journal-acces/", query)
            queries = len(executed)
            html = response.content.decode()
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get("/journal-acces/", query)
                timings.append(1000 * (time.perf_counter() - started))
            results.append(
                {
                    "page": label,
                    "status": response.status_code,
                    "shown": html.count('<tr><td class="parcours-nowrap">'),
                    "total": unescape(re.search(r"<strong>(.*?)</strong> entrée", html).group(1)),
                    "queries": queries,
                    "p50": statistics.median(timings),
                    "p95": percentile(timings, 0.95),
                }
            )
        transaction.set_rollback(True)
    print(json.dumps({"entries": entries, "fill_s": fill_s, "pages": results}))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="base à mesurer")
    parser.add_argument(
        "--entries", type=int, default=2_000_000, help="entrées ajoutées (défaut : 2 000 000)"
    )
    parser.add_argument("--repeat", type=int, default=20, help="passages mesurés par page (défaut : 20)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.entries, args.repeat)
        return
    if not args.database or not args.database.startswith("postgres"):
        raise SystemExit("Indiquez --database URL d'une base PostgreSQL construite par « parcours demo ».")
    result = measure_in_subprocess(
        __file__, args.database, ["--entries", str(args.entries), "--repeat", str(args.repeat)]
    )
    print(
        f"\nJournal de {result['entries']:_} entrées ajoutées en {result['fill_s']:.0f} s".replace("_", " ")
    )
    print(
        f"{'page':18} {'statut':>6} {'lignes':>7} {'total':>14} {'requêtes':>9} {'p50 ms':>8} {'p95 ms':>8}"
    )
    for row in result["pages"]:
        print(
            f"{row['page']:18} {row['status']:6} {row['shown']:7} {row['total']:>14} {row['queries']:9} "
            f"{row['p50']:8.1f} {row['p95']:8.1f}"
        )


if __name__ == "__main__":
    main()
