"""``parcours interop-subscribe <système> <url> --events …`` : abonne un système partenaire aux webhooks."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator

from parcours.interop import webhooks
from parcours.interop.models import EventType, PartnerSystem


class Command(BaseCommand):
    help = "Abonne un système partenaire aux événements ; le secret de signature est affiché une fois."

    def add_arguments(self, parser):
        parser.add_argument("system", type=int, help="identifiant du système partenaire")
        parser.add_argument("url", help="adresse HTTPS de réception")
        parser.add_argument(
            "--events",
            nargs="+",
            default=list(EventType.values),
            metavar="TYPE",
            help=f"types d'événements (défaut : tous) : {', '.join(EventType.values)}",
        )
        parser.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, **options):
        partner = PartnerSystem.objects.filter(pk=options["system"]).first()
        if partner is None:
            raise CommandError(f"Système partenaire n° {options['system']} introuvable.")
        try:
            URLValidator(schemes=["https", "http"])(options["url"])
            subscription = webhooks.subscribe(partner, options["url"], options["events"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages) or "Adresse invalide.") from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "abonnement": subscription.pk,
                        "types": subscription.event_types,
                        "secret": subscription.secret,
                    }
                )
            )
            return
        self.stdout.write(f"Abonnement n° {subscription.pk} : {', '.join(subscription.event_types)}")
        self.stdout.write(
            f"Secret de signature (à conserver, il ne sera plus affiché) : {subscription.secret}"
        )
