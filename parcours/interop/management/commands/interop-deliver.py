"""``parcours interop-deliver [--replay ID]`` : envoie les webhooks dus, ou rejoue une livraison."""

import json

from django.core.management.base import BaseCommand, CommandError

from parcours.core.text import plural
from parcours.interop import webhooks
from parcours.interop.models import Delivery


class Command(BaseCommand):
    help = (
        "Envoie les événements dus aux abonnés (essais avec attente exponentielle) ou rejoue une livraison."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--replay", type=int, metavar="ID", help="rejouer la livraison n° ID (quel que soit son statut)"
        )
        parser.add_argument("--limit", type=int, default=500, help="nombre maximal de livraisons envoyées")
        parser.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, **options):
        if options["replay"] is not None:
            delivery = Delivery.objects.select_related("subscription").filter(pk=options["replay"]).first()
            if delivery is None:
                raise CommandError(f"Livraison n° {options['replay']} introuvable.")
            ok = webhooks.replay(delivery)
            result = {"livraison": delivery.pk, "livree": ok, "code": delivery.response_code}
            if options["json"]:
                self.stdout.write(json.dumps(result))
            else:
                state = "livrée" if ok else f"échec ({delivery.last_error})"
                self.stdout.write(f"Livraison n° {delivery.pk} rejouée : {state}.")
            return
        counts = webhooks.deliver_due(limit=options["limit"])
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(
                f"{plural(counts['livrees'], 'livraison réussie', 'livraisons réussies')}, {counts['en_echec']} en échec."
            )
