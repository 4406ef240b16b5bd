import json

from django.core.management.base import BaseCommand, CommandError

from parcours.audit.models import AccessAction
from parcours.audit.services import record
from parcours.beneficiaries.access_request import export_person_data
from parcours.beneficiaries.models import Beneficiary


class Command(BaseCommand):
    help = "Droit d'accès : écrit en JSON toutes les données enregistrées sur une personne (n° de dossier)."

    def add_arguments(self, parser):
        parser.add_argument("beneficiary", type=int, help="numéro du dossier de la personne")
        parser.add_argument("--output", required=True, help="fichier JSON à écrire")
        parser.add_argument("--reason", default="Demande d'accès de la personne (RGPD, article 15).")

    def handle(self, *args, **options):
        person = Beneficiary.objects.filter(pk=options["beneficiary"]).select_related("household").first()
        if person is None:
            raise CommandError(f"Aucun dossier n° {options['beneficiary']}.")
        data = export_person_data(person)
        with open(options["output"], "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2, default=str)
        record(
            beneficiary_id=person.pk,
            departement_id=person.departement_id,
            action=AccessAction.RIGHT_OF_ACCESS,
            view="parcours right-of-access",
            reason=options["reason"],
        )
        sections = [key for key in data if key not in ("produit_le", "responsable_de_traitement")]
        self.stdout.write(
            f"Données de {person.full_name} écrites dans {options['output']} ({len(sections)} rubriques)."
        )
