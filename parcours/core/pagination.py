"""Pagination par curseur (« keyset ») et totaux plafonnés, pour les listes qui grandissent avec le Département.

Une page se lit « après » (ou « avant ») la dernière ligne vue, sur la clé de tri de la liste terminée par
l'identifiant : la base descend l'index de la clé et s'arrête à la 51e ligne, quel que soit le rang de la
page. Pas de numéro de page, pas de ``COUNT`` de toute la liste à chaque page : des liens « Page suivante »
et « Page précédente » portent un curseur opaque (``?apres=…`` / ``?avant=…``).

Le total affiché est exact jusqu'à ``CAP`` lignes (``COUNT`` sur une sous-requête limitée à ``CAP + 1``),
« plus de 1 000 » au-delà (``CappedCount``) : le compter ne parcourt jamais plus de ``CAP + 1`` lignes.
Plusieurs totaux se lisent en une requête (``capped_counts``).

Une liste peut se lire en *sections* successives de même clé (ex. les personnes vues en rendez-vous, puis
les autres) : chaque section descend son index ; le curseur dit dans quelle section reprendre.
"""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import F, Q

PER_PAGE = 50
CAP = 1000
AFTER = "apres"
BEFORE = "avant"


# --- totaux plafonnés -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CappedCount:
    """Un total exact jusqu'au plafond, « plus de N » au-delà."""

    value: int
    cap: int = CAP

    @property
    def more(self):
        return self.value > self.cap

    @property
    def label(self):
        if self.more:
            return f"plus de {_thousands(self.cap)}"
        return _thousands(self.value)

    def __str__(self):
        return self.label

    def __int__(self):
        return min(self.value, self.cap + 1)

    def __bool__(self):
        return self.value > 0

    def __eq__(self, other):
        if isinstance(other, int):
            return not self.more and self.value == other
        if isinstance(other, CappedCount):
            return (self.value, self.cap) == (other.value, other.cap)
        return NotImplemented

    def __hash__(self):
        return hash((self.value, self.cap))


def _thousands(number):
    return f"{number:,}".replace(",", "\u202f")


def _limited(queryset, cap, ordered=False):
    if not ordered:
        queryset = queryset.order_by()
    if not queryset.query.values_select:
        # Un ensemble déjà réduit à sa colonne (``values("beneficiary_id").distinct()`` : personnes distinctes
        # d'une autre table) est compté tel quel.
        queryset = queryset.values("pk")
    return queryset[: cap + 1]


def capped(total, cap=None):
    """Un total déjà connu (compté avec la page), plafonné comme ``capped_count`` (« plus de 1 000 »)."""
    cap = CAP if cap is None else cap
    return CappedCount(min(total, cap + 1), cap)


def capped_count(queryset, cap=None):
    """Total de ``queryset``, sans lire plus de ``cap + 1`` lignes (une requête ; ``CAP`` par défaut)."""
    cap = CAP if cap is None else cap
    return CappedCount(_limited(queryset, cap).count(), cap)


def capped_counts(querysets, cap=None, *, ordered=()):
    """Totaux plafonnés de plusieurs ensembles (dictionnaire nom → ensemble), en une seule requête.

    ``ordered`` : noms des ensembles comptés dans leur ordre (``order_by`` gardé) ; la base descend alors
    l'index de cet ordre et s'arrête au plafond, au lieu d'assembler tout l'ensemble avant de compter."""
    cap = CAP if cap is None else cap
    if not querysets:
        return {}
    names = list(querysets)
    using = querysets[names[0]].db
    parts, params = [], []
    for index, name in enumerate(names):
        try:
            limited = _limited(querysets[name], cap, ordered=name in ordered)
            sql, part_params = limited.query.get_compiler(using=using).as_sql()
        except EmptyResultSet:  # ensemble vide par construction (périmètre sans personne)
            parts.append("0")
            continue
        # Texte SQL compilé par Django, valeurs passées en paramètres : rien de la requête HTTP dans le texte.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS parcours_count_{index})")  # noqa: S608
        params.extend(part_params)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: CappedCount(int(value), cap) for name, value in zip(names, row, strict=True)}


# --- curseur ----------------------------------------------------------------------------------------------


def query_without_cursor(query, *also):
    """Les paramètres d'une adresse (``request.GET``) sans curseur ni ``also``, encodés : ceux que reprennent
    les liens de pagination (``_keyset_pagination.html``) et d'export d'une liste."""
    query = query.copy()
    for name in (AFTER, BEFORE, *also):
        query.pop(name, None)
    return query.urlencode()


def _encode_value(value):
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimal, UUID… : comparés sous forme de texte par le champ


def _decode_value(value):
    if isinstance(value, dict):
        if set(value) == {"t"}:
            return datetime.datetime.fromisoformat(value["t"])
        if set(value) == {"d"}:
            return datetime.date.fromisoformat(value["d"])
        raise ValueError("valeur de curseur inconnue")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError("valeur de curseur inconnue")


def encode_cursor(section, values):
    raw = json.dumps([section, [_encode_value(v) for v in values]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sections, size):
    """(section, valeurs) d'un curseur ; ``None`` s'il est illisible (la liste reprend à la première page)."""
    if not cursor or len(cursor) > 2000:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        section, values = json.loads(raw)
        if type(section) is not int or not 0 <= section < sections or len(values) != size:
            return None
        return section, [_decode_value(v) for v in values]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        return None


# --- clé de tri -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """Une colonne de la clé de tri : nom (champ, chemin ``a__b`` ou annotation), sens, valeurs nulles
    possibles (placées après les autres en ordre croissant, avant en ordre décroissant : l'ordre des index)."""

    name: str
    descending: bool = False
    nullable: bool = False

    def reversed(self):
        return Key(self.name, not self.descending, self.nullable)

    def order(self):
        expression = F(self.name)
        return expression.desc(nulls_first=True) if self.descending else expression.asc(nulls_last=True)

    def value_of(self, row):
        value = row
        for part in self.name.split("__"):
            value = getattr(value, part)
            if value is None:
                return None
        return value.pk if hasattr(value, "_meta") else value

    def beyond(self, value):
        """(strictement au-delà de ``value``, égal à ``value``) dans le sens de la clé."""
        name = self.name
        if value is None:
            # Les valeurs nulles sont en fin d'ordre croissant, en tête d'ordre décroissant.
            beyond = Q(**{f"{name}__isnull": False}) if self.descending else Q(pk__in=[])
            return beyond, Q(**{f"{name}__isnull": True})
        beyond = Q(**{f"{name}__{'lt' if self.descending else 'gt'}": value})
        if self.nullable and not self.descending:
            beyond |= Q(**{f"{name}__isnull": True})
        return beyond, Q(**{name: value})


def parse_keys(ordering, model=None):
    """Clés d'un tri écrit comme ``order_by`` (``"-seen"``, ``"last_name"``…) ou en ``Key`` (dont la
    nullabilité est déclarée) ; ``pk`` doit le terminer. Pour un nom, les champs nullables de ``model`` sont
    repérés ; ``name?`` déclare une annotation nullable."""
    keys = []
    for item in ordering:
        if isinstance(item, Key):
            keys.append(item)
            continue
        descending = item.startswith("-")
        name = item.lstrip("-")
        nullable = name.endswith("?")
        name = name.rstrip("?")
        if not nullable and model is not None:
            nullable = _nullable(model, name)
        keys.append(Key(name, descending, nullable))
    if not keys or keys[-1].name not in ("pk", "id"):
        raise ValueError("la clé de tri doit se terminer par l'identifiant (pk)")
    return keys


def _nullable(model, name):
    current = model
    for part in name.split("__"):
        if part == "pk":
            return False
        try:
            model_field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # annotation : non nulle sauf si déclarée « name? »
        if model_field.null:
            return True
        current = model_field.related_model or current
    return False


def _after(keys, values):
    """Lignes strictement après ``values`` dans l'ordre ``keys`` (comparaison lexicographique)."""
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        beyond, same = key.beyond(value)
        condition |= equal & beyond
        equal &= same
    first = keys[0]
    if values[0] is not None and not first.nullable:
        # Borne redondante sur la première colonne : la base démarre la descente de l'index au curseur.
        condition &= Q(**{f"{first.name}__{'lte' if first.descending else 'gte'}": values[0]})
    return condition


# --- page -------------------------------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """Une page : ses lignes, les curseurs des pages voisines (``None`` : pas de page de ce côté)."""

    object_list: list
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True
    count: CappedCount | None = None

    @property
    def has_next(self):
        return self.next_cursor is not None

    @property
    def has_previous(self):
        return self.previous_cursor is not None

    @property
    def has_other_pages(self):
        return self.has_next or self.has_previous or not self.is_first

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]


def keyset_page(querysets, ordering, *, after=None, before=None, per_page=PER_PAGE):
    """Une page de ``querysets`` (un ensemble, ou une liste de sections lues l'une après l'autre), triée par
    ``ordering`` (terminé par ``pk``), après le curseur ``after`` ou avant le curseur ``before``.

    Une requête par section lue (une seule quand la page ne franchit pas de fin de section) ; un curseur
    illisible ou périmé donne la première page.
    """
    sections = list(querysets) if isinstance(querysets, list | tuple) else [querysets]
    keys = parse_keys(ordering, sections[0].model)
    backwards = False
    position = None
    if before:
        position = decode_cursor(before, len(sections), len(keys))
        backwards = position is not None
    if position is None and after:
        position = decode_cursor(after, len(sections), len(keys))
    try:
        rows, more = _read(sections, keys, position, backwards, per_page)
    except (ValidationError, ValueError, TypeError):
        position = None  # curseur forgé : première page
        rows, more = _read(sections, keys, None, False, per_page)
    if backwards and not more:
        # Revenu au début de la liste : la première page, complète.
        position, backwards = None, False
        rows, more = _read(sections, keys, None, False, per_page)
    if backwards:
        rows.reverse()
    cursors = [encode_cursor(section, [key.value_of(row) for key in keys]) for section, row in rows]
    next_cursor = previous_cursor = None
    if rows:
        if backwards:
            next_cursor, previous_cursor = cursors[-1], cursors[0]
        else:
            next_cursor = cursors[-1] if more else None
            previous_cursor = cursors[0] if position is not None else None
    return KeysetPage(
        object_list=[row for _, row in rows],
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        is_first=position is None,
    )


def _read(sections, keys, position, backwards, per_page):
    """Lignes (section, ligne) dans le sens de lecture, et s'il en reste au-delà."""
    read_keys = [key.reversed() for key in keys] if backwards else keys
    order = [key.order() for key in read_keys]
    if position is None:
        start, values = (len(sections) - 1 if backwards else 0), None
    else:
        start, values = position
    step = -1 if backwards else 1
    rows = []
    index = start
    while 0 <= index < len(sections):
        queryset = sections[index]
        if values is not None and index == start:
            queryset = queryset.filter(_after(read_keys, values))
        wanted = per_page + 1 - len(rows)
        found = list(queryset.order_by(*order)[:wanted])
        rows.extend((index, row) for row in found)
        if len(rows) > per_page:
            return rows[:per_page], True
        index += step
    return rows, False
