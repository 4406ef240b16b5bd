"""Date de dernière modification des rendez-vous et décisions (synchronisation des partenaires par l'API)."""

import django.utils.timezone
from django.db import migrations, models


def backfill(apps, schema_editor):
    for name in ("Appointment", "OrientationDecision"):
        apps.get_model("orientation", name).objects.update(updated_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("orientation", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, default=django.utils.timezone.now, verbose_name="modifié le"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="orientationdecision",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, default=django.utils.timezone.now, verbose_name="modifiée le"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["updated_at", "id"], name="appt_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="orientationdecision",
            index=models.Index(fields=["updated_at", "id"], name="orient_updated_idx"),
        ),
    ]
