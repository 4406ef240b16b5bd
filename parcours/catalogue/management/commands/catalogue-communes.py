from django.core.management.base import BaseCommand, CommandError

from parcours.catalogue.communes import load_communes
from parcours.catalogue.importers import ImportRejected
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Charge le référentiel des communes (code INSEE, centre, département, EPCI) utilisé pour les "
        "distances et les zones d'éligibilité du catalogue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="fichier JSON (test-communes.json ou export de l'API Découpage administratif)"
        )

    def handle(self, *args, **options):
        try:
            counts = load_communes(options["path"])
        except ImportRejected as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Communes : {plural(counts['created'], 'créée')}, "
            f"{plural(counts['updated'], 'mise à jour', 'mises à jour')}."
        )
