"""Ce que font les tâches de fond : chacune appelle le service existant, sans en reprendre la logique.

Une tâche reçoit ses paramètres (JSON) et renvoie un résumé (JSON) ; elle signale un échec en levant une
exception. ``JobError(message, retry=False)`` : échec définitif (un nouvel essai n'y changerait rien,
par exemple un fichier refusé) ; toute autre exception donne lieu à un nouvel essai, avec attente.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from parcours.core.text import plural


class JobError(Exception):
    """Échec d'une tâche, avec un message en français ; ``retry=False`` : inutile de réessayer."""

    def __init__(self, message, *, retry=True):
        super().__init__(message)
        self.message = message
        self.retry = retry


@dataclass(frozen=True)
class Kind:
    label: str
    func: Any
    max_attempts: int | None = None  # None : réglage PARCOURS_JOBS_MAX_ATTEMPTS
    singleton: bool = False  # une seule en attente à la fois (tâches périodiques)


def _date(value, name="date"):
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise JobError(
            f"Paramètre « {name} » invalide : {value} (format attendu AAAA-MM-JJ).", retry=False
        ) from exc


def import_flux(batch):
    """Import d'un flux déjà déposé (lot ``batch``) : une transaction, rien d'écrit en cas de refus.

    Un lot déjà importé n'est pas refait ; un fichier refusé (erreurs de lignes ou de structure) est un
    échec définitif ; un échec technique (base indisponible…) est réessayé, l'import repartant de zéro.
    """
    from parcours.intake.models import ImportBatch, ImportStatus
    from parcours.intake.services import run_batch

    found = ImportBatch.objects.select_related("organisation").filter(pk=batch).first()
    if found is None:
        raise JobError(f"Lot d'import n° {batch} introuvable.", retry=False)
    summary = {"lot": found.pk, "fichier": found.filename}
    if found.status == ImportStatus.DONE:
        return {**summary, "message": "Lot déjà importé : rien à refaire.", "deja_importe": True}
    report = run_batch(found)
    if found.status == ImportStatus.REJECTED:
        message = report.message
        if report.errors:
            first = report.errors[0]
            where = f"ligne {first['row']}" if first.get("row") else "fichier"
            if first.get("field"):
                where += f", champ {first['field']}"
            if first["message"] != report.message:
                message += f" Première erreur ({where}) : {first['message']}"
        raise JobError(message, retry=False)
    if found.status != ImportStatus.DONE:
        raise JobError(report.message)
    # Les événements de l'import (nouveaux entrants, radiations) rendent la table de la cohorte à recalculer :
    # le recalcul se fait en tâche de fond plutôt qu'à la première ouverture du tableau de bord.
    from .services import enqueue

    enqueue("cohorte")
    return {
        **summary,
        "message": report.message,
        "crees": report.created,
        "mis_a_jour": report.updated,
        "inchanges": report.unchanged,
        "nouveaux_entrants": report.new_entrants,
    }


def deliver_webhooks(limit=500):
    """Envoie les livraisons de webhooks dues (chaque livraison a ses propres essais, voir interop)."""
    from parcours.interop import webhooks

    return webhooks.deliver_due(limit=limit)


def purge(today=None, dry_run=False):
    """Durées de conservation : ce que fait ``parcours purge``."""
    from parcours.beneficiaries.retention import purge as run_purge

    report = run_purge(dry_run=dry_run, today=_date(today, "today"))
    return {
        "anonymisees": report.total,
        "par_departement": report.anonymised,
        "fichiers_supprimes": report.files_deleted,
        "octets_liberes": report.bytes_freed,
        "simulation": report.dry_run,
    }


def conventions_reminders(today=None, days=None):
    """Rappels par courriel des bilans de conventions à produire (``parcours conventions-reminders``)."""
    from parcours.conventions.services import send_report_reminders

    reminders = send_report_reminders(_date(today, "today") or timezone.localdate(), days=days)
    return {
        "bilans_a_produire": len(reminders),
        "rappels_envoyes": sum(1 for r in reminders if r.sent),
    }


def orientation_reminders(today=None):
    """Relances (courriel, SMS) et expiration des invitations (``parcours orientation-reminders``)."""
    from parcours.orientation import services
    from parcours.orientation.appointment_messages import next_allowed, within_window

    day = _date(today, "today")
    expired = services.expire_invitations(day)
    now = timezone.now()
    if today is None and not within_window(now):
        # Aucun SMS ni courriel entre 20 h et 8 h : les relances partent à l'ouverture (cron de 7 h compris).
        from .services import enqueue

        later, _ = enqueue("relances-invitations", run_after=next_allowed(now))
        return {"relancees": 0, "expirees": len(expired), "erreurs": [], "relances_reportees_tache": later.pk}
    reminded, errors = services.send_reminders(day)
    return {
        "relancees": len(reminded),
        "expirees": len(expired),
        "erreurs": [{"invitation": inv.pk, "message": message} for inv, message in errors],
    }


def audit_head():
    """Vérifie le journal d'accès et exporte sa tête hors de la base (``parcours audit-verify``)."""
    from parcours.audit.services import verify_and_export

    result = verify_and_export()
    report = result.report
    if report.problems:
        raise JobError(
            f"Journal d'accès altéré : {plural(len(report.problems), 'anomalie')} sur {plural(report.count, 'entrée')}. "
            + " ".join(report.problems[:5]),
            retry=False,
        )
    return {
        "entrees": report.count,
        "tete": str(result.head_file or ""),
        "tetes_comparees": report.heads_checked,
    }


def cohort_refresh():
    """Report dans la table de la cohorte des événements écrits depuis le dernier recalcul (tableau de bord)."""
    from parcours.indicators.cohort import refresh

    return {"personnes_recalculees": refresh()}


def appointment_messages(limit=500):
    """Messages des rendez-vous : rappels (la veille, second rappel) préparés, messages dus envoyés dans la
    plage horaire autorisée (``parcours.orientation.appointment_messages.send_due``)."""
    from parcours.orientation.appointment_messages import send_due

    return send_due(limit=limit)


def scheduler():
    """Planificateur du processus d'exécution : met en file les tâches périodiques dues
    (``PARCOURS_JOBS_SCHEDULE``), puis se replace dans la file pour le tour suivant."""
    from .schedule import run_schedule

    return run_schedule()


KINDS = {
    "import-flux": Kind(
        "Import d'un flux de bénéficiaires (CAF/MSA, Département)", import_flux, max_attempts=3
    ),
    "webhooks": Kind("Envoi des webhooks aux partenaires", deliver_webhooks, singleton=True),
    "purge": Kind("Purge (durées de conservation)", purge, singleton=True),
    "rappels-conventions": Kind(
        "Rappels des bilans de conventions (courriel)", conventions_reminders, singleton=True
    ),
    "relances-invitations": Kind(
        "Relances des invitations à l'orientation (courriel, SMS)", orientation_reminders, singleton=True
    ),
    "cohorte": Kind("Recalcul de la cohorte du tableau de bord", cohort_refresh, singleton=True),
    "journal-acces": Kind(
        "Vérification du journal d'accès et export de sa tête", audit_head, max_attempts=1, singleton=True
    ),
    "messages-rendez-vous": Kind(
        "Messages des rendez-vous : rappels, confirmations, annulations (courriel, SMS)",
        appointment_messages,
        singleton=True,
    ),
    "planificateur": Kind("Planificateur des tâches périodiques", scheduler, max_attempts=1, singleton=True),
}
