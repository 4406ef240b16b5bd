from django.core.management.base import BaseCommand, CommandError

from parcours.accounts.models import Organisation
from parcours.connectors.exchanges import ExchangeRejected, export_orientations
from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Exporte la liste des personnes orientées sur une période (orientation notifiée) : parcours, organisme, "
        "dates ; en CSV (« ; », UTF-8) ou XLSX selon l'extension du fichier. L'export est inscrit au journal "
        "d'accès."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=parse_date, help="début (AAAA-MM-JJ)")
        parser.add_argument(
            "--to", dest="end", required=True, type=parse_date, help="fin (AAAA-MM-JJ), incluse"
        )
        parser.add_argument("--output", required=True, help="fichier à écrire (.csv ou .xlsx)")
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument(
            "--organisation", type=int, help="identifiant de l'organisme partenaire : ses seules orientations"
        )
        parser.add_argument("--format", choices=["csv", "xlsx"], help="format (défaut : selon l'extension)")
        parser.add_argument(
            "--with-nir", action="store_true", help="ajoute le NIR (seulement si le partenaire en a l'usage)"
        )

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(pk=options["organisation"]).first()
            if organisation is None or organisation.home_departement != departement:
                raise CommandError(f"Organisme n° {options['organisation']} inconnu dans ce Département.")
        try:
            count = export_orientations(
                departement,
                options["start"],
                options["end"],
                options["output"],
                organisation=organisation,
                fmt=options["format"],
                with_nir=options["with_nir"],
            )
        except ExchangeRejected as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{plural(count, 'orientation écrite', 'orientations écrites')} dans {options['output']}."
        )
