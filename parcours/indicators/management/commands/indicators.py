"""``parcours indicators --from AAAA-MM-JJ --to AAAA-MM-JJ [--territory CODE] [--format json|csv|xlsx]``."""

import importlib.util
import sys

from django.core.management.base import BaseCommand, CommandError

from parcours.accounts.models import Territory
from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.indicators import exports
from parcours.indicators.definitions import beneficiary_scope, check_period, compute_indicators


def _parquet_engine(directory):
    from pathlib import Path

    if importlib.util.find_spec("duckdb") is None:
        raise CommandError("--parquet : le paquet « duckdb » n'est pas installé.")
    if not (Path(directory) / "journal_event.parquet").is_file():
        raise CommandError(f"--parquet : « {directory} » ne contient pas d'export des indicateurs.")
    from parcours.indicators.engines import DuckDBEngine

    return DuckDBEngine(directory)


class Command(BaseCommand):
    help = (
        "Calcule les indicateurs de pilotage sur la période (nouveaux entrants par T0, orientation dans les "
        "15 jours, délais, parcours, contrats, sorties…). JSON : un objet dont les clés sont les "
        "identifiants des indicateurs ; un taux ou un délai sans population vaut null."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=parse_date, help="début (AAAA-MM-JJ)")
        parser.add_argument(
            "--to", dest="end", required=True, type=parse_date, help="fin incluse (AAAA-MM-JJ)"
        )
        parser.add_argument("--territory", default=None, help="code du territoire (défaut : tous)")
        parser.add_argument("--departement", default=None, help="code du Département (défaut : tous)")
        parser.add_argument(
            "--format", default="json", choices=("json", "csv", "xlsx"), help="format de sortie"
        )
        parser.add_argument("--output", default=None, help="fichier de sortie (défaut : sortie standard)")
        parser.add_argument(
            "--target-days", type=int, default=None, help="objectif d'orientation en jours (défaut : réglage)"
        )
        parser.add_argument(
            "--parquet",
            default=None,
            help="calcule avec DuckDB sur un export Parquet (dossier écrit par « parcours indicators-export ») "
            "au lieu de la base",
        )

    def handle(self, *args, **options):
        start, end = options["start"], options["end"]
        try:
            check_period(start, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["target_days"] is not None and options["target_days"] < 1:
            raise CommandError("--target-days : un nombre de jours supérieur ou égal à 1 est attendu.")
        departement = departement_from_code(options["departement"])
        territory = None
        label = departement.name if departement else "tous les Départements"
        if options["territory"]:
            territories = Territory.objects.filter(code__iexact=options["territory"])
            if departement is not None:
                territories = territories.filter(departement=departement)
            territories = list(territories[:2])
            if not territories:
                raise CommandError(f"Territoire « {options['territory']} » inconnu.")
            if len(territories) > 1:
                raise CommandError(f"Territoire « {options['territory']} » ambigu : précisez --departement.")
            territory = territories[0]
            label = territory.name
        scope = beneficiary_scope(departement=departement, territory=territory)
        engine = _parquet_engine(options["parquet"]) if options["parquet"] else None
        try:
            values = compute_indicators(scope, start, end, target_days=options["target_days"], engine=engine)
        finally:
            if engine is not None:
                engine.close()
        fmt = options["format"]
        if fmt == "xlsx":
            payload = exports.to_xlsx(values, start, end, label)
            if options["output"]:
                with open(options["output"], "wb") as handle:
                    handle.write(payload)
            elif sys.stdout.isatty():
                raise CommandError("Format xlsx : indiquez un fichier avec --output.")
            else:
                sys.stdout.buffer.write(payload)
                sys.stdout.flush()
            return
        text = exports.to_json(values) + "\n" if fmt == "json" else exports.to_csv(values, start, end, label)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text, ending="")
