"""Banc du tableau de bord de pilotage sur une base déjà remplie (par exemple une copie de la base du banc de
charge, ``bench/load.py``), désignée par DATABASE_URL :

    createdb -T parcours_load parcours_copie      # jamais la base du banc elle-même : le banc y écrit
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_copie python bench/dashboard.py \\
        [--agent equipe0@banc.parcours.fr] [--repeat 20] [--refresh 500]

Affiche, pour ``/pilotage/`` (filtres par défaut), ``/pilotage/?territoire=…`` et la liste des personnes
derrière un chiffre (``/pilotage/personnes/``, première page et page 20) : p50, p95 et nombre de requêtes
SQL (client de test de Django, DEBUG désactivé). Puis vérifie que les chiffres lus dans la table de la
cohorte sont ceux calculés dans le journal (mêmes définitions), et mesure la mise à jour de la table après
``--refresh`` nouveaux événements (écrits puis effacés dans une transaction annulée).

La première lecture après la mise en service construit la table (toutes les personnes sont à recalculer) :
le banc la fait d'abord et affiche sa durée.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def time_page(client, url, repeat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), percentile(timings, 0.95), len(queries)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agent", default="equipe0@banc.parcours.fr")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--refresh", type=int, default=500, help="personnes touchées par de nouveaux événements"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.test import Client

    from parcours.accounts.models import Territory, User
    from parcours.beneficiaries.models import Beneficiary
    from parcours.indicators import cohort
    from parcours.indicators.definitions import beneficiary_scope, indicators_and_series
    from parcours.indicators.forms import default_period
    from parcours.journal.models import Event

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    people = Beneficiary.objects.count()
    print(f"Base : {people:_} bénéficiaires, {Event.objects.count():_} événements".replace("_", "\u202f"))
    started = time.perf_counter()
    count = cohort.refresh()
    print(
        f"Mise à jour de la table de la cohorte avant mesure : {count} personnes, {time.perf_counter() - started:.2f} s"
    )

    user = User.objects.get(email=args.agent)
    client = Client()
    client.force_login(user)
    territory = Territory.objects.order_by("pk").first()
    pages = [
        ("tableau de bord", "/pilotage/"),
        ("tableau de bord, un territoire", f"/pilotage/?territoire={territory.pk}"),
        ("personnes d'un chiffre, page 1", "/pilotage/personnes/?figure=orientes_15j"),
        ("personnes d'un chiffre, page 20", "/pilotage/personnes/?figure=non_orientes&page=20"),
    ]
    client.get(pages[0][1])  # première requête (connexion, caches)
    for label, url in pages:
        p50, p95, queries = time_page(client, url, args.repeat)
        print(f"- {label:32} p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  {queries} requêtes  ({url})")

    start, end = default_period()
    scope = beneficiary_scope(base=Beneficiary.objects.countable_by(user))
    started = time.perf_counter()
    from_journal = indicators_and_series(scope, start, end)
    journal_time = time.perf_counter() - started
    started = time.perf_counter()
    from_table = indicators_and_series(scope, start, end, table=True)
    table_time = time.perf_counter() - started
    verdict = "identiques" if from_journal == from_table else "DIFFÉRENTS !"
    print(
        f"Jeu complet d'indicateurs : journal {journal_time:.2f} s, table de la cohorte {table_time:.2f} s ; "
        f"chiffres {verdict}"
    )

    touched = list(Beneficiary.objects.order_by("?").values_list("pk", flat=True)[: args.refresh])
    with transaction.atomic():
        Event.objects.bulk_create(
            Event(beneficiary_id=pk, kind="referent_assigned", occurred_on=datetime.date.today(), payload={})
            for pk in touched
        )
        started = time.perf_counter()
        count = cohort.refresh()
        print(
            f"Mise à jour après de nouveaux événements : {count} personnes en {time.perf_counter() - started:.2f} s"
        )
        transaction.set_rollback(True)  # la base reste telle quelle


if __name__ == "__main__":
    main()
