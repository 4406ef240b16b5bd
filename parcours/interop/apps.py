from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "parcours.interop"
    label = "interop"
    verbose_name = "Interopérabilité (systèmes partenaires)"

    def ready(self):
        from . import signals  # noqa: F401
