"""``parcours serve`` : sert l'application web et l'API (serveur de développement de Django)."""

import argparse

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


class Command(BaseCommand):
    help = (
        "Sert l'application web et l'API sur http://HOTE:PORT/ (serveur de Django, fichiers statiques du DSFR "
        "compris). Pour une mise en production, utilisez un serveur WSGI (parcours.wsgi)."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
        parser.add_argument("--port", type=port_number, default=8000, help="port d'écoute (défaut : 8000)")
        parser.add_argument(
            "--reload", action="store_true", help="recharge le serveur quand le code change (développement)"
        )

    def handle(self, *args, **options):
        host = options["host"].strip()
        if not host:
            raise CommandError("--host : adresse vide.")
        from parcours.intake.locks import recover_stale_batches

        recover_stale_batches()  # imports laissés « en cours » par un processus arrêté : échoués, fichiers supprimés
        addrport = f"[{host}]:{options['port']}" if ":" in host else f"{host}:{options['port']}"
        call_command(
            "runserver",
            addrport,
            use_reloader=options["reload"],
            insecure_serving=True,
            use_ipv6=":" in host,
        )
