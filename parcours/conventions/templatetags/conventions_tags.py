from decimal import Decimal

from django import template

from ..services import format_euros

register = template.Library()


@register.filter
def euros(value):
    """Montant en euros à la française : « 624 670,00 € »."""
    return format_euros(value)


@register.filter
def percent(value):
    """Taux (0,5) affiché en pourcentage (« 50 % »)."""
    if value is None:
        return "—"
    rate = (Decimal(value) * 100).quantize(Decimal("0.1"))
    text = f"{rate:f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}\u00a0%"
