"""Tables de la cohorte des nouveaux entrants (``models.CohortEntry``) et des premiers diagnostics
(``models.FirstDiagnosis``) : tenues à jour avant chaque lecture.

Le tableau de bord lit les étapes des nouveaux entrants dans cette table au lieu de les recalculer dans le
journal à chaque page (à 150 000 bénéficiaires : une jointure de 76 000 entrées avec leurs 760 000
événements, près d'une seconde). Les étapes y sont écrites par la définition des indicateurs elle-même
(``definitions.cohort_milestones``, ``definitions.first_diagnoses``), en une instruction ``INSERT … SELECT`` :
rien n'est recalculé en Python ni écrit deux fois.

Fraîcheur : un déclencheur de la base (migration 0002) inscrit dans ``CohortDirty`` la personne de tout
événement écrit, modifié ou supprimé, dans la transaction de l'événement ; ``refresh`` (appelée avant chaque
lecture) retire ces inscriptions et recalcule les lignes de ces personnes. Une inscription n'est retirée que
si son événement est déjà validé (elle est écrite dans la même transaction) : il est donc lu par le calcul
qui suit ; un événement validé plus tard laisse son inscription pour la lecture suivante. Deux recalculs ne
se chevauchent pas (verrou consultatif de PostgreSQL). Les chiffres ne sont jamais en retard sur le
journal (tests : ``tests/indicators/test_cohort_table.py``).
"""

import contextvars
from contextlib import contextmanager

from django.db import connections, router, transaction

from parcours.core.bulk import tune_batch_transaction
from parcours.journal.models import Event

from .definitions import (
    DIAGNOSED,
    MILESTONE_COLUMNS,
    NEW_ENTRANT,
    PERSON_COLUMNS,
    cohort_milestones,
    first_diagnoses,
    person_columns,
)
from .models import CohortDirty, CohortEntry, FirstDiagnosis

# Au-delà de ce nombre de personnes à recalculer (gros import), la table est refaite entière : une seule
# instruction ensembliste coûte moins que des milliers de petites.
REBUILD_ABOVE = 20_000
CHUNK = 2_000

_COLUMNS = ("entry_id", "beneficiary_id", "occurred_on", *PERSON_COLUMNS, *MILESTONE_COLUMNS)
_SELECTED = ("pk", "beneficiary_id", "occurred_on", *PERSON_COLUMNS, *MILESTONE_COLUMNS)
# Colonnes de la personne gardées avec son premier diagnostic (filtres du périmètre).
_DIAGNOSIS_PERSON = ("departement_id", "territory_id")
_DIAGNOSIS_COLUMNS = ("beneficiary_id", "diagnosed_on", "action_on", *_DIAGNOSIS_PERSON)
_DIAGNOSIS_SELECTED = ("beneficiary_id", "occurred_on", "action_on", *_DIAGNOSIS_PERSON)


def _alias():
    return router.db_for_write(CohortEntry)


def _insert_select(table, columns, query, selected):
    """``INSERT INTO table (columns) SELECT selected FROM (query)`` : le SQL de ``query`` compilé par l'ORM."""
    alias = _alias()
    connection = connections[alias]
    sql, params = query.query.get_compiler(using=alias).as_sql()
    quote = connection.ops.quote_name
    statement = "INSERT INTO {table} ({columns}) SELECT {selected} FROM ({sql}) rows".format(  # noqa: S608
        table=quote(table),
        columns=", ".join(quote(c) for c in columns),
        selected=", ".join(f"rows.{quote(c)}" for c in selected),
        sql=sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _insert(beneficiary_ids=None):
    """Écrit les lignes de ces personnes (toutes si ``None``) : ``INSERT … SELECT`` de ``cohort_milestones``
    et de ``first_diagnoses``."""
    events = Event.objects.using(_alias())
    if beneficiary_ids is not None:
        events = events.filter(beneficiary_id__in=beneficiary_ids)
    _insert_select(
        CohortEntry._meta.db_table,
        _COLUMNS,
        cohort_milestones(events.filter(kind=NEW_ENTRANT), **person_columns()).values(*_SELECTED),
        _SELECTED,
    )
    _insert_select(
        FirstDiagnosis._meta.db_table,
        _DIAGNOSIS_COLUMNS,
        first_diagnoses(events.filter(kind=DIAGNOSED))
        .annotate(**person_columns(*_DIAGNOSIS_PERSON))
        .values(*_DIAGNOSIS_SELECTED),
        _DIAGNOSIS_SELECTED,
    )


def _delete(beneficiary_ids=None):
    for model in (CohortEntry, FirstDiagnosis):
        rows = model.objects.using(_alias()).all()
        if beneficiary_ids is not None:
            rows = rows.filter(beneficiary_id__in=beneficiary_ids)
        rows.delete()


def is_fresh():
    """Vrai si aucun événement n'attend d'être reporté dans la table (une requête)."""
    return not CohortDirty.objects.using(_alias()).exists()


# Verrou de PostgreSQL propre à ce recalcul (deux recalculs ne se chevauchent pas) ; SQLite sérialise les
# écritures de lui-même.
_LOCK_KEY = 0x70617263_636F68  # « parc » « coh »


_READING = contextvars.ContextVar("indicators_cohort_reading", default=False)


@contextmanager
def reading():
    """Une page qui lit la table plusieurs fois : la met à jour une fois en entrant (hors de sa transaction de
    lecture, le verrou du recalcul est vite rendu), puis ``refresh`` ne refait pas la vérification."""
    refresh()
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


def refresh():
    """Reporte dans la table les événements écrits depuis le dernier recalcul (voir le module). Renvoie le
    nombre de personnes recalculées. Nombre de requêtes constant jusqu'à ``CHUNK`` personnes."""
    if _READING.get() or is_fresh():
        return 0
    alias = _alias()
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        table = connection.ops.quote_name(CohortDirty._meta.db_table)
        cursor.execute(f"DELETE FROM {table} RETURNING beneficiary_id")  # noqa: S608
        people = sorted({row[0] for row in cursor.fetchall()})
        if len(people) > REBUILD_ABOVE:
            if postgresql:  # comme ``analytics_session`` : ni JIT ni tri sur disque pour tout refaire
                tune_batch_transaction(cursor)
            _delete()
            _insert()
            if postgresql:
                # Statistiques des tables refaites : sans elles, le planificateur les croit vides.
                for model in (CohortEntry, FirstDiagnosis):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            return len(people)
        for index in range(0, len(people), CHUNK):
            chunk = people[index : index + CHUNK]
            _delete(chunk)
            _insert(chunk)
        return len(people)


def rebuild():
    """Refait la table entière (vérification, reprise après incident)."""
    with transaction.atomic(using=_alias()):
        _delete()
        _insert()
