"""La liste déroulante des longues listes (``LongSelect``) écrit le même HTML que celle de Django : mêmes
attributs, même option choisie, mêmes groupes, texte échappé."""

import re

import pytest
from django import forms

from parcours.core.forms import LongSelect, LongSelectMultiple

CHOICES = [("", "Choisir"), ("1-7", "Anne Le Roux — CCAS & co (3/60)"), ("Groupe <b>", [("2-9", "<script>")])]


def _form(widget, data=None, initial=None):
    class Form(forms.Form):
        referent = forms.ChoiceField(choices=CHOICES, widget=widget(attrs={"class": "fr-select"}))

    return Form(data=data, initial=initial)


def _normalised(html):
    """Le HTML sans les blancs entre balises, les attributs de la balise ``select`` triés (leur ordre est libre)."""
    html = re.sub(r">\s+<", "><", html.strip())
    opening, rest = html.split(">", 1)
    return sorted(re.findall(r'\w[\w-]*(?:="[^"]*")?', opening)), rest


@pytest.mark.parametrize(
    "data, initial",
    [(None, None), (None, {"referent": "2-9"}), ({"referent": "1-7"}, None), ({"referent": ""}, None)],
)
def test_long_select_writes_the_html_of_django_select(data, initial):
    fast, django = _form(LongSelect, data, initial), _form(forms.Select, data, initial)
    fast.is_valid(), django.is_valid()  # erreurs : attribut aria-invalid des deux côtés
    assert _normalised(str(fast["referent"])) == _normalised(str(django["referent"]))
    assert "&lt;script&gt;" in str(fast["referent"]) and "<script>" not in str(fast["referent"])


def test_long_select_marks_the_chosen_option():
    html = str(_form(LongSelect, initial={"referent": "2-9"})["referent"])
    assert '<option value="2-9" selected>' in html
    assert html.count(" selected") == 1


@pytest.mark.parametrize("data", [None, {"people": ["1-7", "2-9"]}, {"people": []}])
def test_long_select_multiple_writes_the_html_of_django_select_multiple(data):
    def form(widget):
        class Form(forms.Form):
            people = forms.MultipleChoiceField(
                choices=CHOICES[1:], required=False, widget=widget(attrs={"class": "fr-select", "size": 4})
            )

        return Form(data=data)

    fast, django = form(LongSelectMultiple), form(forms.SelectMultiple)
    fast.is_valid(), django.is_valid()
    assert _normalised(str(fast["people"])) == _normalised(str(django["people"]))
    assert "multiple" in str(fast["people"])
    if data and data["people"]:
        assert str(fast["people"]).count(" selected") == 2
