"""Aide des formulaires des pages : une erreur de validation levée par un service, reportée sur le formulaire ;
une liste déroulante pour les longues listes de choix."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe


def add_validation_errors(form, error):
    """Reporte ``error`` (``ValidationError`` d'un service) sur ``form`` : chaque message sous son champ quand le
    formulaire l'a, sinon en tête du formulaire."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class LongSelect(forms.Select):
    """Liste déroulante de centaines de choix (référents d'un grand Département) : les options sont écrites
    directement, sans le gabarit de Django par option, qui coûtait 0,3 ms chacune (280 référents : 90 ms de la
    page d'orientation). Même HTML que ``forms.Select`` : attributs, option choisie, groupes ``(libellé, choix)``."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        final = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final["multiple"] = True
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(final), self._options(self.choices, chosen)
        )

    def _options(self, choices, chosen):
        parts = []
        for option_value, label in choices:
            if isinstance(label, (list, tuple)):
                group = conditional_escape(option_value)
                parts.append(f'<optgroup label="{group}">{self._options(label, chosen)}</optgroup>')
                continue
            key = "" if option_value is None else str(option_value)
            selected = " selected" if key in chosen else ""
            parts.append(f'<option value="{escape(key)}"{selected}>{conditional_escape(label)}</option>')
        return mark_safe("".join(parts))  # noqa: S308 (valeurs et libellés échappés un à un)


class LongSelectMultiple(LongSelect, forms.SelectMultiple):
    """``LongSelect`` à choix multiple (professionnels d'un rendez-vous parmi les agents du Département)."""
