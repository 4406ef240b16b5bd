from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "parcours.audit"
    label = "audit"
    verbose_name = "Journal d'accès"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .guards import register_sqlite_guard

        connection_created.connect(register_sqlite_guard, dispatch_uid="parcours-audit-sqlite-guard")
