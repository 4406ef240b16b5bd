"""Banc de charge : N agents simultanés sur la base de 150 000 bénéficiaires, serveur de production contre
serveur de développement, dans la même exécution.

    python bench/load.py [--clients 50] [--seconds 60] [--beneficiaries 150000] [--servers prod,dev]
                         [--database postgres://postgres@127.0.0.1:5432/parcours_load] [--rebuild]

Borné et local : le banc ne parle qu'à 127.0.0.1 et s'arrête après ``--seconds`` par serveur.

1. La base (PostgreSQL, ``--database``) est créée et remplie une fois (``bench/indicators.py`` : N
   bénéficiaires d'un Département, ~10 événements chacun, droits, suivis, contrats, sorties), puis gardée
   pour les exécutions suivantes (``--rebuild`` la refait). Le banc y ajoute les agents : 10 de l'équipe
   d'orientation du Département, 40 référents de France Travail à qui les suivis en cours sont répartis.
2. Pour chaque serveur, ``parcours serve`` (gunicorn, réglages de production) ou ``parcours serve --dev``
   (serveur de Django) démarre sur un port libre ; chaque agent a sa session (créée en base, comme après
   une connexion) et enchaîne pendant ``--seconds`` les pages de sa journée : accueil, liste et recherche,
   dossier d'une personne, files d'orientation, portefeuille, tableau de bord de pilotage, catalogue.
3. Le banc affiche, par page : nombre de requêtes, erreurs, p50/p95/p99 ; et pour le serveur : débit,
   temps CPU consommé par requête (processus du serveur et de ses enfants, lu dans /proc).
"""

import argparse
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BENCH_KEYS = {
    # Clés fixes du banc (base jetable) : les mêmes pour la construction et pour les serveurs.
    "PARCOURS_SECRET_KEY": "banc-de-charge-" + "k" * 60,
    "PARCOURS_NIR_KEY": "ab" * 64,
    "PARCOURS_AUDIT_KEY": "cd" * 32,
}
TEAM_AGENTS = 10
REFERENTS = 40


def clock_ticks():
    return os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root_pid):
    """Temps CPU (s) du processus et de tous ses descendants encore vivants (utime + stime)."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0) for pid in tree) / clock_ticks()


def postgres_pid():
    """Le processus principal de PostgreSQL local (ses enfants servent les connexions), ou None."""
    for pid_file in Path("/var/run/postgresql").glob("*.pid"):
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return None


def database_connections(url):
    """Connexions ouvertes sur la base du banc (hors celle de cette mesure)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------------
# Base du banc


def ensure_database(url, n, rebuild, env):
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([str(ROOT / ".venv/bin/parcours"), "migrate", "--noinput", "-v", "0"], env=env, check=True)
    with psycopg.connect(url) as conn:
        count = conn.execute("SELECT count(*) FROM beneficiaries_beneficiary").fetchone()[0]
    if count >= n:
        print(
            f"Base : {name}, {count:_} bénéficiaires (gardée ; --rebuild pour la refaire)".replace("_", " ")
        )
        return
    if count:
        raise SystemExit(f"La base {name} contient {count} bénéficiaires (< {n}) : relancez avec --rebuild.")
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--populate", str(n)], env=env, check=True)
    print(f"Base : {name} remplie en {time.perf_counter() - started:.0f} s")


def populate(n):
    """(Sous-processus, réglages chargés sur la base du banc) données, séquences et agents."""
    import django

    django.setup()
    import indicators
    from django.db import connection, transaction

    from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User

    with transaction.atomic():
        departement, _, events = indicators.generate(n, seed=0)
        with connection.cursor() as cursor:
            # Les lignes écrites par COPY portent leurs identifiants : séquences recalées ensuite.
            for table in (
                "beneficiaries_beneficiary",
                "beneficiaries_household",
                "beneficiaries_rsaright",
                "beneficiaries_followup",
                "journal_event",
                "accompaniment_contract",
                "accompaniment_exit",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        partner = Organisation.objects.get(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement)
        agents = []
        for i in range(TEAM_AGENTS):
            user = User.objects.create_user(
                f"equipe{i}@banc.parcours.fr", first_name="Équipe", last_name=str(i)
            )
            Membership.objects.create(
                user=user, organisation=departement, role=Role.ORIENTATION_MANAGER if i else Role.ADMIN
            )
            agents.append(user)
        referents = []
        for i in range(REFERENTS):
            user = User.objects.create_user(
                f"referent{i}@banc.parcours.fr", first_name="Référent", last_name=str(i)
            )
            Membership.objects.create(user=user, organisation=partner, role=Role.REFERENT)
            referents.append(user.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE beneficiaries_followup SET referent_id = (%s::bigint[])[1 + (id %% %s)] "
                "WHERE organisation_id = %s",
                [referents, REFERENTS, partner.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  {n:_} bénéficiaires, {events:_} événements, {TEAM_AGENTS + REFERENTS} agents".replace("_", " "))


def sessions_and_targets():
    """(Sous-processus) une session par agent et, pour chacun, des personnes de son périmètre."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from parcours.accounts.models import User
    from parcours.beneficiaries.models import Beneficiary, FollowUp

    rng = random.Random(1)
    all_ids = list(Beneficiary.objects.values_list("pk", flat=True)[:20000])
    lines = []
    for user in User.objects.filter(email__endswith="@banc.parcours.fr").order_by("pk"):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        if user.email.startswith("referent"):
            people = list(
                FollowUp.objects.filter(referent=user, ended_on__isnull=True).values_list(
                    "beneficiary_id", flat=True
                )[:50]
            )
            role = "referent"
        else:
            people = rng.sample(all_ids, 50)
            role = "equipe"
        lines.append(f"{role} {store.session_key} {','.join(map(str, people))}")
    print("\n".join(lines))


# --------------------------------------------------------------------------------------------------
# Charge

PAGES = {
    "equipe": [
        ("accueil", "/", 2),
        ("files d'orientation", "/orientation/", 3),
        ("liste des personnes", "/beneficiaires/", 2),
        ("recherche (matricule)", "/beneficiaires/?q={matricule}", 3),
        ("dossier", "/beneficiaires/{person}/", 5),
        ("panneau d'orientation", "/orientation/beneficiaires/{person}/", 3),
        ("pilotage", "/pilotage/", 1),
    ],
    "referent": [
        ("accueil", "/", 2),
        ("portefeuille", "/orientation/portefeuille/", 3),
        ("liste des personnes", "/beneficiaires/", 2),
        ("recherche (matricule)", "/beneficiaires/?q={matricule}", 2),
        ("dossier", "/beneficiaires/{person}/", 6),
        ("catalogue", "/catalogue/", 1),
    ],
}


class Agent(threading.Thread):
    def __init__(self, port, role, session, people, deadline, results, seed):
        super().__init__(daemon=True)
        self.port, self.role, self.session, self.people = port, role, session, people
        self.deadline, self.results, self.rng = deadline, results, random.Random(seed)
        self.cookies = {"sessionid": session}
        pages = PAGES[role]
        self.choices = [p for p in pages for _ in range(p[2])]

    def request(self, path):
        conn = self.conn
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(
            "GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
        )
        response = conn.getresponse()
        response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                match = re.match(r"([^=]+)=([^;]*)", value)
                if match and match.group(1) in ("sessionid", "csrftoken"):
                    self.cookies[match.group(1)] = match.group(2)
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return response.status

    def run(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while time.monotonic() < self.deadline:
            label, template, _ = self.rng.choice(self.choices)
            person = self.rng.choice(self.people) if self.people else 1
            # Matricule d'un foyer du banc (bench/indicators.py : 9 000 000 + rang) ; les noms du banc portent un
            # numéro et ne servent pas à la recherche par nom (les vrais noms n'ont pas de chiffre).
            path = template.format(person=person, matricule=9_000_000 + self.rng.randrange(150_000))
            started = time.perf_counter()
            try:
                status = self.request(path)
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__}"
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.results.append((label, status, time.perf_counter() - started))
        self.conn.close()


def wait_ready(port, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Le serveur s'est arrêté (code {process.returncode}).")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("Le serveur n'a pas répondu à temps.")


def percentile(values, share):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_load(kind, env, agents, clients, seconds):
    port = free_port()
    command = [str(ROOT / ".venv/bin/parcours"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server_env = dict(env)
    if kind == "dev":
        command.append("--dev")
        server_env["DJANGO_SETTINGS_MODULE"] = "parcours.settings.development"
    else:
        server_env["DJANGO_SETTINGS_MODULE"] = "parcours.settings.production"
        server_env["PARCOURS_SSL_REDIRECT"] = "0"
    log_path = Path(env["PARCOURS_DATA_DIR"]) / f"serveur-{kind}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    server = subprocess.Popen(
        command, env=server_env, stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True
    )
    try:
        wait_ready(port, server)
        # Échauffement : une requête par agent (chargement des modules, connexions).
        warm = []
        deadline = time.monotonic() + 2
        threads = [
            Agent(port, role, session, people, deadline, warm, i)
            for i, (role, session, people) in enumerate(agents[:clients])
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = []
        cpu_before = process_tree_cpu(server.pid)
        pg = postgres_pid()
        pg_before = process_tree_cpu(pg) if pg else 0.0
        client_before = time.process_time()
        started = time.monotonic()
        deadline = started + seconds
        threads = [
            Agent(port, role, session, people, deadline, results, 100 + i)
            for i, (role, session, people) in enumerate((agents * (clients // len(agents) + 1))[:clients])
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        cpu = process_tree_cpu(server.pid) - cpu_before
        connections = database_connections(env["DATABASE_URL"])
        pg_cpu = (process_tree_cpu(pg) - pg_before) if pg else 0.0
        client_cpu = time.process_time() - client_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log_file.close()
        stderr = log_path.read_bytes()
        print(f"Journal du serveur : {log_path}")
    print_connections = f"connexions à la base ouvertes par le serveur à la fin : {connections}"
    return report(kind, results, elapsed, cpu, pg_cpu, client_cpu, stderr, print_connections)


def report(kind, results, elapsed, cpu, pg_cpu, client_cpu, stderr, extra=""):
    label = {"prod": "production (gunicorn)", "dev": "développement (serveur de Django)"}[kind]
    errors = [r for r in results if not isinstance(r[1], int) or r[1] >= 400]
    print(f"\n== Serveur de {label}")
    print(
        f"{len(results)} requêtes en {elapsed:.0f} s ({len(results) / elapsed:.1f}/s), {len(errors)} erreurs ; "
        f"CPU du serveur {cpu:.1f} s soit {1000 * cpu / max(1, len(results)):.1f} ms par requête "
        f"; PostgreSQL {pg_cpu:.1f} s soit {1000 * pg_cpu / max(1, len(results)):.1f} ms par requête "
        f"(toute l'instance) ; client {client_cpu:.1f} s"
    )
    if extra:
        print(extra)
    by_page = {}
    for page, status, latency in results:
        by_page.setdefault(page, []).append((status, latency))
    print(f"{'page':28} {'requêtes':>9} {'erreurs':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for page, rows in sorted(by_page.items()):
        latencies = [1000 * lat for _, lat in rows]
        failed = sum(1 for s, _ in rows if not isinstance(s, int) or s >= 400)
        print(
            f"{page:28} {len(rows):9} {failed:8} {statistics.median(latencies):8.0f} "
            f"{percentile(latencies, 0.95):8.0f} {percentile(latencies, 0.99):8.0f}"
        )
    if errors:
        kinds = {}
        for page, status, _ in errors:
            kinds[(page, status)] = kinds.get((page, status), 0) + 1
        print("Erreurs :", ", ".join(f"{p} → {s} ×{c}" for (p, s), c in sorted(kinds.items(), key=str)))
        tail = stderr.decode(errors="replace").strip().splitlines()[-15:]
        if tail:
            print("Fin du journal du serveur :\n  " + "\n  ".join(tail))
    return {"requests": len(results), "errors": len(errors), "cpu_ms": 1000 * cpu / max(1, len(results))}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--beneficiaries", type=int, default=150_000)
    parser.add_argument("--servers", default="prod,dev")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/parcours_load")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--populate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sessions", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate:
        return populate(args.populate)
    if args.sessions:
        return sessions_and_targets()
    if urlparse(args.database).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("Banc local uniquement : --database doit désigner 127.0.0.1.")
    env = {
        **os.environ,
        **BENCH_KEYS,
        "DATABASE_URL": args.database,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.development",
        "PARCOURS_DATA_DIR": str(ROOT / "var" / "bench-load"),
    }
    ensure_database(args.database, args.beneficiaries, args.rebuild, env)
    output = subprocess.run(
        [sys.executable, __file__, "--sessions"], env=env, check=True, capture_output=True, text=True
    ).stdout
    agents = []
    for line in output.strip().splitlines():
        role, session, people = line.split(" ")
        agents.append((role, session, [int(p) for p in people.split(",") if p]))
    print(
        f"Agents : {len(agents)} sessions ; {args.clients} clients simultanés pendant {args.seconds} s par serveur"
    )
    summary = {}
    for kind in [k.strip() for k in args.servers.split(",") if k.strip()]:
        summary[kind] = run_load(kind, env, agents, args.clients, args.seconds)
    if len(summary) > 1:
        print("\n== Comparaison")
        for kind, figures in summary.items():
            print(
                f"{kind:5} {figures['requests']:6} requêtes, {figures['errors']} erreurs, {figures['cpu_ms']:.1f} ms CPU/requête"
            )


if __name__ == "__main__":
    main()
