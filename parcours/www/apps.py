from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "parcours.www"
    label = "www"
    verbose_name = "Pages"
