import django.utils.timezone
from django.db import migrations, models


def copy_created_at(apps, schema_editor):
    Exit = apps.get_model("accompaniment", "Exit")
    Exit.objects.update(updated_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accompaniment", "0003_intensive_accompaniment"),
    ]

    operations = [
        migrations.AddField(
            model_name="exit",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, db_index=True, default=django.utils.timezone.now, verbose_name="modifiée le"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(copy_created_at, migrations.RunPython.noop),
    ]
