"""Écriture, vérification et export du journal d'accès."""

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from parcours.core.bulk import insert_rows
from parcours.core.text import plural

from .keys import audit_key
from .models import CONTENT_FIELDS, AccessAction, AccessLog, HashScheme, LegacySeal, content_of, entry_hash

GENESIS = "0" * 64
_LOCK_KEY = 74_201  # verrou consultatif PostgreSQL : une seule écriture à la fois dans la chaîne


def _client_ip(request):
    if request is None:
        return None
    from parcours.core.clientip import client_ip

    return client_ip(request)


def record(
    *,
    user=None,
    beneficiary_id=None,
    departement_id=None,
    action=AccessAction.READ,
    request=None,
    view="",
    reason="",
):
    """Ajoute une entrée au bout de la chaîne (dans sa propre transaction) et la renvoie."""
    if request is not None and not view:
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or ""
    row = {
        "at": timezone.now(),
        **_author(user, ""),
        "beneficiary_id": beneficiary_id,
        "departement_id": departement_id,
        "action": action,
        "view": view[:100],
        "path": (request.get_full_path()[:300] if request is not None else ""),
        "reason": reason,
        "ip": _client_ip(request),
    }
    _append_to_chain([row])
    return AccessLog(**row)


def _author(user, anonymous_label):
    known = user is not None and user.is_authenticated
    return {
        "user_id": user.pk if known else None,
        "user_label": user.get_username() if known else anonymous_label,
    }


_COLUMNS = (*CONTENT_FIELDS, "previous_hash", "hash", "scheme")


def _append_to_chain(rows):
    """Chaîne et enregistre des entrées neuves (champ → valeur, ``CONTENT_FIELDS``) à la suite de la dernière,
    sous un verrou exclusif ; complète chaque ligne de son empreinte et renvoie le nombre d'entrées écrites.

    Sans instancier de modèle et au fil de ``rows`` (un itérable lu une fois) : un export de 150 000 personnes
    écrit 150 000 entrées par ``COPY`` sur PostgreSQL (``core.bulk.insert_rows``), sans les garder en mémoire.
    L'empreinte est celle que vérifie ``verify_chain`` (``models.entry_hash`` sur ``models.content_of``)."""
    scheme = HashScheme.HMAC_SHA256
    key = audit_key()

    def chained(previous):
        for row in rows:
            row.update(scheme=scheme, previous_hash=previous)
            row["hash"] = previous = entry_hash(scheme, row["previous_hash"], content_of(row), key)
            yield [row[name] for name in _COLUMNS]

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        previous = AccessLog.objects.order_by("-pk").values_list("hash", flat=True).first() or GENESIS
        return insert_rows(AccessLog, _COLUMNS, chained(previous))


def record_person_access(request, beneficiary_id, action=AccessAction.READ, reason=""):
    from parcours.beneficiaries.models import Beneficiary

    beneficiary_id = int(beneficiary_id)
    departement_id = (
        Beneficiary.objects.filter(pk=beneficiary_id).values_list("departement_id", flat=True).first()
    )
    return record(
        user=request.user,
        beneficiary_id=beneficiary_id,
        departement_id=departement_id,
        action=action,
        request=request,
        reason=reason,
    )


def visible_entries(user):
    """Les entrées que le délégué à la protection des données peut consulter (son Département)."""
    from parcours.accounts.models import Membership, Role

    if user.is_superuser:
        return AccessLog.objects.all()
    departements = set()
    for membership in Membership.objects.filter(user=user, is_active=True, role=Role.DPO).select_related(
        "organisation"
    ):
        home = membership.organisation.home_departement
        if home is not None:
            departements.add(home.pk)
    return AccessLog.objects.filter(departement_id__in=departements)


@dataclass
class ChainReport:
    """Résultat d'une vérification : entrées vues, dernière entrée, anomalies (en français)."""

    count: int = 0
    last_id: int | None = None
    last_hash: str = GENESIS
    legacy_count: int = 0
    legacy_last_id: int | None = None
    problems: list = field(default_factory=list)
    heads_checked: int = 0

    @property
    def intact(self):
        return not self.problems


MAX_ENTRY_MESSAGES = 50


def _legacy_seal(key, problems):
    """Le scellé des entrées sans clé (ou None), après contrôle de sa signature."""
    seals = list(LegacySeal.objects.order_by("pk"))
    if len(seals) > 1:
        problems.append("Plusieurs scellés des entrées sans clé : un seul est écrit, à la migration.")
    seal = seals[0] if seals else None
    if seal is not None and seal.compute_mac(key) != seal.mac:
        problems.append("Scellé des entrées sans clé falsifié (ou clé PARCOURS_AUDIT_KEY différente).")
        return None
    return seal


def verify_chain(chunk_size=5000, *, heads=(), key=None):
    """Vérifie toute la chaîne, puis la compare aux têtes exportées (``heads``, déjà lues) ; un seul passage.

    Entrées sans clé (``scheme`` 1) : admises seulement si le scellé du passage à la clé (migration 0003)
    les couvre (nombre, dernière entrée, empreinte), vérifiées selon l'ancien calcul ; toute autre entrée
    sans clé est une entrée réécrite.
    """
    from . import heads as head_module

    key = audit_key() if key is None else key
    report = ChainReport()
    problems = []
    seal = _legacy_seal(key, problems)
    allowed_legacy_until = seal.legacy_last_id if seal is not None else 0
    wanted = head_module.wanted_ids(heads)  # {id: None} rempli pendant le passage : (position, empreinte)
    entry_problems = 0

    def flag(message):
        nonlocal entry_problems
        entry_problems += 1
        if entry_problems <= MAX_ENTRY_MESSAGES:
            problems.append(message)

    previous = GENESIS
    legacy_hash = None
    sealed_count = 0
    unsealed = []
    keyed_bad = keyed_total = 0
    for entry in AccessLog.objects.order_by("pk").iterator(chunk_size=chunk_size):
        report.count += 1
        if entry.previous_hash != previous:
            flag(f"Entrée n° {entry.pk} : ne suit pas l'entrée précédente (entrée supprimée ou insérée ?).")
        if entry.scheme == HashScheme.LEGACY_SHA256:
            report.legacy_count += 1
            report.legacy_last_id = entry.pk
            if entry.pk > allowed_legacy_until or keyed_total:
                unsealed.append(entry.pk)
            else:
                sealed_count += 1
                legacy_hash = entry.hash
                if entry.compute_hash() != entry.hash:
                    flag(f"Entrée n° {entry.pk} : contenu modifié depuis son écriture.")
        else:
            keyed_total += 1
            if entry.compute_hash(key) != entry.hash:
                keyed_bad += 1
                flag(
                    f"Entrée n° {entry.pk} : contenu modifié depuis son écriture (empreinte à clé invalide)."
                )
        if entry.pk in wanted:
            wanted[entry.pk] = (report.count, entry.hash)
        previous = entry.hash
        report.last_id = entry.pk
        report.last_hash = entry.hash
    if entry_problems > MAX_ENTRY_MESSAGES:
        others = plural(entry_problems - MAX_ENTRY_MESSAGES, "autre entrée", "autres entrées")
        problems.append(f"… et {others} en anomalie.")
    if unsealed:
        shown = ", ".join(f"n° {pk}" for pk in unsealed[:10]) + (" …" if len(unsealed) > 10 else "")
        problems.append(
            f"{plural(len(unsealed), 'entrée sans clé non couverte', 'entrées sans clé non couvertes')} par le scellé du passage à la clé ({shown}) : "
            "journal réécrit en SHA-256 sans clé ?"
        )
    if seal is not None and (sealed_count != seal.legacy_count or legacy_hash != seal.legacy_last_hash):
        problems.append(
            f"Entrées sans clé : {sealed_count} au lieu des {seal.legacy_count} scellées "
            f"(dernière n° {seal.legacy_last_id}) : entrées anciennes supprimées ou réécrites."
        )
    if keyed_total and keyed_bad == keyed_total:
        problems.append(
            f"Aucune des {keyed_total} empreintes à clé ne correspond : la clé PARCOURS_AUDIT_KEY est-elle "
            "celle qui a écrit le journal ?"
        )
    problems.extend(head_module.compare(report, heads, wanted, key))
    report.problems = problems
    report.heads_checked = len(heads)
    return report


@dataclass
class Verification:
    report: ChainReport
    head: dict | None  # la tête exportée (journal intègre), sinon None
    head_file: object  # fichier où elle a été ajoutée (None : base en mémoire, ou rien d'exporté)
    other_copies: list  # fichiers de têtes d'autres bases du même nom (recréée, restaurée)


def verify_and_export(head_files=(), *, export=True):
    """Vérifie la chaîne et la compare aux têtes de cette base et à ``head_files`` ; si le journal est
    intègre, exporte sa nouvelle tête (fichier et journaux). Ce que font ``audit-verify`` et la tâche
    de nuit « journal-acces »."""
    from . import heads as head_module

    heads, problems = head_module.local_heads()
    for path in head_files:
        if not Path(path).exists():
            problems.append(f"Fichier de têtes introuvable : {path}.")
            continue
        more, unreadable = head_module.load(path)
        heads += more
        problems += unreadable
    report = verify_chain(heads=heads)
    report.problems[:0] = problems
    head = head_file = None
    if export and report.intact:
        head = head_module.build(report)
        head_file = head_module.export(head)
    return Verification(report, head, head_file, head_module.other_copies())


EXPORT_HEADER = ["n°", "date", "agent", "personne", "action", "page", "adresse", "motif", "IP", "empreinte"]


def export_rows(queryset):
    yield EXPORT_HEADER
    for entry in queryset.order_by("pk").iterator(chunk_size=2000):
        yield [
            entry.pk,
            timezone.localtime(entry.at).strftime("%d/%m/%Y %H:%M:%S"),
            entry.user_label,
            entry.beneficiary_id or "",
            entry.get_action_display(),
            entry.view,
            entry.path,
            entry.reason,
            entry.ip or "",
            entry.hash,
        ]


def record_many(entries, *, user=None, view="", reason="", request=None):
    """Ajoute d'un coup plusieurs entrées chaînées (ex. anonymisation de masse) ; renvoie leur nombre.

    ``request`` : la requête à l'origine (page, API) ; elle donne l'adresse IP et l'adresse de la page
    de chaque entrée (sauf ``path`` fourni par l'entrée).
    """
    entries = iter(entries)
    first = next(entries, None)
    if first is None:
        return 0
    now = timezone.now()
    common = {}
    if request is not None:
        common = {"ip": _client_ip(request), "path": request.get_full_path()[:300]}
        if not view:
            match = getattr(request, "resolver_match", None)
            view = (match.view_name if match else "") or ""
    base = {
        "at": now,
        **_author(user, "système"),
        "beneficiary_id": None,
        "departement_id": None,
        "view": view[:100],
        "path": "",
        "reason": reason,
        "ip": None,
        **common,
    }
    return _append_to_chain({**base, **values} for values in itertools.chain([first], entries))


def describe_filters(query, exclude=("page", "format", "csrfmiddlewaretoken")):
    """Les filtres d'une adresse pour le motif d'un export ; une valeur qui ressemble à un NIR est masquée."""
    parts = []
    for name in sorted(query):
        if name in exclude:
            continue
        for value in query.getlist(name) if hasattr(query, "getlist") else [query[name]]:
            value = str(value).strip()
            if not value:
                continue
            if sum(c.isdigit() for c in value) >= 10:
                value = "(masqué)"
            parts.append(f"{name}={value[:60]}")
    return ", ".join(parts) or "aucun"


def record_export(request, people, *, reason, action=AccessAction.EXPORT):
    """Un export nominatif (liste, courriers) : une entrée par personne exportée, avec l'agent, l'adresse IP,
    la page et ``reason`` complété du nombre de personnes et des filtres de la requête.

    ``people`` : couples (identifiant de la personne, identifiant de son Département). Une entrée par
    personne plutôt qu'une seule pour l'export : le délégué retrouve l'export dans le journal de chaque
    personne concernée (filtre « personne », réponse à une demande d'accès) et le délégué de chaque
    Département voit les exports de ses personnes ; toutes portent le même motif, la même heure et
    l'adresse de la page (sans ses paramètres : un NIR cherché n'y figure pas). Renvoie le nombre d'entrées.
    """
    seen = {}
    if isinstance(people, QuerySet):
        # Lu en flux et sans le tri de la liste exportée : l'ordre des entrées n'a pas de sens, et trier
        # 150 000 personnes par nom pour les inscrire coûtait 400 ms (19 ms sans le tri).
        people = people.order_by().iterator(chunk_size=5000)
    for person_id, departement_id in people:
        seen.setdefault(person_id, departement_id)
    full_reason = f"{reason} : {plural(len(seen), 'personne')} ; filtres : {describe_filters(request.GET)}"
    return record_many(
        (
            {"beneficiary_id": pk, "departement_id": dep, "action": action, "path": request.path[:300]}
            for pk, dep in seen.items()
        ),
        user=request.user,
        reason=full_reason,
        request=request,
    )
