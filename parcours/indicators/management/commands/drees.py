"""``parcours drees --departement CODE --annee AAAA --sortie FICHIER.xlsx|.csv``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parcours.core.commands import departement_from_code
from parcours.indicators import drees


class Command(BaseCommand):
    help = (
        "Questionnaire annuel de la DREES (orientation et accompagnement) pour un Département et une année : "
        "orientations par organisme, âge, niveau de formation, ancienneté dans le RSA, délais jusqu'au "
        "premier contrat, réorientations et motifs, contrats par type et durée. XLSX (une feuille par "
        "tableau) ou CSV selon l'extension du fichier de sortie."
    )

    def add_arguments(self, parser):
        parser.add_argument("--departement", required=True, help="code du Département (ex. 93)")
        parser.add_argument("--annee", required=True, type=int, help="année civile (ex. 2026)")
        parser.add_argument(
            "--sortie", "--output", dest="output", required=True, help="fichier à écrire (.xlsx ou .csv)"
        )

    def handle(self, *args, **options):
        departement = departement_from_code(options["departement"])
        year = options["annee"]
        if not 1990 <= year <= 2100:
            raise CommandError(f"Année « {year} » invalide : quatre chiffres attendus (ex. 2026).")
        path = Path(options["output"])
        suffix = path.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise CommandError(f"Fichier de sortie « {path} » : extension .xlsx ou .csv attendue.")
        tables = drees.drees_report(departement, year)
        try:
            if suffix == ".xlsx":
                path.write_bytes(drees.to_xlsx(tables, departement, year, "tout le Département"))
            else:
                path.write_text(
                    drees.to_csv(tables, departement, year, "tout le Département"), encoding="utf-8"
                )
        except OSError as exc:
            raise CommandError(f"Impossible d'écrire « {path} » : {exc.strerror}.") from exc
        self.stdout.write(
            f"Questionnaire DREES {year} de {departement.name} : {len(tables)} tableaux écrits dans {path}."
        )
