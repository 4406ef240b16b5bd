"""Contrôle des SIRET : 14 chiffres, clé de Luhn du SIREN et du SIRET, exception de La Poste."""

import pytest

from parcours.accounts.siret import is_valid_siret, luhn_valid, normalize_siret, siret_problem


@pytest.mark.parametrize("siret", ["13000548100010", "130 005 481 00010", "22350001800013", "35600000000048"])
def test_valid_sirets(siret):
    assert is_valid_siret(siret)


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("13000548100011", "formule de Luhn"),
        ("12345678901234", "SIREN (123456789)"),
        ("1300054810001", "14 chiffres"),
        ("1,30005E+13", "14 chiffres"),
        ("35600000000049", "La Poste"),
    ],
)
def test_invalid_sirets_say_why_in_french(siret, message):
    assert message in siret_problem(normalize_siret(siret))


def test_la_poste_establishments_may_use_a_digit_sum_multiple_of_five():
    siret = "35600000012341"  # somme des chiffres : 25
    assert not luhn_valid(siret)
    assert is_valid_siret(siret)
    assert not is_valid_siret("13000548112341")  # hors La Poste, la clé de Luhn reste exigée
