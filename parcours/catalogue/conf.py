"""Réglages du catalogue : valeurs par défaut, surchargeables par ``PARCOURS_CATALOGUE`` dans les réglages.

Exemple dans ``settings.py`` ::

    PARCOURS_CATALOGUE = {"prescription_expiry_days": 45, "source": "cd35"}
"""

from django.conf import settings

DEFAULTS = {
    # Identifiant de producteur (champ ``source`` du schéma) des structures et services saisis dans Parcours.
    "source": "parcours",
    # Cycle de vie des prescriptions (référence : DORA).
    "prescription_expiry_days": 30,  # une prescription sans réponse expire après ce nombre de jours
    "prescription_reminder_days": 10,  # relance de la structure après ce nombre de jours sans réponse
    "answer_link_days": 8,  # validité du lien signé de réponse envoyé à la structure
    "prescription_anonymise_days": 730,  # effacement des données transmises après ce délai
    # Recherche.
    "default_radius_km": 20,
    "max_radius_km": 200,
    "page_size": 20,
    # Publication : taille de page par défaut et maximale de l'API.
    "api_page_size": 100,
    "api_max_page_size": 1000,
    # Adresse publique de Parcours, pour les liens envoyés par courriel hors d'une requête (relances).
    "site_url": "http://127.0.0.1:8000",
    # Adresse d'expéditeur des courriels de prescription (par défaut DEFAULT_FROM_EMAIL).
    "from_email": None,
}


def get(name):
    """Valeur du réglage ``name`` du catalogue (réglages du projet, sinon valeur par défaut)."""
    if name not in DEFAULTS:
        raise KeyError(f"Réglage du catalogue inconnu : {name}")
    overrides = getattr(settings, "PARCOURS_CATALOGUE", None) or {}
    return overrides.get(name, DEFAULTS[name])
