"""Têtes du journal d'accès, exportées hors de la base.

La chaîne à clé détecte une entrée modifiée, insérée ou supprimée au milieu, mais pas des entrées
supprimées en fin de journal, ni un journal vidé (``TRUNCATE``) : il n'y a plus rien à vérifier. La tête
(nombre d'entrées, identifiant et empreinte de la dernière, date, signée par la clé du journal) est donc
écrite hors de la base à chaque ``parcours audit-verify`` et chaque nuit (tâche « journal-acces ») :

- dans ``PARCOURS_AUDIT_HEAD_DIR`` (lignes JSON, toujours ajoutées), un fichier par base : le nom de la
  base et son identité (serveur, port, identifiant interne de la base PostgreSQL, ou fichier SQLite) ;
  une base recréée ou restaurée est une autre base, avec son propre fichier ;
- sur la sortie de la commande et dans les journaux (logger ``parcours.audit``), pour l'expéditeur de
  journaux : une copie que l'administrateur de la base ne peut pas effacer.

``audit-verify`` compare le journal à toutes les têtes de ce fichier (et à celles passées par ``--head``) :
moins d'entrées qu'une tête, entrée de fin de tête absente ou différente, entrées sans clé au-delà de
celles que la tête connaissait : anomalie. Une base SQLite en mémoire (tests) n'a pas de fichier.
"""

import datetime
import hashlib
import hmac
import json
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from parcours.core.text import plural

from .keys import audit_key, key_id, sign

logger = logging.getLogger("parcours.audit")

JOURNAL = "parcours-journal-acces"
VERSION = 1
MAX_HEAD_MESSAGES = 10


# --- identité de la base ---------------------------------------------------------------------------------


def journal_identity(conn=None):
    """(nom de la base, identité) ; ``None`` pour une base SQLite en mémoire."""
    conn = conn or connection
    params = conn.settings_dict
    if conn.vendor == "sqlite":
        if conn.is_in_memory_db():
            return None
        path = Path(str(params["NAME"])).resolve()
        inode = path.stat().st_ino if path.exists() else 0
        return path.stem, f"sqlite:{path}:{inode}"
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT current_database(), oid FROM pg_database WHERE datname = current_database()"
            )
            name, oid = cursor.fetchone()
        else:
            name, oid = params["NAME"], 0
    host = params.get("HOST") or "local"
    port = params.get("PORT") or ""
    return name, f"{conn.vendor}:{host}:{port}:{name}:{oid}"


def _file_stem(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))[:80] or "base"


def head_path(identity=None):
    """Le fichier des têtes de cette base, ou ``None`` (base en mémoire)."""
    identity = identity if identity is not None else journal_identity()
    if identity is None:
        return None
    name, full = identity
    digest = hashlib.sha256(full.encode()).hexdigest()[:12]
    return Path(settings.PARCOURS_AUDIT_HEAD_DIR) / f"{_file_stem(name)}-{digest}.jsonl"


def other_copies(identity=None):
    """Fichiers de têtes d'autres bases du même nom (base recréée ou restaurée) : à vérifier avec --head."""
    identity = identity if identity is not None else journal_identity()
    if identity is None:
        return []
    mine = head_path(identity)
    folder = mine.parent
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(_file_stem(identity[0])) + r"-[0-9a-f]{12}\.jsonl$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name) and p != mine)


# --- lecture -------------------------------------------------------------------------------------------------


def load(path):
    """Les têtes d'un fichier (lignes JSON, ou un seul objet JSON) ; renvoie (têtes, anomalies)."""
    path = Path(path)
    heads, problems = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    stripped = text.strip()
    if not stripped:
        return [], []
    lines = [stripped] if stripped.startswith("{") and "\n" not in stripped else stripped.splitlines()
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        # Une ligne de journal peut précéder la tête (« … Tête du journal d'accès : {...} ») : on prend le JSON.
        start = line.find("{")
        try:
            head = json.loads(line[start:]) if start >= 0 else None
        except json.JSONDecodeError:
            head = None
        if not isinstance(head, dict) or head.get("journal") != JOURNAL:
            problems.append(f"Têtes {path.name}, ligne {number} : illisible (tête du journal attendue).")
            continue
        heads.append(head)
    return heads, problems


def local_heads():
    """Les têtes déjà exportées pour cette base ; renvoie (têtes, anomalies)."""
    path = head_path()
    return load(path) if path is not None else ([], [])


# --- construction, signature, écriture ---------------------------------------------------------------------


def _canonical(head):
    body = {k: v for k, v in head.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature_ok(head, key):
    given = head.get("signature")
    return isinstance(given, str) and hmac.compare_digest(sign(key, _canonical(head)), given)


def build(report, key=None):
    """La tête signée d'un journal vérifié (``services.ChainReport``)."""
    key = audit_key() if key is None else key
    identity = journal_identity()
    head = {
        "journal": JOURNAL,
        "version": VERSION,
        "base": identity[1] if identity else "mémoire",
        "exportee_le": timezone.now().isoformat(),
        "entrees": report.count,
        "dernier_id": report.last_id,
        "derniere_empreinte": report.last_hash if report.count else None,
        "dernier_id_sans_cle": report.legacy_last_id,
        "cle": key_id(key),
    }
    head["signature"] = sign(key, _canonical(head))
    return head


def dumps(head):
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))


def export(head):
    """Ajoute la tête au fichier de cette base (s'il y en a un) et l'écrit au journal ; renvoie le chemin."""
    line = dumps(head)
    logger.info("Tête du journal d'accès : %s", line)
    path = head_path()
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


# --- comparaison ---------------------------------------------------------------------------------------------


def wanted_ids(heads):
    """Identifiants des dernières entrées des têtes : la vérification y note (position, empreinte)."""
    return {h["dernier_id"]: None for h in heads if isinstance(h.get("dernier_id"), int)}


def _when(head):
    try:
        moment = datetime.datetime.fromisoformat(head["exportee_le"])
        return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
    except (KeyError, TypeError, ValueError):
        return "?"


def _compare_one(report, head, wanted):
    when = _when(head)
    count, last_id = head.get("entrees"), head.get("dernier_id")
    if not isinstance(count, int) or count <= 0 or not isinstance(last_id, int):
        return []
    problems = []
    found = wanted.get(last_id)
    if report.count == 0:
        problems.append(
            f"Journal vidé : la tête exportée le {when} comptait {plural(count, 'entrée')} (dernière n° {last_id}), "
            "la base n'en a plus aucune."
        )
    elif found is None:
        if report.last_id < last_id:
            problems.append(
                f"Entrées supprimées en fin de journal : la tête exportée le {when} allait jusqu'à l'entrée "
                f"n° {last_id} ({plural(count, 'entrée')}) ; le journal s'arrête à l'entrée n° {report.last_id} "
                f"({plural(report.count, 'entrée')})."
            )
        else:
            problems.append(
                f"Entrée n° {last_id} supprimée : c'était la dernière de la tête exportée le {when}."
            )
    else:
        position, entry_hash = found
        if entry_hash != head.get("derniere_empreinte"):
            problems.append(
                f"Entrée n° {last_id} : ne correspond plus à la tête exportée le {when} (entrée réécrite)."
            )
        if position < count:
            problems.append(
                f"{plural(count - position, 'entrée supprimée', 'entrées supprimées')} avant l'entrée n° {last_id} depuis la tête "
                f"exportée le {when}."
            )
        elif position > count:
            problems.append(
                f"{plural(position - count, 'entrée insérée', 'entrées insérées')} avant l'entrée n° {last_id} depuis la tête "
                f"exportée le {when}."
            )
    legacy_until = head.get("dernier_id_sans_cle") or 0
    if report.legacy_last_id is not None and report.legacy_last_id > legacy_until:
        known = f"jusqu'au n° {legacy_until}" if legacy_until else "aucune"
        problems.append(
            f"Entrées sans clé jusqu'au n° {report.legacy_last_id} alors que la tête exportée le {when} "
            f"en connaissait {known} : journal réécrit sans clé ?"
        )
    return problems


def compare(report, heads, wanted, key):
    """Anomalies du journal par rapport aux têtes (signatures comprises)."""
    problems, seen = [], set()
    my_key = key_id(key)
    ordered = sorted(heads, key=lambda h: str(h.get("exportee_le", "")), reverse=True)
    for head in ordered:
        if head.get("cle") != my_key:
            found = [f"Tête exportée le {_when(head)} : signée par une autre clé que PARCOURS_AUDIT_KEY."]
        elif not signature_ok(head, key):
            found = [f"Tête exportée le {_when(head)} : signature invalide (tête falsifiée)."]
        else:
            found = _compare_one(report, head, wanted)
        for problem in found:
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    if len(problems) > MAX_HEAD_MESSAGES:
        hidden = len(problems) - MAX_HEAD_MESSAGES
        problems = [
            *problems[:MAX_HEAD_MESSAGES],
            f"… et {plural(hidden, 'autre désaccord', 'autres désaccords')} avec des têtes plus anciennes.",
        ]
    return problems
