"""Passage à l'empreinte à clé : scellé des entrées écrites avant (SHA-256 sans clé).

Appelé par la migration 0003 (modèles historiques) ; rien n'est rescellé ni recalculé : le scellé signe
seulement le nombre d'entrées anciennes, la dernière et son empreinte, telles qu'elles sont en base.
"""

import hashlib
import hmac
import json

from django.utils import timezone


def seal_payload(legacy_count, legacy_last_id, legacy_last_hash):
    return json.dumps(
        ["legacy-seal", legacy_count, legacy_last_id, legacy_last_hash], separators=(",", ":")
    ).encode()


def seal_legacy_entries(access_log_model, seal_model, key):
    """Scelle les entrées sans clé (``scheme`` 1) s'il y en a et s'il n'y a pas encore de scellé."""
    if seal_model.objects.exists():
        return None
    legacy = access_log_model.objects.filter(scheme=1)
    last = legacy.order_by("-pk").values_list("pk", "hash").first()
    if last is None:
        return None
    count = legacy.count()
    mac = hmac.new(key, seal_payload(count, last[0], last[1]), hashlib.sha256).hexdigest()
    seal = seal_model(
        sealed_at=timezone.now(),
        legacy_count=count,
        legacy_last_id=last[0],
        legacy_last_hash=last[1],
        mac=mac,
    )
    seal.save()
    return seal
