"""Serveur d'un Département : clés obligatoires, cookies sécurisés, en-têtes HTTPS (docs/exploitation.md).

``DJANGO_SETTINGS_MODULE=parcours.settings.production parcours check --deploy`` est propre.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, PARCOURS_AUDIT_KEY, PARCOURS_NIR_KEY, SECRET_KEY, env_bool

DEBUG = False
for _name, _value in (
    ("PARCOURS_SECRET_KEY", SECRET_KEY),
    ("PARCOURS_NIR_KEY", PARCOURS_NIR_KEY),
    ("PARCOURS_AUDIT_KEY", PARCOURS_AUDIT_KEY),
):
    if not _value:
        raise ImproperlyConfigured(f"{_name} doit être défini en production (voir docs/exploitation.md).")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("PARCOURS_SECRET_KEY : au moins 50 caractères aléatoires sont attendus.")

# Imports déposés sur le web : par la file des tâches de fond (processus « worker »).
PARCOURS_IMPORT_RUNNER = os.environ.get("PARCOURS_IMPORT_RUNNER", "jobs")

EMAIL_BACKEND = os.environ.get("PARCOURS_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# Derrière le mandataire inverse (reverse proxy) qui termine TLS : il transmet X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("PARCOURS_SSL_REDIRECT", True)
# /healthz est interrogé en HTTP par la sonde locale (conteneur, superviseur).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("PARCOURS_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PARCOURS_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("PARCOURS_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PARCOURS_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# Inscription à la liste de préchargement HSTS des navigateurs : décision du Département pour tout son domaine
# (PARCOURS_HSTS_PRELOAD=1) ; sans elle, l'avertissement correspondant est sans objet.
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Adresse publique du service, pour les liens envoyés hors d'une requête (lien de prise de rendez-vous des SMS
# et courriels) : PARCOURS_SITE_URL, sinon https:// et le premier nom de PARCOURS_ALLOWED_HOSTS.
if "PARCOURS_SITE_URL" not in os.environ:
    _public = [
        h
        for h in ALLOWED_HOSTS
        if h not in ("*", "localhost", "127.0.0.1", "[::1]") and not h.startswith(".")
    ]
    if _public:
        PARCOURS_SITE_URL = f"https://{_public[0]}"
