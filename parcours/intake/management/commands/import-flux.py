"""``parcours import-flux PATH`` : importe un flux CAF/MSA ou un fichier de bénéficiaires du Département."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from parcours.core.commands import iso_date as parse_date
from parcours.core.text import plural
from parcours.intake.models import FluxFormat
from parcours.intake.services import ImportError_, create_batch, default_departement, run_batch


class Command(BaseCommand):
    help = (
        "Importe un fichier de bénéficiaires (CSV canonique, tableur CSV/XLSX, fichier de contacts CNAF, flux XML "
        "CNAF/MSA). Idempotent ; un fichier comportant une erreur est refusé en entier (rien n'est écrit)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="chemin du fichier à importer")
        parser.add_argument(
            "--format", default="auto", choices=FluxFormat.values, help="format (défaut : auto)"
        )
        parser.add_argument("--mapping", default="", help="nom d'une correspondance de colonnes enregistrée")
        parser.add_argument(
            "--received-on",
            type=parse_date,
            default=None,
            help="date de réception par le Département (T0 des nouveaux entrants), AAAA-MM-JJ ; défaut : "
            "aujourd'hui (date de création du flux pour un XML CNAF)",
        )
        parser.add_argument("--departement", default=None, help="code du Département (s'il y en a plusieurs)")
        parser.add_argument(
            "--stock",
            action="store_true",
            help="chargement initial du stock : enregistre les droits sans détecter de nouveaux entrants ; "
            "accepté même plus ancien que le dernier flux importé (il complète alors l'historique)",
        )
        parser.add_argument(
            "--json", action="store_true", help="affiche le rapport en JSON, sans barre de progression"
        )

    def handle(self, *args, **options):
        try:
            departement = default_departement(options["departement"])
            batch = create_batch(
                options["path"],
                organisation=departement,
                fmt=options["format"],
                mapping_name=options["mapping"],
                received_on=options["received_on"],
                initial_stock=options["stock"],
            )
        except ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        show_progress = not options["json"] and sys.stderr.isatty()
        progress = self._progress_bar if show_progress else None
        report = run_batch(batch, progress=progress)
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
        if total:
            width = 30
            filled = int(width * done / total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} lignes")
        else:
            sys.stderr.write(f"\r{done} lignes traitées")
        sys.stderr.flush()

    def _print_report(self, report):
        write = self.stdout.write
        write(f"Format reconnu : {report.format or 'inconnu'}")
        write(report.message)
        for label, issues in (("Erreur", report.errors), ("Avertissement", report.warnings)):
            for issue in issues[:50]:
                where = f"ligne {issue['row']}" if issue.get("row") else "fichier"
                fld = f", champ {issue['field']}" if issue.get("field") else ""
                write(f"  {label} ({where}{fld}) : {issue['message']}")
            if len(issues) > 50:
                others = plural(len(issues) - 50, f"autre {label.lower()}", f"autres {label.lower()}s")
                write(f"  … et {others} (voir --json ou la page de l'import).")
        if report.disagreements:
            write(
                f"Désaccords entre le top CNAF « entrant » et la règle de l'annexe 4 : {len(report.disagreements)}"
            )
            for item in report.disagreements[:20]:
                write(f"  ligne {item['row']} : {item['message']}")
