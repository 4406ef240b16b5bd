"""Notifications d'orientation en PDF : une par décision, imprimables en nombre (un courrier par page).

Le texte du courrier n'est écrit qu'une fois : ``decisions.render_decision_letter`` (gabarit par Département,
sinon gabarit commun), le même que la page imprimable ; il porte l'objet, le parcours, l'organisme, le contrat
à signer dans le mois (Code du travail D5411-14-1) et les voies de recours (deux mois, recours administratif puis
tribunal administratif). La liste « notifications à imprimer » lit les décisions en vigueur à notifier, ou
notifiées depuis une date ; le nombre de requêtes ne dépend pas du nombre de courriers.
"""

import datetime

from django.utils import timezone

from parcours.core.pdf import Letter, letterhead, letters_pdf

from .decisions import render_decision_letter
from .models import DecisionStatus, OrientationDecision

TO_NOTIFY = "a_notifier"
NOTIFIED = "notifiees"
STATES = ((TO_NOTIFY, "Décisions à notifier"), (NOTIFIED, "Décisions notifiées"))
#: Décisions notifiées montrées par défaut : celles des 30 derniers jours.
NOTIFIED_SINCE_DAYS = 30


def printable_decisions(queryset=None):
    """Décisions prêtes à imprimer : personne, Département et organisme lus dans la même requête."""
    queryset = OrientationDecision.objects.all() if queryset is None else queryset
    return queryset.select_related("beneficiary__departement", "beneficiary__territory", "organisation")


def default_since(today=None):
    return (today or timezone.localdate()) - datetime.timedelta(days=NOTIFIED_SINCE_DAYS)


def notification_decisions(scope, *, state=TO_NOTIFY, since=None):
    """Décisions en vigueur des personnes de ``scope`` : à notifier (décidées, pas encore notifiées), les plus
    anciennes d'abord ; ou notifiées depuis ``since`` (30 jours par défaut), les plus récentes d'abord."""
    decisions = OrientationDecision.objects.filter(beneficiary__in=scope.values("pk"), is_current=True)
    if state == NOTIFIED:
        decisions = decisions.filter(
            status=DecisionStatus.NOTIFIED, notified_on__gte=since or default_since()
        )
        ordering = ["-notified_on", "beneficiary__last_name", "pk"]
    else:
        decisions = decisions.filter(status=DecisionStatus.DECIDED)
        ordering = ["decided_on", "beneficiary__last_name", "pk"]
    return printable_decisions(decisions).order_by(*ordering)


def decision_letter(decision):
    """Le courrier de notification d'une décision, mis en page (référence : numéro de la décision)."""
    person = decision.beneficiary
    return Letter(
        person=person,
        sender=letterhead(person.departement),
        reference=f"Décision d'orientation n° {decision.pk} du {decision.decided_on:%d/%m/%Y}",
        body=render_decision_letter(decision),
    )


def decisions_pdf(decisions):
    """Un seul PDF, une notification par page (décisions lues par ``printable_decisions``)."""
    return letters_pdf([decision_letter(d) for d in decisions], title="Notifications d'orientation")
