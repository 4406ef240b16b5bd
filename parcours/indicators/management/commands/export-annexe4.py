"""``parcours export-annexe4 --departement CODE --from AAAA-MM-JJ --to AAAA-MM-JJ --sortie FICHIER.csv``."""

import csv

from django.core.management.base import BaseCommand, CommandError

from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.core.csv_export import safe_cell
from parcours.core.text import plural
from parcours.indicators import annex4
from parcours.indicators.definitions import check_period


class Command(BaseCommand):
    help = (
        "Fichier de partage de données de l'annexe 4 (France Travail) : une ligne par nouvel entrant dont le "
        "T0 tombe dans la période, avec ses identifiants et les dates de son parcours. Données personnelles : "
        "chaque personne exportée est inscrite au journal d'accès."
    )

    def add_arguments(self, parser):
        parser.add_argument("--departement", required=True, help="code du Département (ex. 35)")
        parser.add_argument("--from", dest="start", required=True, type=parse_date, help="début (AAAA-MM-JJ)")
        parser.add_argument(
            "--to", dest="end", required=True, type=parse_date, help="fin incluse (AAAA-MM-JJ)"
        )
        parser.add_argument("--sortie", "--output", dest="output", required=True, help="fichier CSV à écrire")

    def handle(self, *args, **options):
        start, end = options["start"], options["end"]
        try:
            check_period(start, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        departement = departement_from_code(options["departement"])
        export = annex4.annex4_export(departement, start, end)
        count = 0
        try:
            with open(options["output"], "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle, delimiter=";")
                for row in export.rows():
                    writer.writerow([safe_cell(c) for c in row])
                    count += 1
        except OSError as exc:
            raise CommandError(f"Impossible d'écrire « {options['output']} » : {exc.strerror}.") from exc
        annex4.record_export(export, view="parcours export-annexe4", departement=departement)
        self.stdout.write(
            f"{plural(count - 1, 'ligne écrite', 'lignes écrites')} dans {options['output']} ; "
            f"{plural(len(export.person_ids), 'personne inscrite', 'personnes inscrites')} au journal d'accès."
        )
