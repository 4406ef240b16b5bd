"""Client HTTP commun des connecteurs : URL de base, jeton, délais, nouvelles tentatives, erreurs en français.

Chaque connecteur (data·inclusion, France Travail) est un client mince construit sur ``ApiClient`` :

- délais de connexion et de lecture (``PARCOURS_CONNECTORS["http"]["timeout"]``) ;
- nouvelles tentatives sur 429 et 5xx avec attente exponentielle (``urllib3.util.Retry``, en-tête
  ``Retry-After`` respecté), pour GET comme pour la demande de jeton (sans effet de bord) ;
- toute erreur devient une ``ConnectorError`` au message français, qui ne contient jamais le jeton.
"""

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from . import conf

RETRY_STATUSES = (429, 500, 502, 503, 504)


class ConnectorError(Exception):
    """Échec d'un échange avec un système externe ; ``message`` est destiné à l'agent (français)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


def _retries_label(count):
    return f"{count} nouvelle tentative" if count == 1 else f"{count} nouvelles tentatives"


class ApiClient:
    """Client JSON d'une API : ``base_url`` + chemin ; ``token`` envoyé en ``Authorization: Bearer``."""

    label = "Service distant"  # nom du système dans les messages
    credentials_hint = "le jeton d'accès"

    def __init__(self, base_url, *, token=None, timeout=None, retries=None, backoff=None):
        http = conf.get("http")
        self.base_url = (base_url or "").rstrip("/")
        if not self.base_url:
            raise ConnectorError(f"{self.label} : adresse de l'API non configurée.")
        self.token = token or ""
        self.timeout = tuple(timeout or http["timeout"])
        self.retries = http["retries"] if retries is None else retries
        backoff = http["backoff"] if backoff is None else backoff
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "Parcours-connecteurs/1"})

    # --- requêtes -----------------------------------------------------------------------------------------

    def auth_headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, path):
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(self, method, path, *, params=None, data=None, headers=None, auth=True):
        url = self.url(path)
        all_headers = {**(self.auth_headers() if auth else {}), **(headers or {})}
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=all_headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise ConnectorError(
                f"{self.label} : pas de réponse dans le délai imparti ({self.timeout[1]:g} s) "
                f"après {_retries_label(self.retries)}. Réessayez plus tard."
            ) from exc
        except requests.exceptions.RetryError as exc:
            raise ConnectorError(
                f"{self.label} : le service refuse toujours la requête après {_retries_label(self.retries)}."
            ) from exc
        except requests.ConnectionError as exc:
            raise ConnectorError(
                f"{self.label} : serveur injoignable ({url.split('?')[0]}). Vérifiez l'adresse et le réseau."
            ) from exc
        except requests.RequestException as exc:
            raise ConnectorError(f"{self.label} : échec de la requête ({exc.__class__.__name__}).") from exc
        return response

    def check(self, response):
        """Lève ``ConnectorError`` (message français) si la réponse n'est pas un succès."""
        status = response.status_code
        if status < 400:
            return response
        if status in (401, 403):
            raise ConnectorError(
                f"{self.label} : accès refusé ({status}) — identifiants absents, expirés ou sans les droits "
                f"nécessaires. Vérifiez {self.credentials_hint}.",
                status=status,
            )
        if status == 429:
            raise ConnectorError(
                f"{self.label} : trop de requêtes (429), toujours refusées après "
                f"{_retries_label(self.retries)}. Réessayez plus tard.",
                status=status,
            )
        if status >= 500:
            raise ConnectorError(
                f"{self.label} : le service est en erreur ({status}) après {_retries_label(self.retries)}. "
                "Réessayez plus tard ; si l'erreur persiste, prévenez l'éditeur du service.",
                status=status,
            )
        if status == 404:
            raise ConnectorError(
                f"{self.label} : adresse introuvable (404) : {response.url.split('?')[0]}. Vérifiez l'adresse "
                "de l'API.",
                status=status,
            )
        raise ConnectorError(
            f"{self.label} : requête refusée ({status}){self._detail(response)}.", status=status
        )

    @staticmethod
    def _detail(response):
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            text = body.get("detail") or body.get("message") or body.get("error_description") or ""
            if isinstance(text, str) and text:
                return f" : {text[:200]}"
        return ""

    def json(self, response):
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{self.label} : réponse illisible (JSON attendu) pour {response.url.split('?')[0]}."
            ) from exc

    def get_json(self, path, params=None):
        return self.json(self.check(self.request("GET", path, params=params)))
