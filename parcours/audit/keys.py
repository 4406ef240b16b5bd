"""Clé du journal d'accès (HMAC-SHA256), hors de la base.

``PARCOURS_AUDIT_KEY`` : hexadécimal (au moins 32 octets) ou texte libre (au moins 32 caractères),
obligatoire en production ; en développement et dans les tests, dérivée de la clé secrète de Django
(comme la clé des NIR). Qui a la base sans la clé ne peut ni recalculer une chaîne valide après une
modification, ni signer une tête du journal.
"""

import functools
import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.cache
def _key(configured, secret_key):
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError:
            key = b""
        if len(key) < 32:  # pas de l'hexadécimal d'au moins 32 octets : texte
            key = configured.encode()
        if len(key) < 32:
            raise ImproperlyConfigured(
                "PARCOURS_AUDIT_KEY : au moins 32 octets (64 caractères hexadécimaux) ou 32 caractères."
            )
        return key
    return hashlib.sha256(b"parcours-audit:" + secret_key.encode()).digest()


def audit_key():
    """La clé en octets (relue des réglages à chaque appel : les tests peuvent la changer)."""
    return _key(getattr(settings, "PARCOURS_AUDIT_KEY", ""), settings.SECRET_KEY)


def key_id(key=None):
    """Identifiant public de la clé (16 caractères) : dit quelle clé a signé une tête, sans la révéler."""
    key = audit_key() if key is None else key
    return hmac.new(key, b"parcours-audit-key-id", hashlib.sha256).hexdigest()[:16]


def sign(key, payload: bytes):
    return hmac.new(key, payload, hashlib.sha256).hexdigest()
