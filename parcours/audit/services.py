"""Écriture, vérification et export du journal d'accès."""

from django.db import connection, transaction
from django.utils import timezone

from .models import AccessAction, AccessLog

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
    entry = AccessLog(
        at=timezone.now(),
        **_author(user, ""),
        beneficiary_id=beneficiary_id,
        departement_id=departement_id,
        action=action,
        view=view[:100],
        path=(request.get_full_path()[:300] if request is not None else ""),
        reason=reason,
        ip=_client_ip(request),
    )
    _append_to_chain([entry])
    return entry


def _author(user, anonymous_label):
    known = user is not None and user.is_authenticated
    return {"user": user if known else None, "user_label": user.get_username() if known else anonymous_label}


def _append_to_chain(entries):
    """Chaîne et enregistre des entrées neuves à la suite de la dernière, sous un verrou exclusif."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        previous = AccessLog.objects.order_by("-pk").values_list("hash", flat=True).first() or GENESIS
        for entry in entries:
            entry.previous_hash = previous
            entry.hash = previous = entry.compute_hash()
        AccessLog.objects.bulk_create(entries, batch_size=1000)


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


def verify_chain(chunk_size=5000):
    """Vérifie toute la chaîne ; renvoie (nombre d'entrées vérifiées, liste des anomalies en français)."""
    problems = []
    previous = GENESIS
    count = 0
    for entry in AccessLog.objects.order_by("pk").iterator(chunk_size=chunk_size):
        count += 1
        if entry.previous_hash != previous:
            problems.append(
                f"Entrée n° {entry.pk} : ne suit pas l'entrée précédente (entrée supprimée ou insérée ?)."
            )
        if entry.compute_hash() != entry.hash:
            problems.append(f"Entrée n° {entry.pk} : contenu modifié depuis son écriture.")
        previous = entry.hash
    return count, problems


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


def record_many(entries, *, user=None, view="", reason=""):
    """Ajoute d'un coup plusieurs entrées chaînées (ex. anonymisation de masse) ; renvoie leur nombre."""
    if not entries:
        return 0
    now = timezone.now()
    built = [
        AccessLog(at=now, **_author(user, "système"), view=view, reason=reason, **values)
        for values in entries
    ]
    _append_to_chain(built)
    return len(built)
