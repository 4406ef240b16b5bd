"""Référentiel des communes (code INSEE, centre, département, EPCI) : chargement et résolution.

Formats acceptés : la liste de ``reference-data/data-inclusion/api/test-communes.json`` (centre en WKT
``POINT (lon lat)``) et celle de l'API Découpage administratif (``codeDepartement``, ``codeEpci``,
``codesPostaux``, ``centre`` GeoJSON). Une commune absente du référentiel peut quand même être
localisée par la moyenne des coordonnées des structures et services qui y sont.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Avg, Q
from django.db.models.functions import Length

from .geo import parse_point, valid_coordinates
from .importers import ImportRejected
from .models import Commune, Service, Structure
from .text import name_key

# Code INSEE (ou code postal) : 5 chiffres, ou 2A/2B et 3 chiffres pour la Corse. « Lille » est un nom.
_CODE = re.compile(r"^(\d{5}|2[ABab]\d{3})$")


def _str_code(value, width):
    if value is None or value == "":
        return ""
    text = str(value).strip()
    return text.zfill(width) if text.isdigit() else text


def load_communes(path):
    """Crée ou met à jour les communes d'un fichier. Renvoie ``{"created": n, "updated": n}``."""
    path = Path(path)
    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRejected(f"{path.name} : fichier JSON illisible ({exc}).") from exc
    if not isinstance(items, list):
        raise ImportRejected(f"{path.name} : une liste de communes est attendue.")
    counts = {"created": 0, "updated": 0}
    with transaction.atomic():
        for item in items:
            code = _str_code(item.get("code"), 5)
            if len(code) != 5:
                continue
            point = parse_point(item.get("centre"))
            values = {
                "nom": item.get("nom") or code,
                "departement": _str_code(item.get("departement", item.get("codeDepartement")), 2),
                "region": _str_code(item.get("region", item.get("codeRegion")), 2),
                "epci": _str_code(item.get("siren_epci", item.get("codeEpci")), 9),
                "codes_postaux": [str(c) for c in item.get("codes_postaux", item.get("codesPostaux")) or []],
                "latitude": point[0] if point else None,
                "longitude": point[1] if point else None,
            }
            _, created = Commune.objects.update_or_create(code=code, defaults=values)
            counts["created" if created else "updated"] += 1
    return counts


@dataclass
class Place:
    """Le lieu d'une recherche : une commune (ou les communes d'un code postal) et son centre."""

    code: str
    nom: str
    latitude: float | None
    longitude: float | None
    departement: str = ""
    epci: str = ""
    approximate: bool = False  # centre déduit des adresses du catalogue, faute de référentiel
    codes: tuple = ()  # codes INSEE des communes couvertes (plusieurs pour un code postal partagé)
    postal_code: str = ""  # code postal cherché, le cas échéant

    @property
    def label(self):
        if self.postal_code and len(self.codes) > 1:
            return f"{self.postal_code} ({self.nom})"
        return f"{self.nom} ({self.code})"

    @property
    def has_centre(self):
        return valid_coordinates(self.latitude, self.longitude)

    @property
    def commune_codes(self):
        return set(self.codes) | {self.code}


def _departement_of(code):
    return code[:3] if code.startswith("97") else code[:2]


def _from_catalogue(code, *, postal=False, name=""):
    """Centre approché d'une commune absente du référentiel : moyenne des coordonnées du catalogue."""
    rows = []
    column = "code_postal" if postal else "code_insee"
    for model in (Structure, Service):
        qs = model.objects.filter(**{column: code}, latitude__isnull=False, longitude__isnull=False)
        qs = qs.exclude(latitude=0, longitude=0)
        agg = qs.aggregate(lat=Avg("latitude"), lon=Avg("longitude"))
        first = qs.exclude(commune="").values_list("commune", "code_insee").first()
        if agg["lat"] is not None:
            rows.append((agg["lat"], agg["lon"], first))
    if not rows:
        return None
    lat, lon, first = rows[0]
    commune_name, insee = first or ("", "")
    insee = code if not postal else (insee or code)
    return Place(
        insee,
        name or commune_name or code,
        lat,
        lon,
        departement=_departement_of(insee),
        approximate=True,
        postal_code=code if postal else "",
    )


_WITH_HINT = re.compile(r"^(?P<name>.*?)\s*\((?P<hint>[^()]*)\)\s*$")
_CODE_AND_NAME = re.compile(r"^(?:(?P<c1>\d{5})\s+(?P<n1>\D.*)|(?P<n2>.*\D)\s+(?P<c2>\d{5}))$")


def _parse(text):
    """``(nom, code, indice de département)`` d'une saisie : « Redon », « 35600 », « Redon (35) »,
    « Saint-Malo (35288) », « 35400 Saint-Malo »."""
    name, code, departement = text, "", ""
    match = _WITH_HINT.match(text)
    if match:
        name, hint = match.group("name"), match.group("hint").strip()
        if _CODE.match(hint):
            code = hint
        elif re.fullmatch(r"\d{2,3}|2[ABab]", hint):
            departement = hint.upper()
    elif _CODE.match(text):
        name, code = "", text
    else:
        match = _CODE_AND_NAME.match(text)
        if match:
            code = match.group("c1") or match.group("c2")
            name = match.group("n1") or match.group("n2")
    return name.strip(), code.upper(), departement


def _place(commune, **extra):
    return Place(
        commune.code,
        commune.nom,
        commune.latitude,
        commune.longitude,
        departement=commune.departement,
        epci=commune.epci,
        **extra,
    )


def _prefer(communes, departements):
    """La commune du Département de l'agent d'abord, puis par code INSEE (ordre stable)."""
    return sorted(communes, key=lambda c: (c.departement not in departements, c.code))


def _postal_place(code, communes, departements):
    """Les communes d'un code postal : une seule, ou le centre moyen de toutes (« 35600 (Redon, …) »)."""
    communes = _prefer(communes, departements)
    if len(communes) == 1:
        return _place(communes[0], postal_code=code)
    main = communes[0]
    same = [c for c in communes if c.departement == main.departement]
    located = [c for c in same if valid_coordinates(c.latitude, c.longitude)]
    lat = sum(c.latitude for c in located) / len(located) if located else None
    lon = sum(c.longitude for c in located) / len(located) if located else None
    names = ", ".join(sorted((c.nom for c in same), key=name_key))
    return Place(
        main.code,
        names,
        lat,
        lon,
        departement=main.departement,
        epci=main.epci if all(c.epci == main.epci for c in same) else "",
        codes=tuple(c.code for c in same),
        postal_code=code,
    )


def _from_territories(name="", code=""):
    """Commune des territoires d'action sociale (sans centre connu du référentiel) : nom et code INSEE."""
    from parcours.accounts.models import TerritoryCommune

    qs = TerritoryCommune.objects.order_by("insee_code")
    if code:
        qs = qs.filter(Q(insee_code=code) | Q(postal_code=code))
    rows = list(qs.values_list("insee_code", "postal_code", "name")[:2000])
    if name:
        key = name_key(name)
        rows = [r for r in rows if name_key(r[2]) == key] or [
            r for r in rows if name_key(r[2]).startswith(key)
        ]
    if not rows:
        return None
    insee, postal, commune_name = rows[0]
    place = _from_catalogue(insee, name=commune_name)
    if place is None:
        place = Place(insee, commune_name, None, None, departement=_departement_of(insee))
    if code and code != insee:
        place.postal_code = code
    return place


def resolve(text, departements=()):
    """Commune désignée par un code INSEE, un code postal ou un nom (accents, casse, traits d'union et
    « St » indifférents). ``departements`` : codes des Départements de l'agent, préférés quand un nom
    ou un code postal désigne plusieurs communes."""
    text = " ".join((text or "").split())
    if not text:
        return None
    name, code, departement_hint = _parse(text)
    departements = {departement_hint} if departement_hint else set(departements or ())
    key = name_key(name) if name else ""
    if code:
        commune = Commune.objects.filter(code=code).first()
        if commune is not None:
            return _place(commune)
        if code.isdigit():
            candidates = [
                c for c in Commune.objects.filter(codes_postaux__icontains=code) if code in c.codes_postaux
            ]
            if key:
                candidates = [c for c in candidates if c.search_name.startswith(key)] or candidates
            if candidates:
                return _postal_place(code, candidates, departements)
        return (
            _from_catalogue(code)
            or _from_catalogue(code, postal=True)
            or _from_territories(name=name, code=code)
        )
    if not key:
        return None
    exact = list(Commune.objects.filter(search_name=key))
    if departement_hint:
        exact = [c for c in exact if c.departement == departement_hint] or exact
    if exact:
        return _place(_prefer(exact, departements)[0])
    prefix = list(
        Commune.objects.filter(search_name__startswith=key).order_by(Length("search_name"), "search_name")[
            :20
        ]
    )
    if departement_hint:
        prefix = [c for c in prefix if c.departement == departement_hint] or prefix
    if prefix:
        shortest = len(prefix[0].search_name)
        return _place(_prefer([c for c in prefix if len(c.search_name) == shortest], departements)[0])
    return _from_territories(name=name)


def suggest(text, limit=10):
    """Communes dont le nom ou le code commence par ``text`` (autocomplétion)."""
    name = name_key(text)
    if len(name) < 2:
        return []
    q = Q(search_name__startswith=name) | Q(code__startswith=name)
    return list(Commune.objects.filter(q).order_by(Length("search_name"), "search_name")[:limit])
