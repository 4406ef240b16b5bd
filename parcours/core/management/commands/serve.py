"""``parcours serve`` : sert l'application web et l'API (gunicorn ; ``--dev`` : serveur de Django).

Par défaut, serveur de production gunicorn : processus préforkés (2 × cœurs + 1, plafonnés), plusieurs fils
par processus (``gthread``), fichiers statiques servis par WhiteNoise après ``collectstatic`` (lancé ici
quand les fichiers ont changé), mesures partagées entre processus (``PROMETHEUS_MULTIPROC_DIR``, vidé au
démarrage). ``--dev`` : serveur de développement de Django, rechargé à chaque modification du code, en
mode débogage (``PARCOURS_DEBUG=1`` pour ce seul processus).
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def port_number(value):
    try:
        port = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"Port « {value} » invalide : un nombre entre 1 et 65535 est attendu."
        ) from exc
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"Port « {value} » invalide : un nombre entre 1 et 65535 est attendu."
        )
    return port


def positive(value):
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"« {value} » : un nombre entier positif est attendu.") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"« {value} » : un nombre entier positif est attendu.")
    return number


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))  # cœurs réellement attribués au processus (conteneur, taskset)
    except AttributeError:  # pragma: no cover - systèmes sans sched_getaffinity
        return os.cpu_count() or 1


def default_workers(cores=None, cap=None):
    """2 × cœurs + 1 processus (recommandation de gunicorn), plafonné (mémoire, connexions à la base)."""
    cores = cores or cpu_count()
    cap = cap or settings.PARCOURS_WEB_WORKERS_MAX
    return max(1, min(2 * cores + 1, cap))


def bind_address(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_command(host, port, workers, threads, timeout):
    """Ligne de commande de gunicorn (liste d'arguments), sans effet de bord."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "parcours.wsgi:application",
        "--bind",
        bind_address(host, port),
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "30",
        "--keep-alive",
        "5",
        "--no-control-socket",
        "--error-logfile",
        "-",
    ]
    shm = "/dev/shm"  # noqa: S108 - dossier réservé à gunicorn (battement de cœur des processus)
    if Path(shm).is_dir():  # en mémoire, pas sur disque (recommandation de gunicorn en conteneur)
        command += ["--worker-tmp-dir", shm]
    return command


def static_files_stale():
    """Vrai si ``collectstatic`` doit tourner : manifeste absent, plus ancien qu'un fichier source ou que le
    stockage des fichiers statiques lui-même."""
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return True
    collected_at = manifest.stat().st_mtime
    # Une collecte faite par une version antérieure du stockage (ex. CSS réécrites) est refaite.
    from parcours.core import staticfiles

    if Path(staticfiles.__file__).stat().st_mtime > collected_at:
        return True
    for finder in get_finders():
        for path, storage in finder.list([]):
            try:
                if os.stat(storage.path(path)).st_mtime > collected_at:
                    return True
            except (NotImplementedError, OSError):
                return True
    return False


def metrics_dir(port):
    """Dossier partagé des mesures des processus gunicorn, vidé à chaque démarrage."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(configured) if configured else Path(settings.DATA_DIR) / "metrics" / str(port)
    if path.exists():
        for entry in path.iterdir():
            if entry.is_file() and entry.suffix == ".db":
                entry.unlink()
            elif entry.is_dir():
                shutil.rmtree(entry)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Command(BaseCommand):
    help = (
        "Sert l'application web et l'API sur http://HOTE:PORT/ avec gunicorn (serveur de production : "
        "plusieurs processus, fichiers statiques compressés et mis en cache). --dev : serveur de "
        "développement de Django (rechargé à chaque modification, mode débogage)."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
        parser.add_argument("--port", type=port_number, default=8000, help="port d'écoute (défaut : 8000)")
        parser.add_argument(
            "--workers",
            type=positive,
            default=None,
            help="processus gunicorn (défaut : PARCOURS_WEB_WORKERS, sinon 2 × cœurs + 1, plafonné)",
        )
        parser.add_argument(
            "--threads",
            type=positive,
            default=None,
            help="fils par processus (défaut : PARCOURS_WEB_THREADS)",
        )
        parser.add_argument(
            "--dev",
            action="store_true",
            help="serveur de développement de Django : rechargé quand le code change, mode débogage",
        )
        parser.add_argument("--reload", action="store_true", dest="dev", help=argparse.SUPPRESS)
        parser.add_argument(
            "--no-collectstatic",
            action="store_false",
            dest="collectstatic",
            help="ne lance pas collectstatic (fichiers déjà collectés, par exemple dans l'image)",
        )
        parser.add_argument(
            "--print-command",
            action="store_true",
            help="affiche la commande gunicorn sans la lancer",
        )

    def handle(self, *args, **options):
        host = options["host"].strip()
        if not host:
            raise CommandError("--host : adresse vide.")
        if options["dev"]:
            return self.serve_dev(host, options["port"])
        workers = options["workers"] or settings.PARCOURS_WEB_WORKERS or default_workers()
        threads = options["threads"] or settings.PARCOURS_WEB_THREADS
        command = gunicorn_command(host, options["port"], workers, threads, settings.PARCOURS_WEB_TIMEOUT)
        if options["print_command"]:
            self.stdout.write(" ".join(command))
            return
        from parcours.intake.locks import recover_stale_batches

        recover_stale_batches()  # imports laissés « en cours » par un processus arrêté : échoués, fichiers supprimés
        if options["collectstatic"] and static_files_stale():
            self.stderr.write("Collecte des fichiers statiques (collectstatic)…")
            call_command("collectstatic", interactive=False, verbosity=0)
        env = dict(os.environ)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(options["port"]))
        self.stderr.write(
            f"Parcours sur http://{bind_address(host, options['port'])}/ (gunicorn, {workers} processus × "
            f"{threads} fils). Arrêt : Ctrl+C."
        )
        sys.stdout.flush()
        sys.stderr.flush()
        from django.db import connections

        connections.close_all()
        # gunicorn remplace ce processus (même numéro) : il reçoit directement les signaux d'arrêt.
        os.execve(command[0], command, env)  # noqa: S606 - arguments en liste, sans interpréteur

    def serve_dev(self, host, port):
        from parcours.intake.locks import recover_stale_batches

        # Le rechargeur relance la commande dans un processus fils, qui relit les réglages avec ce drapeau.
        os.environ["PARCOURS_DEBUG"] = "1"
        if os.environ.get("RUN_MAIN") == "true":
            recover_stale_batches()
        call_command(
            "runserver",
            bind_address(host, port),
            use_reloader=True,
            insecure_serving=True,
            use_ipv6=":" in host,
        )
