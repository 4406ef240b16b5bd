"""Charge le référentiel du diagnostic (Carnet de bord + complément Justice) ; idempotent."""

from django.db import migrations


def load(apps, schema_editor):
    from parcours.accompaniment.referential import load_referential

    load_referential(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("accompaniment", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
