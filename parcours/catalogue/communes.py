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

from .geo import parse_point, valid_coordinates
from .importers import ImportRejected
from .models import Commune, Service, Structure
from .text import normalize

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
    """Le lieu d'une recherche : une commune et son centre."""

    code: str
    nom: str
    latitude: float | None
    longitude: float | None
    departement: str = ""
    epci: str = ""
    approximate: bool = False  # centre déduit des adresses du catalogue, faute de référentiel

    @property
    def label(self):
        return f"{self.nom} ({self.code})"

    @property
    def has_centre(self):
        return valid_coordinates(self.latitude, self.longitude)


def _departement_of(code):
    return code[:3] if code.startswith("97") else code[:2]


def _from_catalogue(code):
    """Centre approché d'une commune absente du référentiel : moyenne des coordonnées du catalogue."""
    rows = []
    for model in (Structure, Service):
        qs = model.objects.filter(code_insee=code, latitude__isnull=False, longitude__isnull=False)
        qs = qs.exclude(latitude=0, longitude=0)
        agg = qs.aggregate(lat=Avg("latitude"), lon=Avg("longitude"))
        name = qs.exclude(commune="").values_list("commune", flat=True).first()
        if agg["lat"] is not None:
            rows.append((agg["lat"], agg["lon"], name))
    if not rows:
        return None
    lat, lon, name = rows[0]
    return Place(code, name or code, lat, lon, departement=_departement_of(code), approximate=True)


def resolve(text):
    """Commune désignée par un code INSEE, un code postal ou un nom (accents et casse ignorés)."""
    text = (text or "").strip()
    if not text:
        return None
    code = text.split("(")[-1].rstrip(")").strip() if "(" in text else text
    commune = None
    if _CODE.match(code):
        commune = Commune.objects.filter(code=code.upper()).first()
        if commune is None and code.isdigit():
            candidates = [
                c for c in Commune.objects.filter(codes_postaux__icontains=code) if code in c.codes_postaux
            ]
            commune = candidates[0] if candidates else None
        if commune is None:
            return _from_catalogue(code.upper())
    if commune is None:
        name = normalize(text).strip()
        commune = (
            Commune.objects.filter(search_name=name).first()
            or Commune.objects.filter(search_name__startswith=name).order_by("search_name").first()
        )
    if commune is None:
        return None
    return Place(
        commune.code,
        commune.nom,
        commune.latitude,
        commune.longitude,
        departement=commune.departement,
        epci=commune.epci,
    )


def suggest(text, limit=10):
    """Communes dont le nom commence par ``text`` (autocomplétion)."""
    name = normalize(text).strip()
    if len(name) < 2:
        return []
    q = Q(search_name__startswith=name) | Q(code__startswith=name)
    return list(Commune.objects.filter(q).order_by("search_name")[:limit])
