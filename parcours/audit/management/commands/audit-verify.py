from django.core.management.base import BaseCommand, CommandError

from parcours.audit.services import verify_chain


class Command(BaseCommand):
    help = "Vérifie l'intégrité du journal d'accès (chaîne d'empreintes)."

    def handle(self, *args, **options):
        count, problems = verify_chain()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"Journal d'accès altéré : {len(problems)} anomalie(s) sur {count} entrées.")
        self.stdout.write(f"Journal d'accès intègre : {count} entrées vérifiées.")
