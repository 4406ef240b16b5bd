from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "parcours.connectors"
    label = "connectors"
    verbose_name = "Connecteurs (France Travail, data·inclusion, échanges de fichiers)"
