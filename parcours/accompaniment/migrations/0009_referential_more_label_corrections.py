"""Corrige les autres libellés du référentiel encore identiques à la source (« Enfant(s) », « Pole emploi »,
coquilles et accents) ; les libellés modifiés par le Département restent tels quels. Les codes ne changent pas."""

from django.db import migrations


def correct(apps, schema_editor):
    from parcours.accompaniment.referential import correct_labels

    correct_labels(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("accompaniment", "0008_referential_label_corrections")]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
