"""Espace de la personne accompagnée : elle voit son référent, ses prochains rendez-vous, son contrat et son
plan d'activités, confirme ou excuse un rendez-vous et répond au questionnaire de satisfaction.

Tout part du compte (``PersonAccount``) : une personne ne lit et ne modifie que ses propres données.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from parcours.accounts.models import User

from . import activities
from .models import AppointmentReply, ContractStatus, PersonAccount, SatisfactionAnswer


@transaction.atomic
def create_account(beneficiary, *, email, password=None):
    """Crée le compte de connexion de la personne (adresse électronique ; mot de passe à définir)."""
    email = (email or beneficiary.email or "").strip().lower()
    if not email:
        raise ValidationError({"email": "Adresse électronique : obligatoire pour créer le compte."})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": "Cette adresse électronique a déjà un compte."})
    if PersonAccount.objects.filter(beneficiary=beneficiary).exists():
        raise ValidationError("Cette personne a déjà un compte.")
    user = User.objects.create_user(
        email, password=password, first_name=beneficiary.first_name, last_name=beneficiary.last_name
    )
    return PersonAccount.objects.create(user=user, beneficiary=beneficiary)


def person_for(user):
    """La personne liée au compte connecté, ou None (un agent n'a pas d'espace personnel)."""
    if not user.is_authenticated:
        return None
    account = PersonAccount.objects.filter(user=user).select_related("beneficiary__departement").first()
    return account.beneficiary if account else None


def upcoming_appointments(beneficiary, now=None):
    now = now or timezone.now()
    return list(
        beneficiary.appointments.filter(starts_at__gte=now, attendance="planned")
        .prefetch_related("replies")
        .order_by("starts_at")[:5]
    )


def summary(beneficiary, today=None):
    """Ce que la personne voit sur son espace (quelques requêtes, rien de sensible)."""
    today = today or timezone.localdate()
    referent = (
        beneficiary.referent_assignments.filter(ended_on__isnull=True)
        .select_related("referent", "organisation")
        .first()
    )
    contract = (
        beneficiary.contracts.filter(status=ContractStatus.SIGNED).order_by("-signed_on", "-pk").first()
    )
    return {
        "referent": referent,
        "appointments": upcoming_appointments(beneficiary),
        "contract": contract,
        "contract_actions": list(contract.actions.all()) if contract else [],
        "weeks": activities.weekly_plan(beneficiary, today, weeks=2),
        "surveys_due": _surveys_due(beneficiary, today),
    }


def _surveys_due(beneficiary, today):
    """Questionnaires de satisfaction ouverts (après l'entretien d'orientation, après 3 mois)."""
    from .surveys import occasion_label, open_occasions

    return [
        {"occasion": str(o), "due_on": d, "label": occasion_label(o, d)}
        for o, d in open_occasions(beneficiary, today)
    ]


@transaction.atomic
def reply_to_appointment(beneficiary, appointment_id, *, answer, reason=""):
    """Confirme ou excuse un rendez-vous à venir de la personne (jamais celui d'une autre)."""
    appointment = beneficiary.appointments.filter(pk=appointment_id).first()
    if appointment is None:
        raise LookupError("Rendez-vous introuvable.")
    if answer not in (AppointmentReply.CONFIRM, AppointmentReply.EXCUSE):
        raise ValidationError("Réponse inconnue.")
    if appointment.starts_at < timezone.now() or appointment.attendance != "planned":
        raise ValidationError("Ce rendez-vous est passé ou annulé : vous ne pouvez plus y répondre.")
    reason = (reason or "").strip()
    if answer == AppointmentReply.EXCUSE and not reason:
        raise ValidationError({"reason": "Dites-nous pourquoi vous ne pourrez pas venir."})
    return AppointmentReply.objects.create(appointment=appointment, answer=answer, reason=reason[:300])


def answer_survey(beneficiary, *, score, listened_to, comment="", today=None):
    """Avis donné par la personne à son initiative (hors occasion ; voir ``surveys.py``)."""
    from .surveys import answer_person_survey

    return answer_person_survey(
        beneficiary, score=score, listened_to=listened_to, comment=comment, today=today
    )


def satisfaction_summary(start, end, beneficiaries=None):
    """Pour l'indicateur de satisfaction des personnes : réponses entre ``start`` et ``end`` inclus.

    Renvoie ``{"reponses": n, "note_moyenne": x.x ou None, "part_ecoutee": 0-1 ou None}``.
    """
    answers = SatisfactionAnswer.objects.filter(answered_on__gte=start, answered_on__lte=end)
    if beneficiaries is not None:
        answers = answers.filter(beneficiary__in=beneficiaries)
    rows = list(answers.values_list("score", "listened_to"))
    if not rows:
        return {"reponses": 0, "note_moyenne": None, "part_ecoutee": None}
    return {
        "reponses": len(rows),
        "note_moyenne": round(sum(score for score, _ in rows) / len(rows), 1),
        "part_ecoutee": round(sum(1 for _, listened in rows if listened) / len(rows), 2),
    }
