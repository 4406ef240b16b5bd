"""Suite de tests (pytest) : réglages de développement, hachage de mots de passe rapide, imports en ligne."""

import os

from .development import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PARCOURS_IMPORT_IN_BACKGROUND = False

# Les fichiers statiques des tests ne dépendent pas d'une collecte faite sur le poste (« make run » collecte dans
# var/static) : sans manifeste, les pages citent les noms d'origine, que le serveur des tests de navigateur sert.
# Un dossier propre aux tests, jamais collecté (la collecte d'un test passe par PARCOURS_STATIC_ROOT).
if not os.environ.get("PARCOURS_STATIC_ROOT"):
    STATIC_ROOT = DATA_DIR / "static-tests"  # noqa: F405
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
