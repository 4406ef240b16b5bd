from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from parcours.accompaniment import sanction_exchange as exchange
from parcours.core.commands import departement_from_code
from parcours.core.text import plural


def _month(value):
    import argparse

    try:
        return exchange.parse_month(value)
    except ValidationError as error:
        raise argparse.ArgumentTypeError(error.messages[0]) from error


class Command(BaseCommand):
    help = (
        "Produit le fichier mensuel des sanctions pour l'organisme payeur (CAF, MSA) : une ligne par mesure "
        "(suspension, réduction, suppression, levée, restitution) du mois ; les mesures « à transmettre » "
        "passent à « transmises ». Relancer le même mois redonne le même fichier. Le fichier est inscrit au "
        "journal d'accès (export nominatif)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, type=_month, help="mois des mesures (AAAA-MM)")
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument(
            "--organism", choices=exchange.ORGANISMS, help="organisme payeur (défaut : CAF et MSA)"
        )
        parser.add_argument(
            "--output", default=".", help="dossier où écrire le fichier (défaut : dossier courant)"
        )

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        folder = Path(options["output"])
        if not folder.is_dir():
            raise CommandError(f"Dossier « {folder} » introuvable.")
        organisms = [options["organism"]] if options["organism"] else list(exchange.ORGANISMS)
        for organism in organisms:
            produced = exchange.transmit_month(departement, organism, options["month"])
            if not produced.notices and not options["organism"]:
                continue
            path = folder / produced.name
            try:
                path.write_bytes(produced.content)
            except OSError as exc:
                raise CommandError(f"Impossible d'écrire le fichier {path} : {exc.strerror or exc}.") from exc
            exchange.audit_file(produced, departement, view="parcours sanctions-export")
            self.stdout.write(
                f"{path} : {plural(len(produced.notices), 'mesure')}, "
                f"dont {plural(produced.newly_sent, 'nouvellement transmise', 'nouvellement transmises')}."
            )
