"""``parcours conventions-reminders [--dry-run]`` : bilans de conventions à produire, et rappel par courriel."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from parcours.conventions.services import reminder_days, send_report_reminders
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Liste les bilans (intermédiaires, finaux) non transmis dont l'échéance approche ou est dépassée, "
        "et envoie un rappel aux administrateurs et responsables du Département (une fois par jour au plus). "
        "Le délai de prévenance est le délai métier convention_report_reminder_days (PARCOURS_DELAYS, "
        "30 jours par défaut), surchargeable par Département."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Liste sans envoyer de rappel.")
        parser.add_argument(
            "--today", help="Date du jour à utiliser (AAAA-MM-JJ), pour rejouer une échéance."
        )
        parser.add_argument(
            "--days", type=int, help="Délai de prévenance en jours (remplace celui de chaque Département)."
        )
        parser.add_argument("--json", action="store_true", help="Sortie JSON.")

    def handle(self, *args, **options):
        today = timezone.localdate()
        if options["today"]:
            try:
                today = datetime.date.fromisoformat(options["today"])
            except ValueError as error:
                raise CommandError(
                    f"Date invalide : {options['today']} (format attendu AAAA-MM-JJ)."
                ) from error
        days = options["days"]
        if days is not None and days < 0:
            raise CommandError("Le délai de prévenance doit être positif.")
        reminders = send_report_reminders(today, days=days, dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "convention": r.deadline.convention_id,
                            "title": r.deadline.convention.title,
                            "kind": r.deadline.kind,
                            "due_on": r.deadline.due_on.isoformat(),
                            "days_left": r.days_left,
                            "recipients": r.recipients,
                            "sent": r.sent,
                        }
                        for r in reminders
                    ],
                    ensure_ascii=False,
                )
            )
            return
        if not reminders:
            if days is None:
                self.stdout.write(
                    "Aucun bilan à produire dans le délai de prévenance "
                    f"({plural(reminder_days(), 'jour')} par défaut, ou délai propre au Département)."
                )
            else:
                self.stdout.write(f"Aucun bilan à produire dans les {days} prochains jours.")
            return
        for r in reminders:
            d = r.deadline
            when = f"en retard de {-r.days_left} j" if r.overdue else f"dans {r.days_left} j"
            status = (
                "rappel envoyé" if r.sent else ("à rappeler" if options["dry_run"] else "pas de nouvel envoi")
            )
            if not r.recipients:
                status = "aucun destinataire (ni administrateur ni responsable)"
            self.stdout.write(
                f"{d.due_on:%d/%m/%Y} ({when}) — {d.get_kind_display()} — {d.convention.title} "
                f"[{d.convention.departement}] : {status}"
            )
