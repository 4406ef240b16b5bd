"""Banc des pages des agents : chaque page de la journée d'un agent du territoire de démonstration, mesurée
par le client de test de Django (DEBUG désactivé), sur une base créée par ``parcours demo``.

    python bench/pages.py [--database URL] [--repeat 20]
    python bench/pages.py --build 1500 [--build 150000] [--rebuild] [--drop]
    python bench/pages.py --compare URL_PETITE URL_GRANDE   (ou des fichiers de --output FICHIER.json)

- ``--database URL`` : mesure une base déjà construite par ``parcours demo --beneficiaries N`` (défaut :
  ``DATABASE_URL``). Les mesures tournent dans une transaction annulée à la fin : la base n'est pas modifiée
  (sessions, jeton d'API et journal d'accès écrits pendant la mesure disparaissent).
- ``--build N`` (PostgreSQL local) : construit la base ``parcours_pages_N`` par ``parcours migrate`` puis
  ``parcours demo --beneficiaries N`` (gardée ensuite ; ``--rebuild`` la refait ; supprimée à la fin avec
  ``--drop``), puis la mesure. Deux ``--build`` : les deux bases, comparées côte à côte.
- ``--only LIBELLÉ[,LIBELLÉ…]`` : ne mesure que ces pages (libellés du tableau ``ROLES``, ex.
  ``--only "file à orienter,file rendez-vous"``) ; les autres sont sautées.
- ``--compare URL1 URL2`` : mesure les deux bases dans la même exécution et affiche côte à côte p50, p95, le
  nombre de requêtes SQL et le rapport des p95. Chacune peut aussi être un fichier écrit par
  ``--output FICHIER.json`` (mesure d'une base construite avec d'autres clés, ou d'une autre version du code).

Les clés (NIR, journal d'accès, clé secrète) sont celles de l'environnement, sinon les clés fixes du banc
(``BENCH_KEYS``, les mêmes que ``bench/load.py``) avec lesquelles ``--build`` construit ses bases.

Pour chaque page : p50 et p95 (ms) sur ``--repeat`` passages après un passage d'échauffement, et le nombre de
requêtes SQL (lu sur le passage d'échauffement). Le p95 est le 95e centile : en dessous de 21 passages, c'est le
plus lent (un seul passage retardé par la machine le fixe) ; les chiffres d'une note se mesurent avec
``--repeat 40`` (le 2e plus lent). Les cibles du ticket 15 sont vérifiées et affichées (sans échec) : p95 < 150 ms
(tableau de bord < 500 ms) ; en comparaison, p95 au plus 2 fois celui de la petite base et même nombre de
requêtes.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Clés fixes des bases jetables du banc, les mêmes que celles de bench/load.py (construction et mesure).
from load import BENCH_KEYS  # noqa: E402

TARGET_MS = 150
DASHBOARD_TARGET_MS = 500
DASHBOARDS = {"pilotage", "pilotage : tableaux"}

# Pages de la journée de chaque compte de démonstration : (libellé, chemin). Les {valeurs} viennent de
# ``targets()`` (personnes et termes de recherche choisis dans la base, les mêmes d'une exécution à l'autre).
ROLES = {
    "orientation@demo.parcours.fr": [
        ("accueil", "/"),
        ("accueil : périmètre", "/accueil/perimetre/"),
        ("liste des personnes", "/beneficiaires/"),
        ("recherche nom", "/beneficiaires/?q={name}"),
        ("recherche NIR", "/beneficiaires/?q={nir}"),
        ("recherche matricule", "/beneficiaires/?q={matricule}"),
        ("dossier", "/beneficiaires/{dossier}/"),
        ("files d'orientation", "/orientation/"),
        ("file à inviter", "/orientation/?file=a_inviter"),
        ("file invitations", "/orientation/?file=invitations"),
        ("file expirées", "/orientation/?file=expirees"),
        ("file rendez-vous", "/orientation/?file=rendez_vous"),
        ("file à orienter", "/orientation/?file=a_orienter"),
        ("volet orientation", "/orientation/beneficiaires/{to_orient}/"),
        ("catalogue", "/catalogue/?q=emploi"),
        ("convocations", "/orientation/convocations/"),
        ("campagnes", "/orientation/campagnes/"),
        ("campagne (membres)", "/orientation/campagnes/{campaign}/"),
        ("agenda des rendez-vous", "/rendez-vous/agenda/"),
    ],
    "direction@demo.parcours.fr": [
        ("pilotage", "/pilotage/"),
        ("pilotage : tableaux", "/pilotage/tableaux/"),
        ("comités", "/comites/"),
        ("cartographie de l'offre", "/catalogue/cartographie/"),
    ],
    "ft.redon@demo.parcours.fr": [
        ("accueil (FT)", "/"),
        ("accueil : périmètre (FT)", "/accueil/perimetre/"),
        ("portefeuille (FT)", "/orientation/portefeuille/"),
        ("liste (FT)", "/beneficiaires/"),
        ("recherche nom (FT)", "/beneficiaires/?q={name}"),
        ("dossier (FT)", "/beneficiaires/{ft_person}/"),
    ],
    "referent.redon@demo.parcours.fr": [
        ("portefeuille (Dép.)", "/orientation/portefeuille/"),
        ("liste (territoire)", "/beneficiaires/?q={name}"),
        ("revues à tenir", "/accompagnement/revues/"),
        ("contrats en retard", "/accompagnement/contrats/en-retard/"),
        ("procédures", "/accompagnement/procedures/"),
        ("vérifications 6 mois", "/accompagnement/sorties/verifications-6-mois/"),
        ("employeurs", "/employeurs/"),
        ("offres d'emploi", "/employeurs/offres/"),
    ],
}
API_PAGES = [("API personnes", "/api/v1/interop/personnes")]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --------------------------------------------------------------------------------------------------
# Mesure (sous-processus : les réglages de Django sont liés à une base)


def targets():
    """Personnes et termes de recherche (déterministes) : un nom de famille courant, le NIR et le matricule
    d'une personne du milieu de la table, un dossier dont la frise nomme un référent, une personne à orienter,
    une personne suivie par France Travail, la première campagne du stock (la plus grande de la démonstration)."""
    from django.db.models import Count, Exists, OuterRef

    from parcours.accounts.models import User
    from parcours.beneficiaries.models import Beneficiary, FollowUp
    from parcours.journal.kinds import EventKind
    from parcours.journal.models import Event
    from parcours.orientation.models import StockCampaign

    people = Beneficiary.objects.order_by("pk")
    count = people.count()
    if not count:
        raise SystemExit("Base sans bénéficiaire : construisez-la avec « parcours demo ».")
    middle = people.exclude(nir=None).select_related("household")[count // 2 if count > 1 else 0]
    name = (
        Beneficiary.objects.values("last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "last_name")
        .values_list("last_name", flat=True)
        .first()
    )
    ft = User.objects.get(email="ft.redon@demo.parcours.fr")
    ft_person = (
        FollowUp.objects.filter(referent=ft, ended_on__isnull=True)
        .order_by("beneficiary_id")
        .values_list("beneficiary_id", flat=True)
        .first()
    )
    followed = FollowUp.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True)
    to_orient = (
        Beneficiary.objects.filter(new_entrant_t0__isnull=False, rsa_state="2", is_sdd=True)
        .filter(~Exists(followed))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    campaign = StockCampaign.objects.order_by("pk").values_list("pk", flat=True).first()
    # Le dossier mesuré : au milieu des personnes dont la frise nomme un référent désigné (des noms cités, lus
    # par une requête de plus), pour comparer à chaque taille une frise du même genre.
    designated = (
        Event.objects.filter(kind=EventKind.REFERENT_ASSIGNED)
        .order_by("beneficiary_id")
        .values("beneficiary_id")
    )
    designated_count = designated.count()
    dossier = (
        designated.values_list("beneficiary_id", flat=True)[designated_count // 2]
        if designated_count
        else middle.pk
    )
    return {
        "campaign": campaign or 0,
        "name": name,
        "nir": middle.nir,
        "matricule": middle.household.matricule if middle.household_id else middle.nir,
        "dossier": dossier,
        "to_orient": to_orient or middle.pk,
        "ft_person": ft_person or middle.pk,
        "beneficiaries": count,
    }


def measure(repeat, only=None):
    """(Sous-processus) mesure chaque page ; écrit le résultat en JSON sur la sortie standard."""
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client

    from parcours.accounts.models import Organisation, OrganisationKind, User
    from parcours.core.warmup import prepare_process
    from parcours.interop.models import Scope
    from parcours.interop.services import issue_token

    settings.DEBUG = False
    logging.getLogger("parcours.access").setLevel(logging.WARNING)  # une ligne par requête, sinon
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    results = []
    with transaction.atomic():
        values = targets()
        departement = Organisation.objects.get(kind=OrganisationKind.DEPARTEMENT)
        _partner, token = issue_token(departement, "Banc des pages", [Scope.PEOPLE_READ])
        plan = []
        for email, pages in ROLES.items():
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(User.objects.get(email=email))
            plan += [(email, label, path.format(**values), client, {}) for label, path in pages]
        api = Client(HTTP_HOST="127.0.0.1")
        plan += [
            ("API", label, path, api, {"HTTP_AUTHORIZATION": f"Bearer {token}"}) for label, path in API_PAGES
        ]
        if only:
            plan = [step for step in plan if step[1] in only]
        # Comme un processus du serveur (parcours/wsgi.py) : intergiciels chargés et gabarits compilés avant la
        # première requête, puis gelés.
        for client in {id(step[3]): step[3] for step in plan}.values():
            client.handler.load_middleware()
        prepare_process()
        for who, label, path, client, headers in plan:
            executed.clear()
            with connection.execute_wrapper(count):
                response = client.get(path, **headers)
            queries = list(executed)
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path, **headers)
                timings.append(1000 * (time.perf_counter() - started))
            results.append(
                {
                    "who": who,
                    "page": label,
                    "path": path,
                    "status": response.status_code,
                    "queries": len(queries),
                    "p50": statistics.median(timings),
                    "p95": percentile(timings, 0.95),
                }
            )
        transaction.set_rollback(True)
    print(json.dumps({"beneficiaries": values["beneficiaries"], "pages": results}))


def load(source, repeat, only=None):
    """Résultats d'une base (URL) ou d'une mesure enregistrée (fichier .json de ``--output``)."""
    if source.endswith(".json") and Path(source).exists():
        result = json.loads(Path(source).read_text())
        if only:
            result["pages"] = [row for row in result["pages"] if row["page"] in only]
        return result
    return run_measure(source, repeat, only)


def run_measure(url, repeat, only=None):
    return measure_in_subprocess(
        __file__, url, ["--repeat", str(repeat)] + (["--only", ",".join(only)] if only else [])
    )


def measure_in_subprocess(script, url, arguments):
    """Lance ``script --measure …arguments`` sur la base ``url`` (réglages de développement, DEBUG désactivé)
    et renvoie le JSON écrit sur sa dernière ligne. Clés du banc, sauf celles données par l'environnement
    (une base construite avec d'autres clés). Partagé par les bancs des pages, des exports et du journal."""
    env = {
        **BENCH_KEYS,
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.development",
        "PARCOURS_DEBUG": "0",
    }
    output = subprocess.run(
        [sys.executable, str(script), "--measure", *arguments],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------
# Construction


def build(n, *, rebuild, base_url):
    """Base ``parcours_pages_N`` construite par ``parcours demo --beneficiaries N`` (gardée si elle existe)."""
    import psycopg

    name = f"parcours_pages_{n}"
    url = f"{base_url.rstrip('/')}/{name}"
    admin_url = f"{base_url.rstrip('/')}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if exists:
            print(f"Base {name} gardée (--rebuild pour la refaire)")
            return url
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **BENCH_KEYS,
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.development",
    }
    env.setdefault("PARCOURS_DATA_DIR", str(ROOT / "var" / "bench-pages"))
    parcours = str(ROOT / ".venv/bin/parcours")
    subprocess.run([parcours, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [parcours, "demo", "--beneficiaries", str(n), "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"Base {name} : parcours demo --beneficiaries {n} en {time.perf_counter() - started:.0f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        # VACUUM en plus d'ANALYZE : la construction réécrit beaucoup de lignes (lignes mortes, carte de
        # visibilité vide) ; sans nettoyage automatique sur le serveur du banc, les lectures par index seul
        # iraient lire la table. Une base en service est nettoyée par autovacuum.
        conn.execute("VACUUM ANALYZE")
    return url


def drop(url):
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------------
# Affichage


def _target(page, p95):
    limit = DASHBOARD_TARGET_MS if page in DASHBOARDS else TARGET_MS
    return "ok" if p95 < limit else f"> {limit} ms"


def print_one(result):
    print(f"\n{result['beneficiaries']:_} bénéficiaires".replace("_", " "))
    print(f"{'page':24} {'statut':>6} {'requêtes':>9} {'p50 ms':>8} {'p95 ms':>8}  cible")
    for row in result["pages"]:
        print(
            f"{row['page']:24} {row['status']:6} {row['queries']:9} {row['p50']:8.1f} {row['p95']:8.1f}  "
            f"{_target(row['page'], row['p95'])}"
        )


def print_compare(small, large):
    n1 = f"{small['beneficiaries']:_}".replace("_", " ")
    n2 = f"{large['beneficiaries']:_}".replace("_", " ")
    print(f"\nComparaison : {n1} contre {n2} bénéficiaires (mêmes pages, même exécution)")
    print(
        f"{'page':24} {'req.':>5} {'p50':>7} {'p95':>7} │ {'req.':>5} {'p50':>7} {'p95':>7} │ "
        f"{'×p95':>5}  cibles"
    )
    large_pages = {(r["who"], r["page"]): r for r in large["pages"]}
    missed = 0
    for a in small["pages"]:
        b = large_pages.get((a["who"], a["page"]))
        if b is None:
            continue
        ratio = b["p95"] / a["p95"] if a["p95"] else float("inf")
        notes = []
        target = _target(b["page"], b["p95"])
        if target != "ok":
            notes.append(f"p95 {target}")
        if ratio > 2:
            notes.append("> 2×")
        if a["queries"] != b["queries"]:
            notes.append(f"requêtes {a['queries']} → {b['queries']}")
        if a["status"] != 200 or b["status"] != 200:
            notes.append(f"statut {a['status']}/{b['status']}")
        missed += bool(notes)
        print(
            f"{a['page']:24} {a['queries']:5} {a['p50']:7.1f} {a['p95']:7.1f} │ {b['queries']:5} {b['p50']:7.1f} "
            f"{b['p95']:7.1f} │ {ratio:5.1f}  {'; '.join(notes) or 'ok'}"
        )
    print(
        f"\n{missed} page(s) hors cible (p95 < {TARGET_MS} ms, pilotage < {DASHBOARD_TARGET_MS} ms, ≤ 2×, mêmes requêtes)"
    )


def _labels(text):
    """Libellés de ``--only`` : séparés par des virgules, tous connus (sinon arrêt avec la liste)."""
    known = {label for pages in ROLES.values() for label, _path in pages} | {label for label, _ in API_PAGES}
    labels = {label.strip() for label in text.split(",") if label.strip()}
    unknown = sorted(labels - known)
    if unknown:
        raise SystemExit(f"Pages inconnues : {', '.join(unknown)}. Pages : {', '.join(sorted(known))}")
    return labels


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="base à mesurer")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar="URL",
        help="deux bases (ou mesures enregistrées par --output) côte à côte",
    )
    parser.add_argument("--output", metavar="FICHIER.json", help="enregistre la mesure (pour --compare)")
    parser.add_argument(
        "--build", type=int, action="append", metavar="N", help="construit et mesure la base de N personnes"
    )
    parser.add_argument(
        "--server", default="postgres://postgres@127.0.0.1:5432", help="serveur PostgreSQL de --build"
    )
    parser.add_argument("--rebuild", action="store_true", help="refait les bases de --build")
    parser.add_argument("--drop", action="store_true", help="supprime les bases de --build après la mesure")
    parser.add_argument("--repeat", type=int, default=20, help="passages mesurés par page (défaut : 20)")
    parser.add_argument(
        "--only",
        metavar="LIBELLÉ[,LIBELLÉ]",
        help="ne mesure que ces pages (libellés séparés par des virgules)",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = _labels(args.only) if args.only else None
    if args.measure:
        measure(args.repeat, only)
        return
    if args.build:
        urls = [build(n, rebuild=args.rebuild, base_url=args.server) for n in args.build]
    elif args.compare:
        urls = args.compare
    elif args.database:
        urls = [args.database]
    else:
        raise SystemExit("Indiquez --database URL, --compare URL1 URL2 ou --build N.")
    results = [load(url, args.repeat, only) for url in urls]
    if args.output:
        Path(args.output).write_text(json.dumps(results[0] if len(results) == 1 else results))
    for result in results:
        print_one(result)
    if len(results) == 2:
        print_compare(*sorted(results, key=lambda r: r["beneficiaries"]))
    if args.build and args.drop:
        for url in urls:
            drop(url)


if __name__ == "__main__":
    main()
