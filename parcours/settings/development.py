"""Poste de travail et démonstration (``make run``) : clés de développement fixes si aucune n'est fournie.

Le mode débogage reste éteint sauf ``PARCOURS_DEBUG=1`` (ou ``parcours serve --dev``).
"""

from .base import *  # noqa: F403
from .base import SECRET_KEY

if not SECRET_KEY:
    # Clé fixe, connue de tous : jamais en production (parcours.settings.production l'exige).
    SECRET_KEY = "dev-insecure-parcours-key-do-not-use-in-production"  # noqa: S105
