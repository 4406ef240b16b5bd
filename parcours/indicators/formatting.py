"""Écriture lisible des indicateurs (nombres à la française, taux, délais) et libellés des types de contrat,
lus par le tableau de bord, l'accueil (``www.home``) et les chiffres figés des comités (``governance``) :
hors des vues, pour qu'un service n'importe pas la couche des pages."""

CONTRACT_LABELS = {"cer": "CER", "ppae": "PPAE", "contrat_engagement": "Contrat d'engagement"}


def _number(value, decimals=1):
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    if decimals and text.endswith(",0"):
        text = text[:-2]
    return text


def display(definition, value):
    """Valeur lisible ; « — » quand la population est vide (taux ou délai non calculable)."""
    if value is None:
        return "—"
    if definition.kind == "rate":
        return f"{_number(value * 100)}\u202f%"
    if definition.kind == "delay":
        return f"{_number(value)}\u202fj"
    return _number(value, 0)
