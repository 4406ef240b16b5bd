"""Adresse du client, telle que vue derrière le mandataire inverse (reverse proxy) configuré.

Sans réglage, l'adresse est celle de la connexion (``REMOTE_ADDR``). Derrière un mandataire, tous les
clients partagent son adresse : ``PARCOURS_CLIENT_IP_HEADER`` nomme l'en-tête qu'il renseigne (par
exemple ``X-Forwarded-For``) et ``PARCOURS_TRUSTED_PROXIES`` liste les adresses ou réseaux des
mandataires de confiance. L'en-tête n'est lu que si la connexion vient d'un mandataire de confiance, et
l'adresse retenue est la plus à droite qui n'en soit pas un (un client ne peut pas se faire passer pour
un autre en ajoutant des adresses à gauche).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies):
    networks = []
    for value in proxies:
        value = value.strip()
        if value:
            networks.append(ipaddress.ip_network(value, strict=False))
    return tuple(networks)


def _parse(value):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks):
    return address is not None and any(address in network for network in networks)


def client_ip(request):
    """L'adresse IP du client (chaîne) ou None si inconnue."""
    if request is None:
        return None
    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    header = getattr(settings, "PARCOURS_CLIENT_IP_HEADER", "")
    networks = _networks(tuple(getattr(settings, "PARCOURS_TRUSTED_PROXIES", ())))
    if header and _is_trusted(remote, networks):
        meta_key = "HTTP_" + header.upper().replace("-", "_")
        hops = [_parse(part) for part in request.META.get(meta_key, "").split(",")]
        for hop in reversed([h for h in hops if h is not None]):
            if not _is_trusted(hop, networks):
                return str(hop)
    return str(remote) if remote is not None else None
