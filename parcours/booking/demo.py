"""Plages de rendez-vous de démonstration : chaque organisation du territoire de démonstration publie des
plages (entretiens d'orientation, diagnostics, réunion collective, suivis), pour que ``make run`` montre des
créneaux sur la page de prise de rendez-vous et dans l'agenda."""

import datetime

from .models import Closure, Mode, OpeningPattern, Purpose

REDON = ("Centre départemental d'action sociale, 9 rue Joseph Lemoine", "35600", "Redon")
SAINT_MALO = ("Centre départemental d'action sociale, 7 rue de la Ville Pépin", "35400", "Saint-Malo")

# (clé de l'organisation, e-mail de l'agent ou None, type, modalité, lieu, jour, début, fin, minutes, places)
PLAN = [
    (
        "departement",
        "referent.redon@demo.parcours.fr",
        Purpose.ORIENTATION,
        Mode.PLACE,
        REDON,
        0,
        "09:00",
        "12:00",
        45,
        1,
    ),
    (
        "departement",
        "referent.redon@demo.parcours.fr",
        Purpose.ORIENTATION,
        Mode.PLACE,
        REDON,
        2,
        "14:00",
        "17:00",
        45,
        1,
    ),
    (
        "departement",
        "referent.saintmalo@demo.parcours.fr",
        Purpose.ORIENTATION,
        Mode.PLACE,
        SAINT_MALO,
        1,
        "09:00",
        "12:00",
        45,
        1,
    ),
    (
        "departement",
        "referent.saintmalo@demo.parcours.fr",
        Purpose.ORIENTATION,
        Mode.PHONE,
        SAINT_MALO,
        3,
        "14:00",
        "16:00",
        30,
        1,
    ),
    ("departement", None, Purpose.COLLECTIVE, Mode.PLACE, REDON, 3, "09:30", "11:30", 120, 12),
    (
        "ft_redon",
        "ft.redon@demo.parcours.fr",
        Purpose.DIAGNOSTIC,
        Mode.PLACE,
        ("France Travail, 5 rue de Vannes", "35600", "Redon"),
        1,
        "13:30",
        "16:30",
        60,
        1,
    ),
    (
        "ft_stmalo",
        "ft.saintmalo@demo.parcours.fr",
        Purpose.DIAGNOSTIC,
        Mode.PLACE,
        ("France Travail, 3 avenue Jean Jaurès", "35400", "Saint-Malo"),
        4,
        "09:00",
        "12:00",
        60,
        1,
    ),
    (
        "mission_locale",
        "mission-locale@demo.parcours.fr",
        Purpose.ORIENTATION,
        Mode.VISIO,
        ("", "35120", "Dol-de-Bretagne"),
        2,
        "09:00",
        "12:00",
        45,
        1,
    ),
    (
        "ccas",
        "ccas.redon@demo.parcours.fr",
        Purpose.FOLLOW_UP,
        Mode.PLACE,
        ("CCAS, place de l'Hôtel de Ville", "35600", "Redon"),
        4,
        "14:00",
        "17:00",
        45,
        1,
    ),
    (
        "association",
        "association@demo.parcours.fr",
        Purpose.FOLLOW_UP,
        Mode.PLACE,
        ("Tremplin Vilaine, 12 quai Surcouf", "35600", "Redon"),
        0,
        "14:00",
        "17:00",
        45,
        1,
    ),
]
PHONES = {"departement": "02 99 02 35 35", "ft_redon": "3949", "ft_stmalo": "3949"}


def _time(text):
    return datetime.time.fromisoformat(text)


def populate_demo(organisations, agents, *, today):
    """Crée les plages de démonstration (et une fermeture de l'agence de Saint-Malo) ; renvoie leur nombre."""
    created = []
    for key, email, purpose, mode, (place, postal_code, city), weekday, start, end, minutes, capacity in PLAN:
        if key not in organisations:
            continue
        created.append(
            OpeningPattern(
                organisation=organisations[key],
                agent=agents.get(email) if email else None,
                purpose=purpose,
                mode=mode,
                place=place,
                postal_code=postal_code,
                city=city,
                phone=PHONES.get(key, "02 99 02 35 35"),
                weekday=weekday,
                start_time=_time(start),
                end_time=_time(end),
                slot_minutes=minutes,
                capacity=capacity,
                valid_from=today - datetime.timedelta(days=30),
            )
        )
    OpeningPattern.objects.bulk_create(created)
    if "ft_stmalo" in organisations:
        monday = today + datetime.timedelta(days=14 - today.weekday())
        Closure.objects.create(
            organisation=organisations["ft_stmalo"],
            starts_on=monday,
            ends_on=monday + datetime.timedelta(days=4),
            reason="Formation de l'équipe",
        )
    return {"plages": len(created)}
