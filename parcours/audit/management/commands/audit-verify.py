"""``parcours audit-verify [--head FICHIER …]`` : vérifie le journal d'accès et exporte sa tête."""

import time

from django.core.management.base import BaseCommand, CommandError

from parcours.audit import heads
from parcours.audit.services import verify_and_export
from parcours.core.text import plural, plural_form


class Command(BaseCommand):
    help = (
        "Vérifie l'intégrité du journal d'accès : chaîne d'empreintes à clé (PARCOURS_AUDIT_KEY) et "
        "comparaison aux têtes exportées (fichier de cette base dans PARCOURS_AUDIT_HEAD_DIR, et --head). "
        "Si le journal est intègre, sa tête signée est ajoutée au fichier et écrite sur la sortie."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            action="append",
            default=[],
            dest="head_files",
            metavar="FICHIER",
            help="fichier de têtes conservées ailleurs (lignes JSON ou lignes de journal) ; option répétable",
        )
        parser.add_argument(
            "--sans-export",
            action="store_true",
            dest="no_export",
            help="vérifie seulement, sans ajouter de tête (copie de la base, restauration d'essai)",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        result = verify_and_export(options["head_files"], export=not options["no_export"])
        report = result.report
        for path in result.other_copies:
            self.stderr.write(
                f"Attention : têtes d'une autre base du même nom ({path}) : base recréée ou restaurée ? "
                f"Vérifiez avec --head {path}."
            )
        for problem in report.problems:
            self.stderr.write(problem)
        if report.problems:
            raise CommandError(
                f"Journal d'accès altéré : {plural(len(report.problems), 'anomalie')} sur {plural(report.count, 'entrée')}."
            )
        seconds = time.monotonic() - started
        legacy = (
            f" dont {report.legacy_count} sans clé "
            f"({plural_form(report.legacy_count, 'antérieure', 'antérieures')} à PARCOURS_AUDIT_KEY)"
            if report.legacy_count
            else ""
        )
        self.stdout.write(
            f"Journal d'accès intègre : {plural(report.count, 'entrée vérifiée', 'entrées vérifiées')}{legacy}, "
            f"{plural(report.heads_checked, 'tête comparée', 'têtes comparées')}, en {seconds:.1f} s."
        )
        if result.head is not None:
            where = f" (ajoutée à {result.head_file})" if result.head_file else ""
            self.stdout.write(f"Tête du journal d'accès{where} : {heads.dumps(result.head)}")
