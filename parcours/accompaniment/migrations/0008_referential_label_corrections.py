"""Corrige les libellés du référentiel encore identiques à la source (coquilles, « Pôle emploi » → France
Travail) ; les libellés modifiés par le Département restent tels quels. Les codes ne changent pas."""

from django.db import migrations


def correct(apps, schema_editor):
    from parcours.accompaniment.referential import correct_labels

    correct_labels(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("accompaniment", "0007_plannedactivity_prescription")]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
