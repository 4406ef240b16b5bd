import json

from django.core.management.base import BaseCommand, CommandError

from parcours.catalogue.importers import count_lines
from parcours.connectors.datainclusion import sync
from parcours.connectors.http import ConnectorError


class Command(BaseCommand):
    help = (
        "Synchronise le catalogue depuis l'API data·inclusion : lit toutes les pages des structures puis des "
        "services et les passe à l'import du catalogue (mise à jour sans doublon, désactivation de ce qui a "
        "disparu, rapport par page, rang, identifiant et champ). Jeton : PARCOURS_DI_API_TOKEN."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-deactivate",
            action="store_true",
            help="synchronisation partielle : ne pas désactiver ce qui est absent de l'API",
        )
        parser.add_argument("--json", action="store_true", help="affiche le rapport en JSON")

    def handle(self, *args, **options):
        try:
            report = sync(deactivate=not options["no_deactivate"])
        except ConnectorError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        pages = report.get("pages", {})
        self.stdout.write(
            f"Pages lues : {pages.get('structures', 0)} de structures, {pages.get('services', 0)} de services."
        )
        for line in count_lines(report):
            self.stdout.write(line)
        for item in report["errors"]:
            self.stdout.write(
                f"Erreur — {item.get('file')} rang {item.get('row')} — {item.get('id') or '?'} — "
                f"{item.get('field')} : {item.get('message')}"
            )
