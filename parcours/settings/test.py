"""Suite de tests (pytest) : réglages de développement, hachage de mots de passe rapide, imports en ligne."""

from .development import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PARCOURS_IMPORT_IN_BACKGROUND = False
