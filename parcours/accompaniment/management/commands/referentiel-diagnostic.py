"""``parcours referentiel-diagnostic [--source DOSSIER] [--json]`` : charge le référentiel du diagnostic."""

import json

from django.core.management.base import BaseCommand, CommandError

from parcours.accompaniment.referential import ReferentialFileError, load_referential
from parcours.core.text import plural

# Libellé et marque du féminin (accord de « créé » et « présent »).
LABELS = {
    "themes": ("thèmes", ""),
    "situations": ("situations", "e"),
    "objectives": ("objectifs", ""),
    "actions": ("actions", "e"),
}


class Command(BaseCommand):
    help = (
        "Charge ou complète le référentiel du diagnostic (thèmes, situations, objectifs, actions) depuis "
        "les tables de Carnet de bord alignées sur France Travail. Idempotent : ce qui existe déjà "
        "(même code) n'est ni dupliqué ni écrasé."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            help="dossier contenant ref_theme.csv, ref_situation.csv, ref_target.csv, ref_action.csv et "
            "pe_contrainte_theme_mapping.csv (par défaut : les fichiers fournis avec Parcours)",
        )
        parser.add_argument("--json", action="store_true", help="Sortie JSON.")

    def handle(self, *args, **options):
        try:
            report = load_referential(options["source"])
        except ReferentialFileError as error:
            raise CommandError(str(error)) from error
        data = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        for kind, (label, feminine) in LABELS.items():
            self.stdout.write(
                f"{label.capitalize()} : {plural(data['created'][kind], 'créé' + feminine)}, "
                f"{plural(data['existing'][kind], 'déjà présent' + feminine)}."
            )
