"""``parcours orientation-reminders [--date AAAA-MM-JJ] [--json]`` : relances et expirations des invitations."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from parcours.core.text import plural
from parcours.orientation import services


class Command(BaseCommand):
    help = (
        "Relance automatiquement les invitations à l'orientation restées sans réponse (par défaut au 3e jour "
        "après l'envoi, réglage invitation_reminder_days) et passe à « expirée » celles dont la date "
        "d'expiration est dépassée (réglage invitation_validity_days). À lancer chaque jour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="date de traitement AAAA-MM-JJ (par défaut : aujourd'hui)")
        parser.add_argument("--json", action="store_true", help="Sortie JSON.")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = datetime.date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError(
                    f"--date : « {options['date']} » n'est pas une date AAAA-MM-JJ."
                ) from error
        expired = services.expire_invitations(today)
        reminded, errors = services.send_reminders(today)
        data = {
            "reminded": len(reminded),
            "expired": len(expired),
            "errors": [{"invitation": inv.pk, "message": message} for inv, message in errors],
        }
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(
            f"{plural(data['reminded'], 'invitation relancée', 'invitations relancées')}, "
            f"{plural(data['expired'], 'expirée')}."
        )
        for error in data["errors"]:
            self.stderr.write(f"Invitation {error['invitation']} : {error['message']}")
