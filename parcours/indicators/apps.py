from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "parcours.indicators"
    label = "indicators"
    verbose_name = "Indicateurs de pilotage"
