import json
import sys

from django.core.management.base import BaseCommand, CommandError

from parcours.catalogue.importers import ImportRejected, count_lines, import_catalogue


class Command(BaseCommand):
    help = (
        "Importe un export data·inclusion (pages JSON de l'API, ou tableur modèle du valideur) dans le "
        "catalogue : met à jour, crée, désactive ce qui a disparu ; rapport ligne par ligne."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="fichiers JSON (pages) ou XLSX, ou un dossier")
        parser.add_argument("--format", choices=["auto", "json", "xlsx"], default="auto")
        parser.add_argument(
            "--source",
            help="identifiant du producteur pour un tableur (défaut : nom du fichier) ou un JSON sans « source »",
        )
        parser.add_argument(
            "--no-deactivate",
            action="store_true",
            help="import partiel : ne pas désactiver ce qui est absent des fichiers",
        )
        parser.add_argument(
            "--json", action="store_true", help="affiche le rapport en JSON, sans barre de progression"
        )

    def handle(self, *args, **options):
        progress = None
        if not options["json"] and sys.stdout.isatty():

            def progress(done, total):
                if total and (done == total or done % 200 == 0):
                    width = 30
                    filled = int(width * done / total)
                    sys.stdout.write(f"\rValidation [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
                    if done == total:
                        sys.stdout.write("\n")
                    sys.stdout.flush()

        try:
            report = import_catalogue(
                options["paths"],
                fmt=options["format"],
                source=options["source"],
                deactivate=not options["no_deactivate"],
                progress=progress,
            )
        except ImportRejected as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        for line in count_lines(report):
            self.stdout.write(line)
        for level, items in (("Erreur", report["errors"]), ("Avertissement", report["warnings"])):
            for item in items:
                where = item.get("sheet") or item.get("file") or ""
                self.stdout.write(
                    f"{level} — {where} ligne {item.get('row')} — {item.get('field')} : {item.get('message')}"
                )
