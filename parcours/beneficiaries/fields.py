"""NIR chiffré au repos.

Le NIR est chiffré en AES-SIV (RFC 5297), déterministe : un même NIR donne toujours le même chiffré, ce qui
garde la recherche exacte (``nir=…``, ``nir__in=…``) et la contrainte d'unicité par Département sans
jamais stocker le numéro en clair — le chiffré joue le rôle d'empreinte à clé. La clé vient de
``PARCOURS_NIR_KEY`` (64 octets en hexadécimal, à conserver hors de la base) ; en développement elle est
dérivée de la clé secrète de Django. Une recherche par préfixe n'est pas possible : l'écran de recherche
calcule la clé du NIR à partir des 13 premiers caractères et cherche le numéro complet.
"""

import base64
import functools
import hashlib

from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.conf import settings
from django.db import models

PREFIX = "s1:"  # version du chiffrement


@functools.cache
def _cipher(key_material):
    if getattr(settings, "PARCOURS_NIR_KEY", ""):
        key = bytes.fromhex(settings.PARCOURS_NIR_KEY)
    else:
        key = hashlib.sha512(b"parcours-nir:" + settings.SECRET_KEY.encode()).digest()
    if len(key) not in (32, 48, 64):
        raise ValueError("PARCOURS_NIR_KEY : 32, 48 ou 64 octets en hexadécimal sont attendus.")
    return AESSIV(key)


def _current_cipher():
    return _cipher((getattr(settings, "PARCOURS_NIR_KEY", ""), settings.SECRET_KEY))


def encrypt_nir(value):
    if value in (None, "") or value.startswith(PREFIX):
        return value
    token = _current_cipher().encrypt(value.encode(), [b"nir"])
    return PREFIX + base64.urlsafe_b64encode(token).decode().rstrip("=")


def decrypt_nir(value):
    if value in (None, "") or not value.startswith(PREFIX):
        return value
    data = value[len(PREFIX) :]
    token = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return _current_cipher().decrypt(token, [b"nir"]).decode()


class EncryptedNirField(models.CharField):
    """Champ texte dont la valeur est chiffrée en base et en clair en Python."""

    encrypts_on_save = True  # lu par parcours.core.bulk.insert_rows

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        return encrypt_nir(super().get_prep_value(value))

    def from_db_value(self, value, expression, connection):
        return decrypt_nir(value)
