from django.apps import AppConfig


class PathwayConfig(AppConfig):
    name = "parcours.pathway"
    label = "pathway"
    verbose_name = "Parcours des personnes"
