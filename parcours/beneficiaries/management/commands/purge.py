from django.core.management.base import BaseCommand

from parcours.beneficiaries.retention import purge
from parcours.core.text import plural


class Command(BaseCommand):
    help = (
        "Applique les durées de conservation : anonymise les dossiers échus et supprime les fichiers de flux "
        "anciens. --dry-run : compte sans rien modifier."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="affiche ce qui serait fait, sans l'appliquer"
        )

    def handle(self, *args, **options):
        report = purge(dry_run=options["dry_run"])
        if report.dry_run:
            forms = ("personne serait anonymisée", "personnes seraient anonymisées")
        else:
            forms = ("personne anonymisée", "personnes anonymisées")
        for name, count in report.anonymised.items():
            self.stdout.write(f"{name} : {plural(count, *forms)}")
        files_verb = "seraient supprimés" if report.dry_run else "supprimés"
        self.stdout.write(
            f"Fichiers de flux {files_verb} : {report.files_deleted} ({report.bytes_freed / 1e6:.1f} Mo)"
        )
        if not report.dry_run:
            self.stdout.write(f"Compteurs de tentatives expirés supprimés : {report.counters_deleted}")
        self.stdout.write(f"Total : {plural(report.total, *forms)}.")
