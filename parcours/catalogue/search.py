"""Recherche de services pour les référents.

Filtres dans l'URL (une recherche se partage par son lien) : ``commune`` (code INSEE, code postal ou
nom), ``rayon`` (km), ``thematiques`` (une catégorie vaut toutes ses thématiques), ``publics``,
``types``, ``frais``, ``q`` (texte libre, sans accents ni casse), ``distance=0`` pour exclure les
services à distance. La zone d'éligibilité de chaque service est respectée.

Ordre : les services en présentiel dans le rayon, du plus proche au plus lointain (distance au centre
de la commune, haversine calculée en Python après un pré-filtre rectangulaire en SQL), puis les
services à distance, par score de qualité. Sans commune : tous les services, par score de qualité.
"""

import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import F, Func, Q, TextField

from . import conf
from . import referentiels as ref
from .communes import Place, resolve
from .geo import bounding_box, haversine_km, valid_coordinates
from .models import Commune, Service
from .text import query_terms

_VALID = {
    "thematiques": {v for v, _ in ref.THEMATIQUE_CHOICES} | {v for v, _ in ref.CATEGORIE_CHOICES},
    "publics": {v for v, _ in ref.PUBLIC_CHOICES},
    "types": {v for v, _ in ref.TYPE_CHOICES},
    "frais": {v for v, _ in ref.FRAIS_CHOICES},
}

_FILTER_LABELS = {
    "thematiques": "thématiques",
    "publics": "publics",
    "types": "types de service",
    "frais": "frais",
}


@dataclass
class SearchParams:
    commune: str = ""
    rayon: int = 0
    thematiques: list = field(default_factory=list)
    publics: list = field(default_factory=list)
    types: list = field(default_factory=list)
    frais: list = field(default_factory=list)
    q: str = ""
    include_remote: bool = True
    page: int = 1
    errors: list = field(default_factory=list)

    @classmethod
    def from_query(cls, query):
        """Lit les paramètres d'une ``QueryDict`` (ou d'un dict de listes) ; ignore les valeurs inconnues."""

        def getlist(name):
            if hasattr(query, "getlist"):
                values = query.getlist(name)
            else:
                values = query.get(name) or []
                values = values if isinstance(values, list | tuple) else [values]
            out = []
            for value in values:
                out.extend(v.strip() for v in str(value).split(",") if v.strip())
            return out

        def getone(name, default=""):
            values = getlist(name) if name not in {"q", "commune"} else _raw(query, name)
            return values[0] if values else default

        params = cls(commune=getone("commune"), q=getone("q"))
        max_radius = conf.get("max_radius_km")
        raw_radius = getone("rayon")
        try:
            params.rayon = int(raw_radius) if raw_radius else conf.get("default_radius_km")
        except ValueError:
            params.rayon = conf.get("default_radius_km")
            params.errors.append(f"Rayon « {raw_radius} » invalide : {params.rayon} km retenus.")
        params.rayon = max(1, min(params.rayon, max_radius))
        for name in ("thematiques", "publics", "types", "frais"):
            values = getlist(name)
            unknown = [v for v in values if v not in _VALID[name]]
            if unknown:
                what = "Valeur inconnue ignorée" if len(unknown) == 1 else "Valeurs inconnues ignorées"
                params.errors.append(f"{what} ({_FILTER_LABELS[name]}) : {', '.join(unknown)}.")
            setattr(params, name, [v for v in dict.fromkeys(values) if v in _VALID[name]])
        params.include_remote = getone("distance", "1") not in {"0", "non", "false"}
        try:
            params.page = max(1, int(getone("page", "1")))
        except ValueError:
            params.page = 1
        return params

    def to_query(self, **overrides):
        """Chaîne de requête qui reproduit la recherche (lien à partager, pagination)."""
        data = {
            "commune": self.commune,
            "rayon": self.rayon if self.commune else "",
            "thematiques": self.thematiques,
            "publics": self.publics,
            "types": self.types,
            "frais": self.frais,
            "q": self.q,
            "distance": "" if self.include_remote else "0",
            "page": self.page if self.page > 1 else "",
        }
        data.update(overrides)
        pairs = []
        for key, value in data.items():
            if isinstance(value, list):
                pairs.extend((key, v) for v in value)
            elif value not in ("", None):
                pairs.append((key, value))
        return urlencode(pairs)

    @property
    def is_empty(self):
        return not any([self.commune, self.thematiques, self.publics, self.types, self.frais, self.q])


def _raw(query, name):
    if hasattr(query, "getlist"):
        return [v.strip() for v in query.getlist(name) if v.strip()]
    value = query.get(name)
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value).strip()] if value else []


@dataclass
class Result:
    service: Service
    distance_km: float | None = None
    mode: str = "presentiel"  # "presentiel" | "distance" | "tous"
    approximate_position: bool = False  # position du service déduite du centre de sa commune
    latitude: float | None = None
    longitude: float | None = None
    rank: int = 0

    @property
    def distance_label(self):
        if self.distance_km is None:
            return ""
        if self.distance_km < 1:
            return "à moins de 1 km"
        return f"à {self.distance_km:.1f} km".replace(".", ",")


@dataclass
class SearchOutcome:
    params: SearchParams
    place: Place | None
    results: list
    total: int
    page: int
    pages: int
    in_person_count: int = 0
    messages: list = field(default_factory=list)

    @property
    def remote_count(self):
        """Services à distance listés après ceux du rayon (recherche autour d'une commune)."""
        return self.total - self.in_person_count

    @property
    def has_previous(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages


def filtered_queryset(params, place=None):
    """Services actifs qui passent les filtres (sans la distance)."""
    qs = Service.objects.active().select_related("structure")
    if params.thematiques:
        qs = _filter_thematiques(qs, params.thematiques)
    if params.publics:
        q = Q(publics_index__contains=f"|{ref.TOUS_PUBLICS}|")
        for value in params.publics:
            q |= Q(publics_index__contains=f"|{value}|")
        qs = qs.filter(q)
    if params.types:
        qs = qs.filter(type__in=params.types)
    if params.frais:
        qs = qs.filter(frais__in=params.frais)
    for term in query_terms(params.q):
        qs = qs.filter(search_text__contains=term)
    if place is not None:
        qs = qs.filter(eligibility_q(place))
    return qs


class _IndexValues(Func):
    """``string_to_array(colonne, '|')`` : la liste « |a|b| » en tableau PostgreSQL (index GIN, migration 0002)."""

    function = "string_to_array"
    template = "%(function)s(%(expressions)s, '|')"
    output_field = ArrayField(TextField())


def _filter_thematiques(qs, values):
    """Services qui portent l'une des thématiques (une catégorie vaut ses thématiques et sa propre marque).

    ``thematiques_index`` contient chaque thématique et chaque catégorie (« |mobilite--| ») du service.
    Sur PostgreSQL, le filtre est un recouvrement de tableaux servi par un index GIN ; ailleurs, un
    ``LIKE`` par valeur.
    """
    wanted = set(ref.expand_thematiques(values))
    wanted |= {f"{v}{ref.THEMATIQUE_SEPARATOR}" for v in values if v in ref.thematiques_by_categorie()}
    wanted = sorted(wanted)
    if not wanted:
        return qs.none()
    if connection.vendor == "postgresql":
        return qs.alias(_thematiques=_IndexValues("thematiques_index")).filter(_thematiques__overlap=wanted)
    q = Q(pk__in=[])
    for value in wanted:
        q |= Q(thematiques_index__contains=f"|{value}|")
    return qs.filter(q)


def eligibility_q(place):
    """Services dont la zone d'éligibilité couvre la commune (zone absente : pas de restriction connue)."""
    q = Q(zone_index="")
    codes = set(ref.FRANCE_CODES) | place.commune_codes
    if place.departement:
        codes.add(place.departement)
    if place.epci:
        codes.add(place.epci)
    for code in codes:
        q |= Q(zone_index__contains=f"|{code}|")
    return q


def _quality_order():
    return [F("quality_score").desc(nulls_last=True), "nom", "pk"]


@dataclass
class _Hit:
    """Un service en présentiel dans le rayon, avant le chargement de la page (colonnes utiles seulement)."""

    pk: int
    distance_km: float
    approximate: bool
    latitude: float
    longitude: float
    remote: bool


def _in_person(qs, place, radius_km):
    """Services en présentiel dans le rayon, avec leur distance, triés du plus proche au plus lointain.

    Seules les colonnes nécessaires au classement sont lues (pré-filtre rectangulaire sur l'index
    ``latitude``/``longitude``) ; les services de la page affichée sont chargés ensuite.
    """
    lat_min, lat_max, lon_min, lon_max = bounding_box(place.latitude, place.longitude, radius_km)
    communes = {
        code: (lat, lon)
        for code, lat, lon in Commune.objects.filter(
            latitude__range=(lat_min, lat_max), longitude__range=(lon_min, lon_max)
        )
        .order_by()
        .values_list("code", "latitude", "longitude")
    }
    if place.approximate:
        communes[place.code] = (place.latitude, place.longitude)
    located = Q(latitude__range=(lat_min, lat_max), longitude__range=(lon_min, lon_max))
    by_commune = Q(latitude__isnull=True, code_insee__in=list(communes))
    rows = (
        qs.filter(in_person=True)
        .filter(located | by_commune)
        .order_by()
        .values_list("pk", "latitude", "longitude", "code_insee", "quality_score", "nom", "remote")
    )
    ranked = []
    for pk, lat, lon, code_insee, quality, nom, remote in rows:
        approximate = False
        if not valid_coordinates(lat, lon):
            if code_insee not in communes:
                continue
            lat, lon = communes[code_insee]
            approximate = True
            if not valid_coordinates(lat, lon):
                continue
        distance = haversine_km(place.latitude, place.longitude, lat, lon)
        if distance <= radius_km:
            hit = _Hit(pk, distance, approximate, lat, lon, remote)
            ranked.append(((distance, -(quality or 0), nom, pk), hit))
    ranked.sort(key=lambda item: item[0])
    return [hit for _, hit in ranked]


def _load(pks):
    """Services de la page, avec leur structure, dans l'ordre de ``pks``."""
    found = Service.objects.select_related("structure").in_bulk(pks)
    return [found[pk] for pk in pks if pk in found]


def search(params, page_size=None, departements=()):
    """Résultats d'une recherche ; ``departements`` : codes des Départements de l'agent, préférés quand
    un nom de commune ou un code postal est ambigu."""
    page_size = page_size or conf.get("page_size")
    messages = list(params.errors)
    place = None
    if params.commune:
        place = resolve(params.commune, departements)
        if place is None:
            messages.append(
                f"Commune « {params.commune} » introuvable : la recherche porte sur tout le catalogue."
            )
    qs = filtered_queryset(params, place)
    if place is not None and place.has_centre:
        hits = _in_person(qs, place, params.rayon)
        remote_pks = []
        if params.include_remote:
            # Un service à la fois sur place et à distance n'apparaît qu'une fois, avec sa distance.
            # Une seule lecture (identifiants triés) sert au total et à la page.
            both = {h.pk for h in hits if h.remote}
            remote_pks = [
                pk
                for pk in qs.filter(remote=True).order_by(*_quality_order()).values_list("pk", flat=True)
                if pk not in both
            ]
        total = len(hits) + len(remote_pks)
        pages = max(1, math.ceil(total / page_size))
        page = min(params.page, pages)
        start, end = (page - 1) * page_size, page * page_size
        page_hits = hits[start:end]
        page_remote = remote_pks[max(0, start - len(hits)) : max(0, end - len(hits))]
        services = {s.pk: s for s in _load([h.pk for h in page_hits] + page_remote)}
        results = [
            Result(services[h.pk], h.distance_km, "presentiel", h.approximate, h.latitude, h.longitude)
            for h in page_hits
            if h.pk in services
        ]
        results += [Result(services[pk], None, "distance") for pk in page_remote if pk in services]
        _rank(results, start)
        return SearchOutcome(params, place, results, total, page, pages, len(hits), messages)
    if place is not None:
        messages.append(f"Centre de {place.label} inconnu : les distances ne sont pas calculées.")
    if not params.include_remote:
        qs = qs.filter(in_person=True)
    qs = qs.order_by(*_quality_order())
    total = qs.count()
    pages = max(1, math.ceil(total / page_size))
    page = min(params.page, pages)
    services = qs[(page - 1) * page_size : page * page_size]
    results = [Result(s, None, "tous", latitude=s.latitude, longitude=s.longitude) for s in services]
    _rank(results, (page - 1) * page_size)
    return SearchOutcome(params, place, results, total, page, pages, 0, messages)


def _rank(results, offset):
    for index, result in enumerate(results, start=1):
        result.rank = offset + index


def map_points(outcome, size=400, margin=20):
    """Projection équirectangulaire des résultats en présentiel autour du centre (carte SVG hors ligne)."""
    place = outcome.place
    if place is None or not place.has_centre:
        return None
    radius = outcome.params.rayon
    scale = (size / 2 - margin) / radius  # pixels par km
    cos_lat = math.cos(math.radians(place.latitude))
    points = []
    for result in outcome.results:
        if result.mode != "presentiel" or result.latitude is None:
            continue
        dx = (result.longitude - place.longitude) * 111.32 * cos_lat
        dy = (result.latitude - place.latitude) * 110.57
        points.append(
            {
                "x": round(size / 2 + dx * scale, 1),
                "y": round(size / 2 - dy * scale, 1),
                "rank": result.rank,
                "label": result.service.nom,
                "approximate": result.approximate_position,
            }
        )
    return {"size": size, "centre": size / 2, "radius_px": round(radius * scale, 1), "points": points}
