from django.apps import AppConfig


class AccompanimentConfig(AppConfig):
    name = "parcours.accompaniment"
    label = "accompaniment"
    verbose_name = "Diagnostic et contrat d'engagement"
