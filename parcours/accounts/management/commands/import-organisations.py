"""``parcours import-organisations PATH`` : crée ou met à jour les organisations et les agents d'un
Département (arrivée dans Parcours ou mise à jour annuelle) depuis le fichier canonique des organisations."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from parcours.accounts.onboarding import OnboardingError, import_organisations, normalize_departement_code
from parcours.core.text import plural

MAX_PRINTED_ISSUES = 50


class Command(BaseCommand):
    help = (
        "Crée ou met à jour les organisations et leurs agents depuis le fichier canonique des organisations "
        "(CSV UTF-8, séparateur « ; »). Idempotent (SIRET ou code, adresse électronique) ; ne supprime rien ; "
        "un fichier comportant une erreur est refusé en entier (rien n'est écrit). Les agents créés n'ont pas "
        "de mot de passe : première connexion par ProConnect ou par la réinitialisation du mot de passe."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="chemin du fichier des organisations (CSV)")
        parser.add_argument(
            "--departement",
            default=None,
            help="numéro du Département des lignes sans colonne « departement » (ex. 35) ; défaut : le seul "
            "Département du fichier, sinon de la base",
        )
        parser.add_argument(
            "--json", action="store_true", help="affiche le rapport en JSON, sans barre de progression"
        )

    def handle(self, *args, **options):
        code = options["departement"]
        if code and normalize_departement_code(code) is None:
            raise CommandError(f"Numéro de Département « {code} » invalide (exemples : 35, 05, 2A, 974).")
        show_progress = not options["json"] and sys.stderr.isatty()
        try:
            report = import_organisations(
                options["path"],
                departement_code=code,
                progress=self._progress_bar if show_progress else None,
            )
        except OnboardingError as exc:
            raise CommandError(str(exc)) from exc
        if show_progress and not report.rejected:
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
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} enregistrements")
        sys.stderr.flush()

    def _print_report(self, report):
        write = self.stdout.write
        write(report.message)
        if report.agents["created"] and not report.rejected:
            write(
                "Les agents créés n'ont pas de mot de passe : ils se connectent la première fois par ProConnect "
                "(même adresse électronique) ou en définissant leur mot de passe."
            )
        for label, issues in (("Erreur", report.errors), ("Avertissement", report.warnings)):
            for issue in issues[:MAX_PRINTED_ISSUES]:
                where = f"ligne {issue['row']}" if issue.get("row") else "fichier"
                fld = f", champ {issue['field']}" if issue.get("field") else ""
                write(f"  {label} ({where}{fld}) : {issue['message']}")
            if len(issues) > MAX_PRINTED_ISSUES:
                others = plural(
                    len(issues) - MAX_PRINTED_ISSUES, f"autre {label.lower()}", f"autres {label.lower()}s"
                )
                write(f"  … et {others} (voir --json).")
