"""Distances : centre des communes, pré-filtre rectangulaire en SQL, haversine en Python."""

import math
import re

EARTH_RADIUS_KM = 6371.0088
_WKT_POINT = re.compile(r"^\s*POINT\s*\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)\s*$", re.IGNORECASE)


def haversine_km(lat1, lon1, lat2, lon2):
    """Distance orthodromique en kilomètres entre deux points (degrés décimaux)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat, lon, radius_km):
    """Rectangle (lat_min, lat_max, lon_min, lon_max) qui contient le cercle de rayon ``radius_km``."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(lat)), 0.01)
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def parse_point(value):
    """``(latitude, longitude)`` depuis un point WKT ``POINT (lon lat)`` ou un point GeoJSON, sinon None."""
    if not value:
        return None
    if isinstance(value, dict):
        coords = value.get("coordinates") or []
        if value.get("type") == "Point" and len(coords) == 2:
            return float(coords[1]), float(coords[0])
        return None
    match = _WKT_POINT.match(str(value))
    if not match:
        return None
    lon, lat = float(match.group(1)), float(match.group(2))
    return lat, lon


def valid_coordinates(lat, lon):
    """Coordonnées exploitables : présentes, dans les bornes, et pas le point (0, 0) des exports vides."""
    if lat is None or lon is None:
        return False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (lat == 0 and lon == 0)
