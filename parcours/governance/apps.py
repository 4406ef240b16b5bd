from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "parcours.governance"
    verbose_name = "Gouvernance (comités)"
