"""Réglages communs de Parcours, lus dans l'environnement (voir docs/exploitation.md).

Modules : ``base`` (ce fichier, commun), ``development`` (poste de travail, ``make run`` : clés de
développement fixes si aucune n'est fournie), ``test`` (suite de tests), ``production`` (serveur d'un
Département : clés obligatoires, cookies sécurisés, ``check --deploy`` propre). La commande ``parcours``
utilise ``development`` par défaut ; une installation de production exporte
``DJANGO_SETTINGS_MODULE=parcours.settings.production``.

Variables reconnues :
- ``DATABASE_URL`` : ``sqlite:///chemin.db`` ou ``postgres://…`` (défaut : SQLite dans ``var/``) ;
- ``PARCOURS_SECRET_KEY``, ``PARCOURS_NIR_KEY`` (obligatoires en production) ;
- ``PARCOURS_DEBUG`` (``0`` par défaut : le mode débogage n'est actif que demandé) ;
- ``PARCOURS_ALLOWED_HOSTS`` (liste séparée par des virgules) ;
- ``PARCOURS_DATA_DIR`` : dossier des données locales (base SQLite, fichiers importés).
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("PARCOURS_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "oui", "on"}


DEBUG = env_bool("PARCOURS_DEBUG", False)
SECRET_KEY = os.environ.get("PARCOURS_SECRET_KEY", "")
# Clé de chiffrement des NIR (AES-SIV, 64 octets en hexadécimal), hors de la base ; dérivée de SECRET_KEY
# en développement.
PARCOURS_NIR_KEY = os.environ.get("PARCOURS_NIR_KEY", "")

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
    "django_tasks",
    "django_tasks_db",
    "parcours.core",
    "parcours.accounts",
    "parcours.beneficiaries",
    "parcours.journal",
    "parcours.pathway",
    "parcours.intake",
    "parcours.orientation",
    "parcours.booking",
    "parcours.accompaniment",
    "parcours.conventions",
    "parcours.governance",
    "parcours.employers",
    "parcours.catalogue",
    "parcours.audit",
    "parcours.indicators",
    "parcours.interop",
    "parcours.jobs",
    "parcours.connectors",
    "parcours.www",
]

MIDDLEWARE = [
    "parcours.core.requestid.RequestIdMiddleware",  # identifiant de requête, journal d'accès, métriques
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # fichiers statiques compressés et mis en cache
    "parcours.core.limits.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "parcours.core.middleware.SecurityHeadersMiddleware",
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
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{DATA_DIR / 'parcours.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Réserve de connexions de psycopg (une par processus web ou de tâches) ; PARCOURS_DB_POOL=0 revient aux
    # connexions persistantes (CONN_MAX_AGE), par exemple derrière PgBouncer en mode transaction.
    if env_bool("PARCOURS_DB_POOL", True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # exigé par Django avec la réserve
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("PARCOURS_DB_POOL_MIN", "1")),
            "max_size": int(os.environ.get("PARCOURS_DB_POOL_MAX", "8")),
            "timeout": float(os.environ.get("PARCOURS_DB_POOL_TIMEOUT", "10")),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("PARCOURS_CONN_MAX_AGE", "60"))
    # Réglages de démarrage des connexions des pages et des tâches (paramètre « options » de libpq) :
    # - pas de compilation JIT : sur une page (une liste, un total sur une campagne du stock), elle coûte bien
    #   plus qu'elle ne rapporte (banc des pages à 150 000 : campagnes 790 → 40 ms) ;
    # - pas de processus parallèles pour une requête de page : démarrer des processus pour lire 1 000 lignes
    #   coûte plus que les lire (totaux des files d'orientation à 150 000 : 65 → 39 ms). Les calculs par
    #   ensembles (imports, indicateurs) les rétablissent dans leur transaction (PARCOURS_DB_BATCH_PARALLEL).
    # PARCOURS_DB_STARTUP_OPTIONS=0 les retire (PgBouncer qui refuse le paramètre « options », ou réglage fait
    # sur le serveur).
    if env_bool("PARCOURS_DB_STARTUP_OPTIONS", True):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = " ".join(
            filter(None, [options.get("options"), "-c jit=off -c max_parallel_workers_per_gather=0"])
        )
# Processus parallèles par requête des calculs par ensembles (imports, indicateurs, table de la cohorte).
PARCOURS_DB_BATCH_PARALLEL = int(os.environ.get("PARCOURS_DB_BATCH_PARALLEL", "2"))
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
# Champs URL des formulaires : https par défaut (comportement de Django 6).
FORMS_URLFIELD_ASSUME_HTTPS = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"

# ProConnect (OpenID Connect) : activé quand OIDC_RP_CLIENT_ID est fourni. Comptes locaux en repli.
AUTHENTICATION_BACKENDS = [
    "parcours.accounts.oidc.AgentOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email given_name usual_name siret")
_OIDC_BASE = os.environ.get("OIDC_OP_BASE_URL", "https://auth.agentconnect.gouv.fr/api/v2").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", f"{_OIDC_BASE}/authorize")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", f"{_OIDC_BASE}/token")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", f"{_OIDC_BASE}/userinfo")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", f"{_OIDC_BASE}/jwks")
OIDC_OP_LOGOUT_ENDPOINT = os.environ.get("OIDC_OP_LOGOUT_ENDPOINT", f"{_OIDC_BASE}/session/end")
# « Création » confiée à AgentOIDCBackend.create_user, qui refuse avec un message : aucun compte à la volée.
OIDC_CREATE_USER = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
LOGIN_REDIRECT_URL_FAILURE = "/connexion/"

# Personnes accompagnées : durée de validité du lien de connexion envoyé par courriel (minutes).
PARCOURS_PERSON_LINK_MINUTES = int(os.environ.get("PARCOURS_PERSON_LINK_MINUTES", "15"))
# Étape du parcours et prochaine échéance calculées pour tout un portefeuille (tri par échéance du portefeuille,
# échéances les plus proches de l'accueil du référent) jusqu'à cette taille ; au-delà (portefeuille hors de
# proportion : un référent suit de 50 à 150 personnes), pour la seule page affichée, triée par nom.
PARCOURS_SITUATIONS_MAX = int(os.environ.get("PARCOURS_SITUATIONS_MAX", "1000"))

# API : débit maximal par adresse IP (anonyme) et par session ou jeton (authentifié).
PARCOURS_API_RATES = {
    "anon": os.environ.get("PARCOURS_API_RATE_ANON", "120/min"),
    "auth": os.environ.get("PARCOURS_API_RATE_AUTH", "1200/min"),
}

# Connexion : au-delà de ce nombre d'échecs pour un compte, blocage temporaire (secondes).
PARCOURS_LOGIN_MAX_ATTEMPTS = int(os.environ.get("PARCOURS_LOGIN_MAX_ATTEMPTS", "5"))
PARCOURS_LOGIN_LOCK_SECONDS = int(os.environ.get("PARCOURS_LOGIN_LOCK_SECONDS", "900"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("PARCOURS_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Taille maximale d'un fichier de flux déposé depuis l'interface (octets).
PARCOURS_IMPORT_MAX_UPLOAD_BYTES = int(
    os.environ.get("PARCOURS_IMPORT_MAX_UPLOAD_BYTES", str(500 * 1024 * 1024))
)
# Les imports déposés sur le web tournent dans un fil d'exécution séparé (False : en ligne, pour les tests).
PARCOURS_IMPORT_IN_BACKGROUND = env_bool("PARCOURS_IMPORT_IN_BACKGROUND", True)
# Où tournent les imports déposés sur le web : « thread » (fil du processus web, poste de travail) ou « jobs »
# (file des tâches de fond, défaut en production : l'import survit au redémarrage du serveur web).
PARCOURS_IMPORT_RUNNER = os.environ.get("PARCOURS_IMPORT_RUNNER", "thread")

# Tâches de fond (parcours.jobs, docs/taches.md) : file en base (django-tasks), exécutée par
# « parcours jobs-worker ». Nouvel essai après 1 min, 2 min, 4 min… (plafond), jusqu'au nombre maximal d'essais.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PARCOURS_JOBS_MAX_ATTEMPTS = int(os.environ.get("PARCOURS_JOBS_MAX_ATTEMPTS", "5"))
PARCOURS_JOBS_BACKOFF_SECONDS = int(os.environ.get("PARCOURS_JOBS_BACKOFF_SECONDS", "60"))
PARCOURS_JOBS_BACKOFF_MAX_SECONDS = int(os.environ.get("PARCOURS_JOBS_BACKOFF_MAX_SECONDS", "3600"))
# Planificateur du processus d'exécution (parcours/jobs/schedule.py) : sans cron, « parcours jobs-worker » (et
# donc « parcours run ») met lui-même en file les tâches périodiques ci-dessous (heure de Paris ; les envois aux
# personnes dans la plage 8 h - 20 h). PARCOURS_JOBS_SCHEDULER=0 quand un cron s'en charge (docs/taches.md).
PARCOURS_JOBS_SCHEDULER = env_bool("PARCOURS_JOBS_SCHEDULER", True)
PARCOURS_JOBS_SCHEDULER_SECONDS = int(os.environ.get("PARCOURS_JOBS_SCHEDULER_SECONDS", "60"))
PARCOURS_JOBS_SCHEDULE = {
    "webhooks": {"every_minutes": 1},
    "messages-rendez-vous": {"every_minutes": 5},
    "relances-invitations": {"daily_at": "09:00"},
    "rappels-conventions": {"daily_at": "09:15"},
    "cohorte": {"every_minutes": 10},
}

# Délais métier : valeurs par défaut, surchargées par Département (Organisation.delay_overrides).
# Imports de flux sérialisés par Département : attente maximale d'un import lancé pendant un autre (commande,
# tâche de fond ; la page web refuse aussitôt), et âge au-delà duquel un import « en cours » dont le processus a
# disparu est déclaré échoué (SQLite ; PostgreSQL le reconnaît au verrou libéré).
PARCOURS_IMPORT_LOCK_TIMEOUT = int(os.environ.get("PARCOURS_IMPORT_LOCK_TIMEOUT", "600"))
PARCOURS_IMPORT_STALE_AFTER = int(os.environ.get("PARCOURS_IMPORT_STALE_AFTER", str(6 * 3600)))

PARCOURS_DELAYS = {
    # Objectif de pilotage : orientation notifiée au plus tard à T0 + 14 jours (T0 = jour 1).
    "orientation_target_days": 15,
    # Délai légal d'orientation (6 semaines depuis 2025, CASF D262-65-2).
    "orientation_legal_days": 42,
    # Au-delà de ce nombre de mois de suspension, l'accompagnement est clos (annexe 4 de la convention).
    "suspension_closes_follow_up_months": 12,
    # Conservation des données après la fin de l'accompagnement (mois d'inactivité) : au-delà, la commande
    # « parcours purge » anonymise la personne (droit clos, aucun suivi ouvert, aucun flux depuis ce délai).
    "retention_inactive_months": 24,
    # Fichiers de flux déposés : supprimés après ce délai (le rapport d'import est conservé).
    "retention_import_files_days": 90,
    # Contrat d'engagement signé au plus tard 1 mois après la notification de l'orientation (D5411-14-1).
    "contract_deadline_months": 1,
    # Révision du contrat proposée par défaut 6 mois après la signature (revue conjointe, CASF L262-31).
    "contract_review_months": 6,
    # Invitations à l'orientation : relance automatique au 3e jour après l'envoi, expiration après 10 jours.
    "invitation_reminder_days": 3,
    "invitation_validity_days": 10,
    # Rendez-vous : rappel la veille (jours avant le rendez-vous) et second rappel facultatif (0 : aucun).
    "appointment_reminder_days": 1,
    "appointment_second_reminder_days": 0,
    # Accompagnement intensif (étape 7) : objectif de 15 à 20 h d'activité par semaine (L5411-6).
    "activity_target_min_hours": 15,
    "activity_target_max_hours": 20,
    # Revues (étape 8) : entretien d'étape tous les 3 mois ; revue conjointe 6 mois après le contrat en
    # parcours social, 12 mois pour une personne vulnérable (CASF L262-31) ; revue de 2e année à 12 mois ;
    # proposition d'accompagnement global après 6 mois de suivi par France Travail.
    "review_milestone_months": 3,
    "review_joint_months": 6,
    "review_joint_vulnerable_months": 12,
    "review_second_year_months": 12,
    "review_global_proposal_months": 6,
    # Suspension-remobilisation (étape 9, CASF L262-37, R262-68 et suivants).
    "sanction_absences_orientation": 2,
    "sanction_absences_accompaniment": 3,
    "sanction_notice_days": 15,
    "sanction_observation_days": 30,
    "sanction_referral_days": 60,
    "sanction_decision_days": 30,
    "sanction_notification_days": 15,
    "sanction_min_percent": 30,
    "sanction_first_min_months": 1,
    "sanction_first_max_months": 2,
    "sanction_repeat_max_months": 4,
    "sanction_household_cap_percent": 50,
    "sanction_repayment_cap_months": 3,
    "team_session_quorum": 3,
    # Suivi dans l'emploi (étape 10) : emploi durable vérifié 6 mois après la prise de poste (CDI ou
    # contrat d'au moins 6 mois).
    "employment_durable_check_months": 6,
    # Suivi dans l'emploi : l'organisation qui suivait la personne jusqu'à sa sortie garde l'accès à son dossier
    # pendant ce nombre de mois après la sortie (vérification de l'emploi durable à 6 mois).
    "employment_follow_up_months": 7,
    "employment_durable_min_contract_months": 6,
    # Conventions : rappel des bilans (intermédiaire, final) non transmis, 30 jours avant l'échéance.
    "convention_report_reminder_days": 30,
    # Questionnaire de satisfaction de la personne (annexe 4 de 002, volet 3) : proposé après l'entretien
    # d'orientation et après 3 mois d'accompagnement ; on peut y répondre pendant 60 jours, le lien envoyé
    # vaut 30 jours.
    "satisfaction_survey_months": 3,
    "satisfaction_answer_window_days": 60,
    "satisfaction_link_days": 30,
    # Rendez-vous pris par la personne (parcours.booking) : créneaux proposés sur les 28 prochains jours, au plus
    # tôt 24 h à l'avance ; déplacement ou annulation en ligne jusqu'à 24 h avant le rendez-vous.
    "booking_horizon_days": 28,
    "booking_notice_hours": 24,
    "booking_change_hours": 24,
}

# Envoi des invitations (parcours.orientation) : courriel par Django (console en développement, SMTP en
# production), SMS par un prestataire choisi par réglage (console, fichier ou API HTTP Brevo).
EMAIL_BACKEND = os.environ.get("PARCOURS_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("PARCOURS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("PARCOURS_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("PARCOURS_FROM_EMAIL", "ne-pas-repondre@parcours.local")
PARCOURS_SMS_BACKEND = os.environ.get("PARCOURS_SMS_BACKEND", "parcours.orientation.sms.ConsoleSmsBackend")
PARCOURS_SMS_SENDER = os.environ.get("PARCOURS_SMS_SENDER", "Departement")
PARCOURS_SMS_API_KEY = os.environ.get("PARCOURS_SMS_API_KEY", "")
# Messages des rendez-vous (confirmation, rappel, annulation, convocation) : jamais envoyés hors de cette plage
# horaire (heure de Paris, de 8 h à 20 h) ; un message prévu en dehors part à l'heure d'ouverture suivante.
PARCOURS_MESSAGE_HOURS = (
    int(os.environ.get("PARCOURS_MESSAGE_HOUR_START", "8")),
    int(os.environ.get("PARCOURS_MESSAGE_HOUR_END", "20")),
)
# Coordonnées citées dans les messages des rendez-vous, par code de Département (sinon le numéro général
# PARCOURS_ORIENTATION_CONTACT_PHONE) : {"44": {"phone": "02 40 00 00 00", "address": "3 quai Ceineray, Nantes"}}.
PARCOURS_ORIENTATION_CONTACTS = {}
# Adresse publique de Parcours, pour les liens envoyés hors d'une requête (lien de prise de rendez-vous /rdv/…).
PARCOURS_SITE_URL = os.environ.get("PARCOURS_SITE_URL", "http://127.0.0.1:8000")
# Taille cible par défaut du portefeuille d'un référent (surchargée par organisation : PortfolioCap).
PARCOURS_PORTFOLIO_CAP = int(os.environ.get("PARCOURS_PORTFOLIO_CAP", "60"))

SITE_TITLE = "Parcours"
SITE_TAGLINE = "Accompagnement rénové des allocataires du RSA"

# --- Exploitation : serveur, fichiers statiques, journaux, santé, métriques (docs/exploitation.md) ---
# Fichiers statiques servis par WhiteNoise : noms empreints (cache d'un an, « immutable ») et versions gzip,
# après « parcours collectstatic » (lancé par « parcours serve » quand il le faut). Sans collecte (tests,
# « serve --dev »), noms d'origine (parcours.core.staticfiles).
if os.environ.get("PARCOURS_STATIC_ROOT"):  # ex. image de conteneur : hors du volume des données
    STATIC_ROOT = Path(os.environ["PARCOURS_STATIC_ROOT"])
# WhiteNoise lit ce dossier au démarrage, même vide (lecture seule : fichiers collectés à la construction).
if not Path(STATIC_ROOT).is_dir() and os.access(Path(STATIC_ROOT).parent, os.W_OK):
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "parcours.core.staticfiles.StaticFilesStorage"},
}
# Production : fichiers lus dans STATIC_ROOT ; débogage : directement dans les applications.
WHITENOISE_USE_FINDERS = DEBUG

# Serveur web (parcours serve → gunicorn) : processus, fils par processus, délai d'une requête (secondes).
# Nombre de processus par défaut : 2 × cœurs + 1, plafonné à PARCOURS_WEB_WORKERS_MAX.
PARCOURS_WEB_WORKERS = int(os.environ.get("PARCOURS_WEB_WORKERS", "0"))  # 0 : selon la machine
PARCOURS_WEB_WORKERS_MAX = int(os.environ.get("PARCOURS_WEB_WORKERS_MAX", "8"))
# 8 fils : les pages attendent surtout la base ; une page lente (tableau de bord) n'immobilise pas les autres
# requêtes du même processus (bench/load.py : 50 agents, 4 fils → délais de 60 s dépassés, 8 fils → aucun).
# La réserve de connexions (PARCOURS_DB_POOL_MAX) doit en offrir au moins autant.
PARCOURS_WEB_THREADS = int(os.environ.get("PARCOURS_WEB_THREADS", "8"))
PARCOURS_WEB_TIMEOUT = int(os.environ.get("PARCOURS_WEB_TIMEOUT", "120"))

# Journaux : texte (défaut) ou JSON (PARCOURS_LOG_FORMAT=json), une ligne par requête (« parcours.access » :
# méthode, chemin sans paramètres, statut, durée, identifiant de requête et de l'utilisateur ; jamais de nom
# ni de NIR). Chaque ligne porte l'identifiant de la requête en cours (en-tête X-Request-ID).
PARCOURS_LOG_FORMAT = os.environ.get("PARCOURS_LOG_FORMAT", "text").strip().lower()
PARCOURS_ACCESS_LOG = env_bool("PARCOURS_ACCESS_LOG", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "parcours.core.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "parcours.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if PARCOURS_LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("PARCOURS_LOG_LEVEL", "WARNING").upper()},
    "loggers": {"parcours.access": {"level": "INFO" if PARCOURS_ACCESS_LOG else "WARNING"}},
}

# Sonde /healthz : au-delà de cet âge (secondes) de la plus ancienne tâche due non prise, état « degraded ».
PARCOURS_HEALTH_MAX_QUEUE_AGE = int(os.environ.get("PARCOURS_HEALTH_MAX_QUEUE_AGE", "900"))
# /metrics (format Prometheus) : jeton exigé (en-tête « Authorization: Bearer … ») ; vide : page absente (404).
PARCOURS_METRICS_TOKEN = os.environ.get("PARCOURS_METRICS_TOKEN", "")

# --- Sécurité : adresse du client, limites de débit et de connexion, taille des requêtes ---
# Derrière un mandataire inverse : en-tête qu'il renseigne (ex. X-Forwarded-For) et ses adresses ou réseaux
# (parcours.core.clientip) ; sans eux, l'adresse de la connexion.
PARCOURS_CLIENT_IP_HEADER = os.environ.get("PARCOURS_CLIENT_IP_HEADER", "")
PARCOURS_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("PARCOURS_TRUSTED_PROXIES", "").split(",") if p.strip()
]
# Connexion (parcours.core.throttle, compteurs en base partagés par tous les processus) : en plus de la
# limite par compte (PARCOURS_LOGIN_MAX_ATTEMPTS), limite par adresse IP, haute car les agents d'un même
# site sortent souvent par la même adresse. Le lien de connexion des personnes a ses propres compteurs.
PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS = int(os.environ.get("PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS", "50"))
# Taille des requêtes (parcours.core.limits), vérifiée avant toute lecture du corps : plafond commun, et
# plafonds des seules pages de dépôt de fichier (nom de route → octets), pour les agents connectés.
PARCOURS_MAX_REQUEST_BYTES = int(os.environ.get("PARCOURS_MAX_REQUEST_BYTES", str(1024 * 1024)))
PARCOURS_UPLOAD_ROUTES = {
    "import_new": "PARCOURS_IMPORT_MAX_UPLOAD_BYTES",  # flux de bénéficiaires
    "organisation_import": "PARCOURS_IMPORT_MAX_UPLOAD_BYTES",  # reprise des organisations et agents
    "pathway_import": "PARCOURS_IMPORT_MAX_UPLOAD_BYTES",  # reprise des événements du parcours
    "conventions:expense_create": 11 * 1024 * 1024,  # justificatif d'une dépense (10 Mo + formulaire)
}
# Classeurs XLSX (parcours.core.xlsx) : lignes et cellules déclarées ou lues au plus par onglet, et temps
# de lecture au plus (secondes) ; un flux de 150 000 lignes passe largement.
PARCOURS_XLSX_MAX_ROWS = int(os.environ.get("PARCOURS_XLSX_MAX_ROWS", "500000"))
PARCOURS_XLSX_MAX_CELLS = int(os.environ.get("PARCOURS_XLSX_MAX_CELLS", str(50_000_000)))
PARCOURS_XLSX_MAX_SECONDS = float(os.environ.get("PARCOURS_XLSX_MAX_SECONDS", "600"))
# Cache : aucun état partagé entre requêtes n'y est gardé (compteurs de tentatives et de débit en base,
# progression des imports sur le lot) ; il ne sert qu'à mémoriser localement, par processus.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Journal d'accès : clé HMAC et tête exportée (parcours.audit) ---
# Clé de la chaîne d'empreintes (HMAC-SHA256), hors de la base et de ses sauvegardes : hexadécimal (32 octets
# ou plus) ou texte ; obligatoire en production, dérivée de SECRET_KEY en développement (docs/securite.md).
PARCOURS_AUDIT_KEY = os.environ.get("PARCOURS_AUDIT_KEY", "")
# Têtes du journal (nombre d'entrées, dernière entrée, signées par la clé) écrites à chaque « audit-verify »
# et chaque nuit, en lignes JSON ajoutées : dossier hors de la base, idéalement sauvegardé à part.
PARCOURS_AUDIT_HEAD_DIR = Path(os.environ.get("PARCOURS_AUDIT_HEAD_DIR", DATA_DIR / "audit-heads"))
# La tête est aussi écrite dans les journaux (logger « parcours.audit », niveau INFO) pour l'expéditeur.
LOGGING.setdefault("loggers", {})["parcours.audit"] = {"level": "INFO"}
