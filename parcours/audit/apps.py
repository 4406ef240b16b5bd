from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "parcours.audit"
    label = "audit"
    verbose_name = "Journal d'accès"
