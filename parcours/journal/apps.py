from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "parcours.journal"
    label = "journal"
    verbose_name = "Journal des parcours"
