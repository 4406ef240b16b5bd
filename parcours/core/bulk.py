"""Mises à jour groupées rapides.

``QuerySet.bulk_update`` de Django écrit un ``CASE WHEN`` par champ et par objet : sur un flux mensuel
de 150 000 lignes où seule la date du dernier flux change pour presque tout le monde, il passe
l'essentiel de son temps à compiler des expressions. Ici on n'écrit que les champs réellement
modifiés depuis la lecture en base, et on regroupe les objets qui reçoivent exactement les mêmes
valeurs : un seul ``UPDATE … WHERE id IN (…)`` par groupe.
"""

import json

from django.db import models

IN_CHUNK = 900  # sous la limite de variables des vieux SQLite


class TracksLoadedValues(models.Model):
    """Mémorise les valeurs lues en base, pour savoir ensuite lesquelles ont changé."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = dict(zip(field_names, values, strict=True))
        return instance


def _hashable(value):
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _changed(obj, attnames):
    loaded = getattr(obj, "_loaded_values", None)
    if loaded is None:
        return {name: getattr(obj, name) for name in attnames}
    return {
        name: getattr(obj, name)
        for name in attnames
        if name not in loaded or loaded[name] != getattr(obj, name)
    }


def bulk_update_changed(objects, fields, *, always=(), quiet=()):
    """Écrit en base les ``fields`` modifiés des ``objects`` (déjà enregistrés) ; renvoie le nombre
    d'objets modifiés. ``always`` : champs écrits dès qu'un autre champ change (ex. ``updated_at``),
    sauf si seuls des champs ``quiet`` ont changé (ex. la date du dernier flux, réécrite chaque mois)."""
    objects = [obj for obj in objects if obj.pk is not None]
    if not objects:
        return 0
    model = type(objects[0])
    model_fields = [model._meta.get_field(name) for name in fields]
    attnames = [field.attname for field in model_fields]
    relations = [field for field in model_fields if field.many_to_one]
    always_attnames = [model._meta.get_field(name).attname for name in always]
    quiet_attnames = {model._meta.get_field(name).attname for name in quiet}
    groups = {}
    for obj in objects:
        for field in relations:  # objet lié créé entre-temps : reprendre son identifiant
            if field.is_cached(obj):
                related = field.get_cached_value(obj)
                if related is not None and related.pk != getattr(obj, field.attname):
                    setattr(obj, field.attname, related.pk)
        changes = _changed(obj, attnames)
        if not changes:
            continue
        if not set(changes) <= quiet_attnames:
            for name in always_attnames:
                changes[name] = getattr(obj, name)
        key = tuple(sorted((name, _hashable(value)) for name, value in changes.items()))
        groups.setdefault(key, (changes, []))[1].append(obj)
    manager = model._base_manager
    for values, members in groups.values():
        pks = [obj.pk for obj in members]
        for start in range(0, len(pks), IN_CHUNK):
            manager.filter(pk__in=pks[start : start + IN_CHUNK]).update(**values)
        for obj in members:
            loaded = getattr(obj, "_loaded_values", None)
            if loaded is not None:
                loaded.update(values)
    return sum(len(members) for _, members in groups.values())


def _converter(field, connection):
    """Conversion Python → base d'une valeur, choisie une fois par champ (et non par valeur)."""
    if getattr(field, "encrypts_on_save", False):
        return lambda value: field.get_db_prep_save(value, connection)
    internal = field.get_internal_type()
    if internal == "DateField":
        return connection.ops.adapt_datefield_value
    if internal == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if internal in ("JSONField", "DecimalField", "UUIDField", "TimeField"):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def insert_rows(model, fields, rows, *, batch_size=2000):
    """Insère des lignes (tuples de valeurs Python dans l'ordre de ``fields``) sans instancier de
    modèles ni passer par le compilateur de l'ORM : pour les tables d'historique à fort volume
    (journal, situations mensuelles) dont on n'a pas besoin de relire les identifiants.

    Les valeurs par défaut et ``auto_now_add`` ne sont pas appliquées : l'appelant fournit tout.
    """
    from django.db import connections, router

    connection = connections[router.db_for_write(model)]
    model_fields = [model._meta.get_field(name) for name in fields]
    converters = [_converter(field, connection) for field in model_fields]
    quote = connection.ops.quote_name
    # Identifiants issus des métadonnées du modèle et quotés par le backend ; valeurs en paramètres.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in model_fields),
        ", ".join(["%s"] * len(model_fields)),
    )
    convert = [(index, conv) for index, conv in enumerate(converters) if conv is not None]

    def prepared():
        for row in rows:
            if convert:
                row = list(row)
                for index, conv in convert:
                    if row[index] is not None:
                        row[index] = conv(row[index])
            yield row

    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY : un seul aller-retour, bien plus rapide qu'une suite d'INSERT.
            copy_sql = "COPY {} ({}) FROM STDIN".format(
                quote(model._meta.db_table), ", ".join(quote(field.column) for field in model_fields)
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for row in prepared():
                    copy.write_row(row)
                    count += 1
            return count
        batch = []
        for row in prepared():
            batch.append(row)
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def create_objects(objects):
    """Enregistre des instances neuves d'un même modèle et leur donne leur identifiant.

    Sur PostgreSQL, les identifiants sont réservés d'un coup dans la séquence puis les lignes écrites
    par ``COPY`` (via ``insert_rows``) : ``bulk_create`` passe sinon l'essentiel de son temps à préparer
    chaque valeur. Ailleurs, ``bulk_create``. Les valeurs par défaut, ``auto_now`` et les clés
    étrangères vers des objets créés juste avant sont appliquées comme le ferait Django.
    """
    from django.db import connections, router

    objects = list(objects)
    if not objects:
        return objects
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objects)
        return objects
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not field.primary_key]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objects)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    rows = []
    for obj, new_id in zip(objects, ids, strict=True):
        obj._prepare_related_fields_for_save(operation_name="create_objects")
        rows.append((new_id, *(field.pre_save(obj, True) for field in fields)))
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = connection.alias
    insert_rows(model, [opts.pk.name, *(field.name for field in fields)], rows)
    return objects


def tune_batch_transaction(cursor, *, work_mem="64MB"):
    """PostgreSQL : réglages de la transaction en cours pour un calcul par ensembles (indicateurs, table de la
    cohorte, imports), en une instruction (``set_config(…, true)`` = ``SET LOCAL``) : sans compilation JIT,
    qui coûte ici plus qu'elle ne rapporte ; ``work_mem`` pour trier et regrouper sans passer par le disque ;
    et les processus parallèles que les connexions des pages n'ont pas (``PARCOURS_DB_BATCH_PARALLEL``,
    settings/base.py)."""
    from django.conf import settings

    cursor.execute(
        "SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true), "
        "set_config('max_parallel_workers_per_gather', %s, true)",
        [work_mem, str(int(settings.PARCOURS_DB_BATCH_PARALLEL))],
    )
