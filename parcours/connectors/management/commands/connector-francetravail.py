import json

from django.core.management.base import BaseCommand, CommandError

from parcours.connectors.francetravail import sync
from parcours.connectors.http import ConnectorError
from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Récupère auprès de France Travail les résultats d'orientation et les rendez-vous (avec présence ou "
        "absence) des allocataires du Département et les applique par les règles de l'orientation ; une "
        "deuxième exécution ne refait rien. Identifiants OAuth2 : PARCOURS_FT_CLIENT_ID, "
        "PARCOURS_FT_CLIENT_SECRET."
    )

    def add_arguments(self, parser):
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument(
            "--since",
            type=parse_date,
            help="éléments modifiés depuis cette date (AAAA-MM-JJ) ; défaut : veille de la dernière exécution",
        )
        parser.add_argument("--full", action="store_true", help="tout relire, sans filtre de date")
        parser.add_argument("--json", action="store_true", help="affiche le rapport en JSON")

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"], required=True)
        try:
            report = sync(departement, since=options["since"], full=options["full"])
        except ConnectorError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        for key, label in (("orientations", "Orientations"), ("rendez_vous", "Rendez-vous")):
            c = report[key]
            self.stdout.write(
                f"{label} : {plural(c['created'], 'créé')}, {c['updated']} mis à jour, "
                f"{plural(c['linked'], 'relié')} à une saisie existante, {plural(c['unchanged'], 'inchangé')}, "
                f"{plural(c['ignored'], 'ignoré')}, {plural(c['rejected'], 'rejeté')}."
            )
        for item in report["errors"]:
            self.stdout.write(
                f"Erreur — {item['resource']} {item['id'] or '?'} — {item['field']} : {item['message']}"
            )
        for item in report["warnings"]:
            self.stdout.write(
                f"Avertissement — {item['resource']} {item['id']} — {item['field']} : {item['message']}"
            )
