"""``parcours jobs-worker [--une-fois]`` : exécute les tâches de fond (imports, envois, purge)."""

import signal

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Exécute les tâches de fond mises en file (imports de flux, webhooks, courriels et SMS, purge), "
        "avec nouveaux essais en cas d'échec. Sans option : tourne en continu (à lancer comme service). "
        "--une-fois : exécute les tâches dues puis s'arrête (pour cron). Arrêt propre par Ctrl+C ou "
        "SIGTERM : la tâche en cours se termine d'abord."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--une-fois",
            action="store_true",
            dest="once",
            help="exécute les tâches dues puis s'arrête",
        )
        parser.add_argument(
            "--intervalle",
            type=float,
            default=2.0,
            dest="interval",
            metavar="SECONDES",
            help="attente (secondes) entre deux consultations de la file vide (défaut : 2)",
        )
        parser.add_argument(
            "--max-taches",
            type=int,
            default=None,
            dest="max_tasks",
            metavar="N",
            help="s'arrête après ce nombre de tâches (pour recycler le processus)",
        )

    def handle(self, *args, **options):
        if options["interval"] < 0:
            raise CommandError("--intervalle doit être positif ou nul.")
        if options["max_tasks"] is not None and options["max_tasks"] <= 0:
            raise CommandError("--max-taches doit être supérieur à zéro.")
        from parcours.intake.locks import recover_stale_batches

        recover_stale_batches()  # imports laissés « en cours » par un processus arrêté : échoués, fichiers supprimés
        if not options["once"]:
            from parcours.jobs.schedule import start

            start(immediately=True)  # tâches périodiques (relances, messages, webhooks) sans cron
        worker_options = {
            "queue_name": "default",
            "batch": options["once"],
            "interval": options["interval"],
            "reload": False,
            "startup_delay": not options["once"],
            "verbosity": options["verbosity"],
            "stdout": self.stdout._out,
            "stderr": self.stderr._out,
        }
        if options["max_tasks"] is not None:
            worker_options["max_tasks"] = options["max_tasks"]
        # Le processus d'exécution de django-tasks-db (« db_worker ») installe ses gestionnaires d'arrêt ;
        # ceux d'origine sont rétablis à la fin (utile quand la commande est appelée depuis Python).
        names = [name for name in ("SIGINT", "SIGTERM", "SIGQUIT") if hasattr(signal, name)]
        saved = {name: signal.getsignal(getattr(signal, name)) for name in names}
        try:
            call_command("db_worker", **worker_options)
        finally:
            for name, handler in saved.items():
                signal.signal(getattr(signal, name), handler)
