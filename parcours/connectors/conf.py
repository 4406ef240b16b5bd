"""Réglages des connecteurs : valeurs par défaut tirées de l'environnement, surchargeables par
``PARCOURS_CONNECTORS`` dans les réglages (un dict par connecteur).

Exemple ::

    PARCOURS_CONNECTORS = {"datainclusion": {"token": "…", "page_size": 500}}

Les secrets (jeton data·inclusion, identifiants OAuth2 France Travail) viennent de l'environnement et ne
sont jamais écrits dans le dépôt.
"""

import os

from django.conf import settings


def _env(name, default=""):
    return os.environ.get(name, default)


def _defaults():
    return {
        "http": {
            # (connexion, lecture) en secondes
            "timeout": (
                float(_env("PARCOURS_CONNECTORS_CONNECT_TIMEOUT", "5")),
                float(_env("PARCOURS_CONNECTORS_READ_TIMEOUT", "30")),
            ),
            # Nouvelles tentatives sur 429 et 5xx, avec attente exponentielle (0,5 s, 1 s, 2 s…).
            "retries": int(_env("PARCOURS_CONNECTORS_RETRIES", "3")),
            "backoff": float(_env("PARCOURS_CONNECTORS_BACKOFF", "0.5")),
        },
        "datainclusion": {
            "base_url": _env("PARCOURS_DI_API_URL", "https://api.data.inclusion.gouv.fr"),
            "token": _env("PARCOURS_DI_API_TOKEN"),
            "path_prefix": _env("PARCOURS_DI_API_PREFIX", "/api/v0"),
            "page_size": int(_env("PARCOURS_DI_PAGE_SIZE", "500")),
            # Filtres transmis tels quels à chaque requête (ex. {"sources": "dora"}) : mêmes filtres à chaque
            # synchronisation, sinon ce qui sort du filtre serait désactivé.
            "params": {},
            "max_pages": 1000,  # garde-fou contre une pagination qui ne finirait pas
        },
        "francetravail": {
            "token_url": _env(
                "PARCOURS_FT_TOKEN_URL",
                "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire",
            ),
            "base_url": _env(
                "PARCOURS_FT_API_URL", "https://api.francetravail.io/partenaire/rsa-departements/v1"
            ),
            "client_id": _env("PARCOURS_FT_CLIENT_ID"),
            "client_secret": _env("PARCOURS_FT_CLIENT_SECRET"),
            "scope": _env("PARCOURS_FT_SCOPE", "api_rsa-departementsv1 orientations rendezvous"),
            "page_size": int(_env("PARCOURS_FT_PAGE_SIZE", "100")),
            "max_pages": 1000,
        },
        # API « Offres d'emploi v2 » de francetravail.io : mêmes identifiants OAuth2 par défaut, autre scope.
        "francetravail_offres": {
            "token_url": _env(
                "PARCOURS_FT_TOKEN_URL",
                "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire",
            ),
            "base_url": _env(
                "PARCOURS_FT_OFFRES_API_URL", "https://api.francetravail.io/partenaire/offresdemploi/v2"
            ),
            "client_id": _env("PARCOURS_FT_OFFRES_CLIENT_ID", _env("PARCOURS_FT_CLIENT_ID")),
            "client_secret": _env("PARCOURS_FT_OFFRES_CLIENT_SECRET", _env("PARCOURS_FT_CLIENT_SECRET")),
            "scope": _env("PARCOURS_FT_OFFRES_SCOPE", "api_offresdemploiv2 o2dsoffre"),
            # 150 offres au plus par appel ; l'API ne sert pas au-delà de l'index 3149.
            "page_size": int(_env("PARCOURS_FT_OFFRES_PAGE_SIZE", "150")),
            "max_index": 3149,
        },
    }


def get(connector):
    """Réglages d'un connecteur (``http``, ``datainclusion``, ``francetravail``, ``francetravail_offres``)."""
    values = dict(_defaults()[connector])
    values.update(getattr(settings, "PARCOURS_CONNECTORS", {}).get(connector, {}))
    return values
