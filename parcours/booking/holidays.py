"""Jours fériés français, calculés sans appel réseau (Code du travail, art. L3133-1).

Dates fixes : 1er janvier, 1er mai, 8 mai, 14 juillet, 15 août, 1er novembre, 11 novembre, 25 décembre ;
dates mobiles tirées de Pâques : lundi de Pâques, Ascension (Pâques + 39 jours), lundi de Pentecôte
(Pâques + 50 jours). En Alsace-Moselle (Bas-Rhin 67, Haut-Rhin 68, Moselle 57 ; art. L3134-13) : en plus le
Vendredi saint et le 26 décembre.
"""

import datetime
import functools

FIXED = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
ALSACE_MOSELLE = frozenset({"57", "67", "68"})


def easter_sunday(year):
    """Dimanche de Pâques (calendrier grégorien, algorithme de Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


@functools.lru_cache(maxsize=128)
def french_holidays(year, departement_code=""):
    """Les jours fériés de l'année ``year`` : ``{date: libellé}``."""
    easter = easter_sunday(year)
    days = {
        datetime.date(year, 1, 1): "Jour de l'an",
        datetime.date(year, 5, 1): "Fête du travail",
        datetime.date(year, 5, 8): "Victoire 1945",
        datetime.date(year, 7, 14): "Fête nationale",
        datetime.date(year, 8, 15): "Assomption",
        datetime.date(year, 11, 1): "Toussaint",
        datetime.date(year, 11, 11): "Armistice 1918",
        datetime.date(year, 12, 25): "Noël",
        easter + datetime.timedelta(days=1): "Lundi de Pâques",
        easter + datetime.timedelta(days=39): "Ascension",
        easter + datetime.timedelta(days=50): "Lundi de Pentecôte",
    }
    if departement_code in ALSACE_MOSELLE:
        days[easter - datetime.timedelta(days=2)] = "Vendredi saint"
        days[datetime.date(year, 12, 26)] = "Saint Étienne"
    return days


def is_holiday(day, departement_code=""):
    return day in french_holidays(day.year, departement_code or "")
