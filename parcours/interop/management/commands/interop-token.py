"""``parcours interop-token <organisation> <nom> --scopes …`` : délivre un jeton d'API à un système partenaire."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from parcours.interop import services
from parcours.interop.models import Scope


class Command(BaseCommand):
    help = (
        "Crée le système partenaire (ou le met à jour) et lui délivre un jeton d'API, affiché une seule fois "
        "(seule son empreinte SHA-256 est conservée)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "organisation", help="identifiant, code de Département ou nom exact de l'organisation"
        )
        parser.add_argument("name", help="nom du système partenaire (ex. « Logiciel MDPH »)")
        parser.add_argument(
            "--scopes",
            nargs="+",
            default=[],
            metavar="PORTEE",
            help=f"portées accordées : {', '.join(Scope.values)}",
        )
        parser.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, **options):
        try:
            organisation = services.find_organisation(options["organisation"])
            scopes = [s for item in options["scopes"] for s in item.split(",") if s]
            partner, token = services.issue_token(organisation, options["name"], scopes)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "systeme": partner.pk,
                        "organisation": organisation.pk,
                        "portees": partner.scopes,
                        "jeton": token,
                    }
                )
            )
            return
        self.stdout.write(
            f"Système partenaire n° {partner.pk} : {partner} — portées : {', '.join(partner.scopes) or 'aucune'}"
        )
        self.stdout.write(f"Jeton (à conserver, il ne sera plus affiché) : {token}")
