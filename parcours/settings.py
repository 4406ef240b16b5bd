"""Réglages de Parcours, lus dans l'environnement avec des valeurs par défaut sûres.

Variables reconnues (toutes optionnelles en développement) :
- ``DATABASE_URL`` : ``sqlite:///chemin.db`` ou ``postgres://…`` (défaut : SQLite dans ``var/``) ;
- ``PARCOURS_SECRET_KEY`` (obligatoire si ``PARCOURS_DEBUG`` vaut 0) ;
- ``PARCOURS_DEBUG`` (``1`` par défaut en local) ;
- ``PARCOURS_ALLOWED_HOSTS`` (liste séparée par des virgules) ;
- ``PARCOURS_DATA_DIR`` : dossier des données locales (base SQLite, fichiers importés, cache).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PARCOURS_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "oui", "on"}


DEBUG = env_bool("PARCOURS_DEBUG", True)
SECRET_KEY = os.environ.get("PARCOURS_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("PARCOURS_SECRET_KEY doit être défini en production.")
    SECRET_KEY = "dev-insecure-parcours-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("PARCOURS_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "widget_tweaks",
    "dsfr",
    "parcours.core",
    "parcours.accounts",
    "parcours.beneficiaries",
    "parcours.journal",
    "parcours.intake",
    "parcours.orientation",
    "parcours.accompaniment",
    "parcours.conventions",
    "parcours.catalogue",
    "parcours.www",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "parcours.urls"
WSGI_APPLICATION = "parcours.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "parcours" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "parcours.core.context_processors.site",
                "parcours.core.context_processors.navigation",
                "parcours.core.context_processors.home_dashboard",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'parcours.sqlite3'}",
        conn_max_age=int(os.environ.get("PARCOURS_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("PARCOURS_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Taille maximale d'un fichier de flux déposé depuis l'interface (octets).
PARCOURS_IMPORT_MAX_UPLOAD_BYTES = int(
    os.environ.get("PARCOURS_IMPORT_MAX_UPLOAD_BYTES", str(500 * 1024 * 1024))
)
# Les imports déposés sur le web tournent dans un fil d'exécution séparé (False : en ligne, pour les tests).
PARCOURS_IMPORT_IN_BACKGROUND = env_bool("PARCOURS_IMPORT_IN_BACKGROUND", True)

# Délais métier : valeurs par défaut, surchargées par Département (Organisation.delay_overrides).
PARCOURS_DELAYS = {
    # Objectif de pilotage : orientation notifiée au plus tard à T0 + 14 jours (T0 = jour 1).
    "orientation_target_days": 15,
    # Délai légal d'orientation (6 semaines depuis 2025, CASF D262-65-2).
    "orientation_legal_days": 42,
    # Au-delà de ce nombre de mois de suspension, l'accompagnement est clos (annexe 4 de la convention).
    "suspension_closes_follow_up_months": 12,
    # Conservation des données après la fin de l'accompagnement (mois d'inactivité).
    "retention_inactive_months": 24,
    # Contrat d'engagement signé au plus tard 1 mois après la notification de l'orientation (D5411-14-1).
    "contract_deadline_months": 1,
    # Révision du contrat proposée par défaut 6 mois après la signature (revue conjointe, CASF L262-31).
    "contract_review_months": 6,
    # Invitations à l'orientation : relance automatique au 3e jour après l'envoi, expiration après 10 jours.
    "invitation_reminder_days": 3,
    "invitation_validity_days": 10,
}

# Envoi des invitations (parcours.orientation) : courriel par Django (console en développement, SMTP en
# production), SMS par un prestataire choisi par réglage (console, fichier ou API HTTP Brevo).
EMAIL_BACKEND = os.environ.get(
    "PARCOURS_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("PARCOURS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("PARCOURS_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("PARCOURS_FROM_EMAIL", "ne-pas-repondre@parcours.local")
PARCOURS_SMS_BACKEND = os.environ.get("PARCOURS_SMS_BACKEND", "parcours.orientation.sms.ConsoleSmsBackend")
PARCOURS_SMS_SENDER = os.environ.get("PARCOURS_SMS_SENDER", "Departement")
PARCOURS_SMS_API_KEY = os.environ.get("PARCOURS_SMS_API_KEY", "")
# Taille cible par défaut du portefeuille d'un référent (surchargée par organisation : PortfolioCap).
PARCOURS_PORTFOLIO_CAP = int(os.environ.get("PARCOURS_PORTFOLIO_CAP", "60"))

SITE_TITLE = "Parcours"
SITE_TAGLINE = "Accompagnement rénové des allocataires du RSA"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PARCOURS_LOG_LEVEL", "WARNING")},
}
