"""Journaux : identifiant de la requête en cours sur chaque ligne, format JSON à la demande.

``RequestIdFilter`` ajoute ``request_id`` à chaque enregistrement (``-`` hors requête) ; ``JsonFormatter``
écrit une ligne JSON par enregistrement (``PARCOURS_LOG_FORMAT=json``), avec les champs ajoutés par
``extra=`` (ceux du journal d'accès : méthode, chemin, statut, durée, utilisateur).
"""

import contextvars
import datetime
import json
import logging

# Identifiant de la requête servie par ce fil d'exécution (posé par parcours.core.requestid).
request_id_var = contextvars.ContextVar("parcours_request_id", default=None)

# Attributs propres à logging.LogRecord : tout autre attribut vient d'``extra=`` et est écrit tel quel.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def current_request_id():
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)
