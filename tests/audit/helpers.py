"""Aides des tests du journal d'accès."""

from django.db import connection


def disable_guards():
    """Ce que ferait un administrateur de la base : désactiver les déclencheurs du journal."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_accesslog DISABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_delete")
