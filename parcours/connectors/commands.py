"""Ce que partagent les commandes de synchronisation des connecteurs (``connector-*``) : mêmes options
(Département, depuis une date ou tout relire, rapport JSON) et même traitement des erreurs du partenaire."""

import json

from django.core.management.base import BaseCommand, CommandError

from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date

from .http import ConnectorError


class SyncCommand(BaseCommand):
    """``sync(departement, since=, full=)`` renvoie un rapport (dict) ; ``write_report(report)`` l'écrit en
    français quand ``--json`` n'est pas demandé."""

    since_help = "éléments modifiés depuis cette date (AAAA-MM-JJ) ; défaut : veille de la dernière exécution"

    def sync(self, departement, *, since, full):  # pragma: no cover - interface
        raise NotImplementedError

    def write_report(self, report):  # pragma: no cover - interface
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument("--since", type=parse_date, help=self.since_help)
        parser.add_argument("--full", action="store_true", help="tout relire, sans filtre de date")
        parser.add_argument("--json", action="store_true", help="affiche le rapport en JSON")

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        try:
            report = self.sync(departement, since=options["since"], full=options["full"])
        except ConnectorError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            self.write_report(report)
