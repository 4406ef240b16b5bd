import json

from django.core.management.base import BaseCommand, CommandError

from parcours.connectors.francetravail_offers import SKIP_REASONS, sync
from parcours.connectors.http import ConnectorError
from parcours.core.commands import departement_from_code
from parcours.core.commands import iso_date as parse_date
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Récupère les offres d'emploi publiées par France Travail dans le Département (API « Offres d'emploi "
        "v2 ») et les applique par les règles de l'import des offres : employeur reconnu par son SIRET, offre "
        "par sa référence France Travail ; une deuxième exécution ne change rien. Identifiants OAuth2 : "
        "PARCOURS_FT_OFFRES_CLIENT_ID et PARCOURS_FT_OFFRES_CLIENT_SECRET (à défaut ceux de France Travail)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--departement", help="code du Département (facultatif s'il n'y en a qu'un)")
        parser.add_argument(
            "--since",
            type=parse_date,
            help="offres créées depuis cette date (AAAA-MM-JJ) ; défaut : veille de la dernière exécution",
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
        since = f" (créées depuis le {report['since']})" if report["since"] else ""
        self.stdout.write(
            f"Offres France Travail{since} : {plural(report['read'], 'lue')}, {plural(report['created'], 'créée')}, "
            f"{plural(report['updated'], 'mise', 'mises')} à jour, {plural(report['unchanged'], 'inchangée')} ; "
            f"{plural(report['employers_created'], 'employeur créé', 'employeurs créés')}."
        )
        skipped = [f"{count} {SKIP_REASONS[key]}" for key, count in report["skipped"].items() if count]
        if skipped:
            self.stdout.write(f"Laissées de côté : {', '.join(skipped)}.")
        for item in report["warnings"]:
            self.stdout.write(f"Avertissement — {item['message']}")
