"""``parcours run`` : le serveur web et le processus des tâches de fond ensemble (``make run``).

Deux processus fils, ``parcours serve`` et ``parcours jobs-worker`` : un Ctrl+C (ou SIGTERM) les arrête
tous deux proprement ; si l'un s'arrête de lui-même, l'autre est arrêté et la commande rend son code de
sortie. En production, préférer deux services distincts (Procfile, docs/exploitation.md).
"""

import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from .serve import port_number, positive

STOP_GRACE_SECONDS = 40  # au-delà, les processus encore là sont tués (gunicorn attend 30 s ses requêtes)


def child_commands(host, port, workers=None, dev=False):
    cli = [sys.executable, "-m", "parcours.cli"]
    serve = [*cli, "serve", "--host", host, "--port", str(port)]
    if workers:
        serve += ["--workers", str(workers)]
    if dev:
        serve.append("--dev")
    return {"web": serve, "worker": [*cli, "jobs-worker"]}


class Command(BaseCommand):
    help = (
        "Lance ensemble le serveur web (parcours serve) et le processus des tâches de fond "
        "(parcours jobs-worker). Ctrl+C arrête les deux."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
        parser.add_argument("--port", type=port_number, default=8000, help="port d'écoute (défaut : 8000)")
        parser.add_argument("--workers", type=positive, default=None, help="processus web (voir serve)")
        parser.add_argument("--dev", action="store_true", help="serveur de développement de Django")

    def handle(self, *args, **options):
        commands = child_commands(options["host"], options["port"], options["workers"], options["dev"])
        stopping = []

        def on_signal(signum, frame):
            stopping.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        children = {}
        try:
            for name, command in commands.items():
                # Groupe de processus propre : Ctrl+C au terminal n'atteint que ce processus, qui transmet
                # un seul signal d'arrêt à chacun.
                children[name] = subprocess.Popen(command, process_group=0)
            exit_code = 0
            while not stopping:
                ended = [(name, child) for name, child in children.items() if child.poll() is not None]
                if ended:
                    name, child = ended[0]
                    exit_code = child.returncode or 1
                    self.stderr.write(
                        f"Processus « {name} » arrêté (code {child.returncode}) : arrêt de tous."
                    )
                    break
                time.sleep(0.2)
            return self.stop(children, exit_code)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.kill()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self, children, exit_code):
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if exit_code:
            sys.exit(exit_code)
