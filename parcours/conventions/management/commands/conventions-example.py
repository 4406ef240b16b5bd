"""``parcours conventions-example`` : charge la convention insertion-emploi 2024 d'Ille-et-Vilaine."""

import json

from django.core.management.base import BaseCommand, CommandError

from parcours.conventions.examples import load_convention_example
from parcours.conventions.services import ConventionError, budget_table, format_euros


class Command(BaseCommand):
    help = (
        "Charge (ou remet à jour, sans doublon) la convention d'exemple 2024 d'Ille-et-Vilaine : volets, "
        "neuf fiches actions et leurs budgets, règles d'éligibilité, échéance du bilan final."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Affiche les totaux au format JSON.")

    def handle(self, *args, **options):
        try:
            convention, created = load_convention_example()
        except ConventionError as error:
            raise CommandError(f"Exemple incohérent : {error.message}") from error
        budget = budget_table(convention)
        if options["json"]:
            payload = {
                "convention": convention.pk,
                "created": created,
                "volets": {
                    str(vb.volet.number): {
                        "state": str(vb.state),
                        "departement": str(vb.departement),
                        "total": str(vb.total),
                        "action_sheets": {
                            str(row.number): {"state": str(row.state), "departement": str(row.departement)}
                            for row in vb.rows
                            if row.action_sheet
                        },
                    }
                    for vb in budget.volets
                },
                "state_total": str(budget.state),
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        verb = "créée" if created else "mise à jour"
        self.stdout.write(f"Convention « {convention.title} » {verb} (n° {convention.pk}).")
        for vb in budget.volets:
            self.stdout.write(
                f"Volet {vb.volet.number} : part État {format_euros(vb.state)}, "
                f"part Département {format_euros(vb.departement)}, total {format_euros(vb.total)}"
            )
            for row in vb.rows:
                if row.action_sheet:
                    self.stdout.write(
                        f"  Fiche action {row.number} : État {format_euros(row.state)} / "
                        f"Département {format_euros(row.departement)}"
                    )
        self.stdout.write(self.style.SUCCESS(f"Total État : {format_euros(budget.state)}"))
