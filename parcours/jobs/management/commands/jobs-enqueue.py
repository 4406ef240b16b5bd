"""``parcours jobs-enqueue NOM [...]`` : met une tâche de fond en file (exécutée par ``jobs-worker``)."""

import json

from django.core.management.base import BaseCommand, CommandError

from parcours.core.commands import iso_date as parse_date
from parcours.intake.models import FluxFormat
from parcours.intake.services import ImportError_, default_departement
from parcours.jobs import services
from parcours.jobs.handlers import KINDS, JobError


class Command(BaseCommand):
    help = (
        "Met une tâche de fond en file : import-flux FICHIER (copie le fichier, l'import se fait en "
        "arrière-plan, en une transaction), webhooks, purge, rappels-conventions, relances-invitations. "
        "Une tâche périodique déjà en attente n'est pas doublée. Le processus « parcours jobs-worker » "
        "l'exécute."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", choices=list(KINDS), metavar="NOM", help=f"tâche : {', '.join(KINDS)}")
        parser.add_argument("path", nargs="?", help="import-flux : chemin du fichier à importer")
        parser.add_argument(
            "--format", default="auto", choices=FluxFormat.values, help="import-flux : format (défaut : auto)"
        )
        parser.add_argument(
            "--mapping", default="", help="import-flux : correspondance de colonnes enregistrée"
        )
        parser.add_argument(
            "--received-on", type=parse_date, default=None, help="import-flux : date de réception AAAA-MM-JJ"
        )
        parser.add_argument("--departement", default=None, help="import-flux : code du Département")
        parser.add_argument("--stock", action="store_true", help="import-flux : chargement initial du stock")
        parser.add_argument(
            "--date",
            type=parse_date,
            default=None,
            help="purge, rappels-conventions, relances-invitations : date du jour à utiliser (AAAA-MM-JJ)",
        )
        parser.add_argument("--essais", type=int, default=None, help="nombre maximal d'essais")
        parser.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, **options):
        name = options["name"]
        if options["essais"] is not None and options["essais"] < 1:
            raise CommandError("--essais doit valoir au moins 1.")
        try:
            if name == "import-flux":
                job, created = self._enqueue_import(options)
            else:
                job, created = services.enqueue(
                    name, self._params(name, options), max_attempts=options["essais"]
                )
        except JobError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps({"tache": job.pk, "nom": job.name, "creee": created, "parametres": job.params})
            )
            return
        if created:
            self.stdout.write(
                f"Tâche n° {job.pk} ({job.get_name_display()}) mise en file ; "
                "« parcours jobs-worker » l'exécutera."
            )
        else:
            self.stdout.write(
                f"Tâche n° {job.pk} ({job.get_name_display()}) déjà en attente : aucune nouvelle tâche créée."
            )

    def _enqueue_import(self, options):
        if not options["path"]:
            raise CommandError("import-flux : indiquer le chemin du fichier à importer.")
        if options["date"] is not None:
            raise CommandError("import-flux : utiliser --received-on pour la date de réception.")
        try:
            _, job = services.enqueue_import(
                options["path"],
                organisation=default_departement(options["departement"]),
                fmt=options["format"],
                mapping_name=options["mapping"],
                received_on=options["received_on"],
                initial_stock=options["stock"],
                max_attempts=options["essais"],
            )
        except ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        return job, True

    def _params(self, name, options):
        if options["path"]:
            raise CommandError(f"La tâche « {name} » ne prend pas de fichier.")
        params = {}
        if options["date"] is not None:
            if name == "webhooks":
                raise CommandError("La tâche « webhooks » ne prend pas de date.")
            params["today"] = options["date"].isoformat()
        return params
