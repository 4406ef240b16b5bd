"""Mesures au format Prometheus (``/metrics``) : requêtes par route et classe de statut, durées.

Plusieurs processus gunicorn servent les requêtes : chacun compte les siennes. ``parcours serve`` donne à
tous un dossier commun (``PROMETHEUS_MULTIPROC_DIR``, vidé au démarrage) où prometheus_client écrit ses
compteurs dans des fichiers partagés ; la page les additionne, quel que soit le processus qui la sert. Sans
ce dossier (serveur de développement, tests), les compteurs restent en mémoire du processus.

Les mesures lues en base (tâches, imports) sont calculées à chaque lecture de la page par des collecteurs
fournis par l'appelant (voir ``parcours.www.health``).
"""

import hmac
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "parcours_http_requests",
    "Requêtes HTTP servies, par route et classe de statut",
    ["route", "status"],
    registry=None,
)
DURATION = Histogram(
    "parcours_http_request_duration_seconds",
    "Durée des requêtes HTTP (secondes), par route et classe de statut",
    ["route", "status"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=None,
)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def status_class(status):
    return f"{int(status) // 100}xx"


def observe_request(route, status, seconds):
    labels = (route, status_class(status))
    REQUESTS.labels(*labels).inc()
    DURATION.labels(*labels).observe(seconds)


def token_status(request, expected):
    """404 sans jeton configuré, 401 sans jeton présenté, 403 si le jeton diffère, None s'il est bon."""
    if not expected:
        return 404
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return 403
    return None


def render(extra_collectors=()):
    """Texte Prometheus : mesures des requêtes (tous processus) et collecteurs supplémentaires."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(DURATION)
    for collector in extra_collectors:
        registry.register(collector)
    return generate_latest(registry)
