from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from parcours.accompaniment import sanction_exchange as exchange
from parcours.core.commands import departement_from_code


class Command(BaseCommand):
    help = (
        "Importe le fichier d'accusés de réception de l'organisme payeur (colonnes reference ; statut ; motif ; "
        "date) : chaque mesure transmise passe à « accusé de réception » ou « rejeté » (motif obligatoire). "
        "Une erreur par ligne refusée ; réimporter le même fichier ne change rien."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="fichier d'accusés (CSV)")
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        try:
            content = Path(options["path"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Impossible de lire {options['path']} : {exc.strerror or exc}.") from exc
        try:
            report = exchange.import_acknowledgements(content, departement)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"Accusés : {report.acknowledged} ; rejets : {report.rejected} ; inchangées : {report.unchanged} ; "
            f"lignes refusées : {len(report.errors)}."
        )
        for line, message in report.errors:
            self.stderr.write(f"Ligne {line} : {message}")
        if report.errors:
            raise CommandError("Des lignes ont été refusées (voir ci-dessus) ; les autres sont appliquées.")
