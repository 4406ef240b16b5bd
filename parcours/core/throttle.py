"""Compteurs de tentatives partagés par tous les processus et serveurs web, en base de données.

Utilisés par la connexion des agents, le lien de connexion des personnes et le débit de l'API. Un
compteur est une ligne ``ThrottleCounter`` (portée, empreinte de la clé, tentatives, fin de fenêtre),
incrémentée par **une seule requête atomique** (SQLite ≥ 3.35 et PostgreSQL) :

    INSERT … VALUES (portée, clé, 1, fin) ON CONFLICT (portée, clé) DO UPDATE
        SET hits = (1 si la fenêtre est passée, sinon hits + 1), expires_at = …
        RETURNING hits, expires_at

Le compte est donc réservé *avant* le contrôle (mot de passe, envoi d'un courriel, appel de l'API) : N
requêtes simultanées obtiennent les valeurs 1, 2, …, N et seules les ``limit`` premières passent. Aucune
lecture suivie d'une écriture, aucun cache local : deux processus ou deux serveurs comptent ensemble.

Fenêtre fixe par clé : elle commence à la première tentative et dure ``window`` secondes ; au-delà, le
compteur repart à 1. Les clés sont des empreintes HMAC (clé secrète du site) : ni adresse électronique ni
adresse IP en clair dans la table.

Purge : les lignes dont la fenêtre est passée depuis plus d'une heure sont supprimées chaque nuit par
``parcours purge`` (``purge_expired()``) ; une requête ne fait jamais ce travail (coût et nombre de requêtes
constants).
"""

import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import F
from django.utils.crypto import salted_hmac

from .models import ThrottleCounter

PURGE_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class Hit:
    """Résultat d'une tentative comptée : ``allowed`` si le compte ne dépasse pas la limite."""

    count: int
    limit: int
    expires_at: float

    @property
    def allowed(self):
        return self.count <= self.limit

    @property
    def retry_after(self):
        """Secondes avant la fin de la fenêtre (au moins 1)."""
        return max(1, int(self.expires_at - time.time()) + 1)


def digest(scope, value):
    """Empreinte de la clé (HMAC-SHA256 tronqué à 64 caractères hexadécimaux)."""
    return salted_hmac("parcours.core.throttle", f"{scope}\x00{value}", algorithm="sha256").hexdigest()[:64]


def _table():
    return connection.ops.quote_name(ThrottleCounter._meta.db_table)


def hit(scope, value, *, limit, window):
    """Compte une tentative pour (``scope``, ``value``) et renvoie le ``Hit`` (compte après incrément)."""
    now = time.time()
    table = _table()
    # Nom de table du modèle, cité ; toutes les valeurs passent en paramètres.
    sql = (
        f"INSERT INTO {table} (scope, key, hits, expires_at) VALUES (%s, %s, 1, %s) "  # noqa: S608
        f"ON CONFLICT (scope, key) DO UPDATE SET "
        f"hits = CASE WHEN {table}.expires_at <= %s THEN 1 ELSE {table}.hits + 1 END, "
        f"expires_at = CASE WHEN {table}.expires_at <= %s THEN excluded.expires_at ELSE {table}.expires_at END "
        f"RETURNING hits, expires_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, digest(scope, value), now + window, now, now])
        count, expires_at = cursor.fetchone()
    return Hit(count=int(count), limit=int(limit), expires_at=float(expires_at))


def release(scope, value):
    """Rend une tentative réservée (une connexion réussie ne compte pas contre l'adresse)."""
    ThrottleCounter.objects.filter(scope=scope, key=digest(scope, value), hits__gt=0).update(
        hits=F("hits") - 1
    )


def reset(scope, value):
    """Remet le compteur à zéro (connexion réussie : le compte n'est plus bloqué)."""
    ThrottleCounter.objects.filter(scope=scope, key=digest(scope, value)).delete()


def count(scope, value):
    """Tentatives comptées dans la fenêtre en cours (0 si aucune ou fenêtre passée)."""
    row = ThrottleCounter.objects.filter(
        scope=scope, key=digest(scope, value), expires_at__gt=time.time()
    ).first()
    return row.hits if row else 0


def purge_expired(now=None):
    """Supprime les compteurs dont la fenêtre est passée depuis plus d'une heure ; renvoie leur nombre."""
    limit = (now if now is not None else time.time()) - PURGE_GRACE_SECONDS
    deleted, _ = ThrottleCounter.objects.filter(expires_at__lt=limit).delete()
    return deleted
