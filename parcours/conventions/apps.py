from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "parcours.conventions"
    label = "conventions"
    verbose_name = "Conventions et financements"
