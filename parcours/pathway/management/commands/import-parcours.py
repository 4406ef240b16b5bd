"""``parcours import-parcours PATH`` : reprend les événements du parcours enregistrés dans un autre logiciel
(orientations notifiées, référents désignés, contrats signés, fins de suivi)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.core.commands import departement_from_code
from parcours.core.text import plural
from parcours.pathway.imports import FORMATS, PathwayImportError, import_pathway

MAX_PRINTED_ISSUES = 50


class Command(BaseCommand):
    help = (
        "Importe les événements du parcours enregistrés dans un autre logiciel (fichier canonique du parcours, "
        "CSV ou XLSX) : orientations notifiées, référents désignés, contrats signés, fins de suivi. Chaque "
        "événement a les effets de la même saisie dans les pages. Idempotent ; un fichier comportant une "
        "erreur est refusé en entier (rien n'est écrit)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="chemin du fichier à importer")
        parser.add_argument("--format", default="auto", choices=FORMATS, help="format (défaut : auto)")
        parser.add_argument(
            "--departement",
            default=None,
            help="code du Département où chercher les personnes (défaut : le seul Département de la base, ou "
            "tous s'il y en a plusieurs)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="vérifie le fichier (colonnes, valeurs, personnes, structures, référents, références) sans rien "
            "écrire ; les règles du parcours (dates des suivis…) ne sont vérifiées qu'à l'import",
        )
        parser.add_argument(
            "--json", action="store_true", help="affiche le rapport en JSON, sans barre de progression"
        )

    def handle(self, *args, **options):
        if not Path(options["path"]).is_file():
            raise CommandError(f"Fichier introuvable : {options['path']}")
        departement = departement_from_code(options["departement"])
        if departement is None:
            only = list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)[:2])
            departement = only[0] if len(only) == 1 else None  # plusieurs : les personnes de tous
        show_progress = not options["json"] and sys.stderr.isatty()
        try:
            report = import_pathway(
                options["path"],
                departement=departement,
                fmt=options["format"],
                progress=self._progress_bar if show_progress else None,
                dry_run=options["dry_run"],
            )
        except PathwayImportError as exc:
            raise CommandError(str(exc)) from exc
        if show_progress:
            sys.stderr.write("\n")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            self._print_report(report)
        if report.rejected:
            if options["json"]:
                sys.exit(1)
            raise CommandError(report.message)

    def _progress_bar(self, done, total):
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} événements")
        sys.stderr.flush()

    def _print_report(self, report):
        write = self.stdout.write
        write(f"Format reconnu : {report.format or 'inconnu'}")
        if not report.rejected:
            write(report.message)
        for label, issues, omitted in (
            ("Erreur", report.errors, report.errors_omitted),
            ("Avertissement", report.warnings, report.warnings_omitted),
        ):
            for issue in issues[:MAX_PRINTED_ISSUES]:
                where = f"ligne {issue['row']}" if issue.get("row") else "fichier"
                fld = f", champ {issue['field']}" if issue.get("field") else ""
                write(f"  {label} ({where}{fld}) : {issue['message']}")
            rest = len(issues) + omitted - MAX_PRINTED_ISSUES
            if rest > 0:
                others = plural(rest, f"autre {label.lower()}", f"autres {label.lower()}s")
                write(f"  … et {others} (voir --json ou la page de l'import).")
