"""Journal : l'index d'une seule colonne de la personne est retiré ; ``event_benef_date_idx`` (personne, date),
dont la personne est la première colonne, sert les mêmes requêtes. Un index de moins à écrire pour chacun des
centaines de milliers d'événements d'un import de flux."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "journal_event_beneficiary_id_05ee0faa"


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0001_initial"),
        ("journal", "0005_payload_keys_in_english"),
    ]

    # L'index est retiré par son nom, sans ``AlterField`` en base : sur SQLite, ``AlterField`` recrée la table et
    # perdrait ses déclencheurs (cohorte des indicateurs).
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX IF NOT EXISTS {INDEX} ON journal_event (beneficiary_id)",
                    elidable=False,
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="beneficiary",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="beneficiaries.beneficiary",
                        verbose_name="bénéficiaire",
                    ),
                ),
            ],
        ),
    ]
