from django.apps import AppConfig


class EmployersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "parcours.employers"
    verbose_name = "Relation avec les employeurs"
