"""Contrôle des numéros SIRET (14 chiffres : SIREN sur 9 chiffres, puis NIC sur 5).

Le SIREN et le SIRET portent chacun une clé de contrôle selon la formule de Luhn (INSEE, répertoire
Sirene). Exception connue : les établissements de La Poste (SIREN 356 000 000), trop nombreux pour les
NIC disponibles, peuvent avoir un SIRET qui ne satisfait pas la formule de Luhn mais dont la somme des
chiffres est un multiple de 5.

    >>> siret_problem("13000548100010") is None
    True
    >>> siret_problem("1300054810001")
    'Le SIRET doit comporter 14 chiffres (valeur lue : « 1300054810001 »).'
"""

import re

LA_POSTE_SIREN = "356000000"


def luhn_valid(digits):
    """Vrai si la suite de chiffres satisfait la formule de Luhn (un chiffre sur deux doublé, depuis la droite)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_siret(value):
    """Le SIRET sans espaces ni points (tel qu'on le copie d'un annuaire : « 130 005 481 00010 »)."""
    return re.sub(r"[\s.\u00a0\u202f]", "", value or "")


def siret_problem(value):
    """Le message d'erreur (en français) d'un SIRET déjà normalisé, ou ``None`` s'il est valide."""
    if not re.fullmatch(r"\d{14}", value):
        return f"Le SIRET doit comporter 14 chiffres (valeur lue : « {value} »)."
    if value.startswith(LA_POSTE_SIREN):
        if luhn_valid(value) or sum(int(char) for char in value) % 5 == 0:
            return None
        return f"SIRET « {value} » invalide : la somme des chiffres d'un établissement de La Poste doit être un multiple de 5."
    if not luhn_valid(value[:9]):
        return f"SIRET « {value} » invalide : la clé de contrôle du SIREN ({value[:9]}) est fausse."
    if not luhn_valid(value):
        return f"SIRET « {value} » invalide : la clé de contrôle (formule de Luhn) est fausse."
    return None


def is_valid_siret(value):
    return siret_problem(normalize_siret(value)) is None
