import json

from django.core.management.base import BaseCommand

from parcours.catalogue.prescriptions import process_due
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Tâche quotidienne des prescriptions : relance des structures sans réponse, expiration des demandes "
        "restées ouvertes, effacement des données transmises anciennes (délais : PARCOURS_CATALOGUE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="affiche le résultat en JSON")

    def handle(self, *args, **options):
        counts = process_due()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(
            f"Prescriptions : {plural(counts['reminded'], 'relancée')}, {plural(counts['expired'], 'expirée')}, "
            f"{plural(counts['anonymised'], 'anonymisée')}."
        )
