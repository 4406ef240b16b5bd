"""Accord en nombre à la française : 0 et 1 au singulier."""

from django.template import Context, Template

from parcours.core.text import plural


def test_zero_and_one_are_singular_in_french():
    assert plural(0, "ligne lue", "lignes lues") == "0 ligne lue"
    assert plural(1, "ligne lue", "lignes lues") == "1 ligne lue"
    assert plural(2, "ligne lue", "lignes lues") == "2 lignes lues"
    assert plural(12345, "personne") == "12\u202f345 personnes"


def test_template_filter_agrees_with_the_number():
    template = Template('{% load parcours_text %}{{ n }} {{ n|accord:"revue prévue,revues prévues" }}')
    assert template.render(Context({"n": 0})) == "0 revue prévue"
    assert template.render(Context({"n": 1})) == "1 revue prévue"
    assert template.render(Context({"n": 3})) == "3 revues prévues"
    assert (
        Template('{% load parcours_text %}{{ n|accord:"service" }}').render(Context({"n": 8})) == "services"
    )
