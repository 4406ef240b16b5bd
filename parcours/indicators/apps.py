from django.apps import AppConfig
from django.db.backends.signals import connection_created


class IndicatorsConfig(AppConfig):
    name = "parcours.indicators"
    label = "indicators"
    verbose_name = "Indicateurs de pilotage"

    def ready(self):
        from .sql import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="parcours_indicators_sqlite")
