"""``parcours indicators-export DOSSIER`` : exporte en Parquet les tables lues par les indicateurs."""

import importlib.util
import json
import time

from django.core.management.base import BaseCommand, CommandError

from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Exporte en Parquet (un fichier par table) le journal des parcours et les tables lues par les "
        "indicateurs, pour les calculer avec DuckDB (« parcours indicators --parquet DOSSIER ») ou les "
        "consolider au niveau national."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="dossier de destination (créé s'il n'existe pas)")
        parser.add_argument("--json", action="store_true", help="affiche un résumé JSON")

    def handle(self, *args, **options):
        if importlib.util.find_spec("duckdb") is None:
            raise CommandError("Le paquet « duckdb » n'est pas installé : export Parquet impossible.")
        from parcours.indicators.engines import EXPORTED_MODELS, export_parquet

        started = time.perf_counter()
        try:
            directory = export_parquet(options["directory"])
        except OSError as exc:
            raise CommandError(f"Export impossible : {exc}") from exc
        tables = [m._meta.db_table for m in EXPORTED_MODELS]
        summary = {
            "directory": str(directory),
            "tables": tables,
            "seconds": round(time.perf_counter() - started, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            self.stdout.write(
                f"{plural(len(tables), 'table exportée', 'tables exportées')} dans {directory} ({summary['seconds']} s)."
            )
