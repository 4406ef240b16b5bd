import json

from django.core.management.base import BaseCommand, CommandError

from parcours.connectors.exchanges import ExchangeRejected, import_absences
from parcours.core.commands import departement_from_code
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Importe une liste d'absences aux rendez-vous renvoyée par un partenaire (CSV ou XLSX) : chaque ligne "
        "désigne la personne (NIR, identifiant Département ou France Travail, ou nom + prénom + date de "
        "naissance) et la date du rendez-vous. Une seule ligne invalide et rien n'est écrit ; réimporter le "
        "même fichier ne change rien."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="fichier CSV ou XLSX")
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument("--json", action="store_true", help="affiche le rapport en JSON")

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        try:
            report = import_absences(options["path"], departement)
        except ExchangeRejected as exc:
            if options["json"]:
                self.stdout.write(
                    json.dumps({"message": exc.message, "erreurs": exc.errors}, ensure_ascii=False)
                )
            else:
                for item in exc.errors:
                    self.stderr.write(item["message"])
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"{report['fichier']} : {plural(report['lignes'], 'ligne')}, "
            f"{plural(report['absences_saisies'], 'absence saisie', 'absences saisies')}, "
            f"{plural(report['inchangees'], 'déjà saisie', 'déjà saisies')}."
        )
