"""PostgreSQL : de la place libre dans chaque page des personnes et des droits.

Chaque flux mensuel réécrit la date du dernier flux de presque toutes les personnes (et la date de
référence de presque tous les droits). Ces colonnes ne sont pas indexées : avec de la place libre dans la
page, PostgreSQL fait une mise à jour « HOT » sans toucher aux index (une douzaine sur les personnes).
"""

from django.db import migrations

TABLES = ("beneficiaries_beneficiary", "beneficiaries_rsaright")


def set_fillfactor(apps, schema_editor, value=75):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})", params=None)


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=100)


class Migration(migrations.Migration):
    dependencies = [("beneficiaries", "0003_anonymised_on")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
