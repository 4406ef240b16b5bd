"""``parcours export-evaluation --from AAAA-MM-JJ --to AAAA-MM-JJ --output FICHIER [--departement CODE] [--key CLÉ]``."""

from django.core.management.base import BaseCommand, CommandError

from parcours.audit.models import AccessAction
from parcours.audit.services import record
from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.core.text import plural
from parcours.indicators.definitions import beneficiary_scope, check_period
from parcours.indicators.evaluation import evaluation_key, write_evaluation_csv


class Command(BaseCommand):
    help = (
        "Extraction pseudonymisée pour l'évaluation : une ligne par entrée de la période, sans identité ni "
        "coordonnées. Sans --key ni PARCOURS_EVALUATION_KEY, la clé de pseudonymisation est tirée au hasard."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=parse_date, help="début (AAAA-MM-JJ)")
        parser.add_argument("--to", dest="end", required=True, type=parse_date, help="fin (AAAA-MM-JJ)")
        parser.add_argument("--output", required=True, help="fichier CSV à écrire")
        parser.add_argument("--departement", default=None, help="code du Département (défaut : tous)")
        parser.add_argument("--key", default=None, help="clé de pseudonymisation (suivi longitudinal)")

    def handle(self, *args, **options):
        start, end = options["start"], options["end"]
        try:
            check_period(start, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        departement = departement_from_code(options["departement"])
        scope = beneficiary_scope(departement=departement)
        key = evaluation_key(options["key"])
        with open(options["output"], "w", encoding="utf-8", newline="") as handle:
            count = write_evaluation_csv(handle, scope, start, end, key=key)
        record(
            action=AccessAction.EXPORT,
            departement_id=departement.pk if departement else None,
            view="parcours export-evaluation",
            reason=f"Extraction pseudonymisée pour l'évaluation : {plural(count, 'ligne')}, du {start:%d/%m/%Y} au {end:%d/%m/%Y}.",
        )
        self.stdout.write(
            f"{plural(count, 'ligne pseudonymisée écrite', 'lignes pseudonymisées écrites')} dans {options['output']}."
        )
