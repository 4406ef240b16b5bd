from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "parcours.core"
    label = "core"
    verbose_name = "Socle"

    def ready(self):
        from .dbfunctions import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="parcours_core_sqlite_functions")
