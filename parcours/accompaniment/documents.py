"""Documents de l'accompagnement en PDF : contrat d'engagement et courriers de la procédure de sanction.

Un document par personne, chaque document sur une nouvelle page (``parcours.core.pdf.letters_pdf``) ; un lot
sélectionné dans une liste donne un seul PDF. Le texte des courriers n'est écrit qu'une fois : le contrat
reprend les rubriques de sa page imprimable (``_contract_body.html``), dont les droits et voies de recours
saisis sur le contrat (Code du travail L5411-6 à L5411-6-4 ; CASF L262-35) ; les courriers de sanction sont
ceux de ``sanctions.letter`` (information préalable et droit de présenter ses observations, assisté,
CASF L262-37 et R262-68 ; décision et voies de recours).

Nombre de requêtes indépendant du nombre de documents : les ensembles ``printable_contracts`` et
``printable_cases`` lisent personnes, Départements, objectifs et actions en une requête chacun.
"""

import html

from django.db.models import Prefetch
from django.utils import timezone

from parcours.core.pdf import Letter, letterhead, letters_pdf

from . import sanctions
from .models import Contract, ContractAction, ContractStatus, Objective, SanctionCase


def _escape(text):
    return html.escape(str(text), quote=False)


def _date(value):
    return value.strftime("%d/%m/%Y") if value else ""


def _hours(value):
    return f"{value.normalize():f}".replace(".", ",") if value is not None else "—"


# --- contrat d'engagement -------------------------------------------------------------------------------


def printable_contracts(queryset=None):
    """Les contrats prêts à imprimer : personne, Département, organisme, référent, objectifs et actions lus
    d'un coup (cinq requêtes quel que soit le nombre de contrats)."""
    queryset = Contract.objects.all() if queryset is None else queryset
    return queryset.select_related("beneficiary__departement", "organisation", "referent").prefetch_related(
        Prefetch("objectives", queryset=Objective.objects.select_related("theme")),
        Prefetch("actions", queryset=ContractAction.objects.select_related("action__theme")),
    )


def _period(contract):
    parts = []
    if contract.starts_on:
        parts.append(f"du {_date(contract.starts_on)}")
    if contract.ends_on:
        parts.append(f"au {_date(contract.ends_on)}")
    return " ".join(parts) or "—"


def _weekly_hours(contract):
    text = "—" if contract.weekly_hours is None else f"{_hours(contract.weekly_hours)} heures par semaine"
    if contract.hours_exemption:
        text += f" — durée adaptée : {contract.get_hours_exemption_display()}"
        if contract.hours_exemption_details:
            text += f" ({contract.hours_exemption_details})"
    return text


def contract_letter(contract):
    """Le contrat d'engagement mis en page comme un courrier à la personne (mêmes rubriques que sa page
    imprimable). ``contract`` : lu par ``printable_contracts`` (sinon une requête par rubrique)."""
    person = contract.beneficiary
    born = f", né{person.accorde} le {_date(person.birth_date)}" if person.birth_date else ""
    fields = [
        ("Personne", f"{person.full_name}{born}"),
        ("Organisme référent", contract.organisation.name if contract.organisation_id else "—"),
        ("Référent unique", str(contract.referent) if contract.referent_id else "—"),
        ("Période", _period(contract)),
        ("Intensité de l'accompagnement", contract.get_intensity_display() or "—"),
        ("Durée hebdomadaire d'activité", _weekly_hours(contract)),
        ("Signé le", _date(contract.signed_on) or "non signé"),
        ("Révision prévue", _date(contract.review_on) or "—"),
    ]
    objectives = sorted(contract.objectives.all(), key=lambda o: (o.theme.position, o.position, o.label))
    blocks = [
        ("fields", fields),
        ("h", "Engagements du référent"),
        ("text", contract.referent_commitments),
        ("h", "Engagements de la personne"),
        ("text", contract.person_commitments),
        ("h", "Plan d'action — objectifs"),
    ]
    if objectives:
        blocks.append(
            ("p", "".join(f"<li>{_escape(o.label)} ({_escape(o.theme.label)})</li>" for o in objectives))
        )
    else:
        blocks.append(("text", "—"))
    blocks.append(("h", "Plan d'action — actions"))
    actions = list(contract.actions.all())
    if actions:
        rows = [
            [a.label, a.action.theme.label if a.action_id else "—", _hours(a.weekly_hours)] for a in actions
        ]
        blocks.append(("table", ["Action", "Thème", "Heures / semaine"], rows))
    else:
        blocks.append(("text", "—"))
    blocks += [
        ("h", "Vos droits et voies de recours"),
        ("text", contract.rights_and_appeals),
        (
            "signatures",
            [
                "Signature de la personne"
                + (f", le {_date(contract.signed_on)}" if contract.signed_on else ""),
                f"Signature du référent — {contract.referent or ''}"
                + (f", le {_date(contract.signed_on)}" if contract.signed_on else ""),
            ],
        ),
        (
            "small",
            f"Document édité le {_date(timezone.localdate())} depuis Parcours — contrat n° {contract.pk}.",
        ),
    ]
    return Letter(
        person=person,
        sender=letterhead(person.departement),
        reference=f"Contrat n° {contract.pk}",
        subject=f"{contract.get_kind_display()} — {person.full_name}",
        title="Projet — non signé" if contract.status == ContractStatus.DRAFT else "",
        blocks=blocks,
        compact=True,
    )


def contracts_pdf(contracts):
    """Un seul PDF, un contrat par courrier (chacun commence sur une nouvelle page)."""
    return letters_pdf([contract_letter(c) for c in contracts], title="Contrats d'engagement")


def contract_pdf(contract):
    """Le PDF d'un contrat (relu avec ses objectifs et actions)."""
    return contracts_pdf(printable_contracts(Contract.objects.filter(pk=contract.pk)))


# --- procédure de sanction ------------------------------------------------------------------------------


def printable_cases(queryset=None):
    queryset = SanctionCase.objects.all() if queryset is None else queryset
    return queryset.select_related("beneficiary__departement")


def case_letter(case):
    """Le courrier de l'étape de la procédure (``sanctions.letter``), ou None s'il n'y en a pas."""
    letter = sanctions.letter(case)
    if letter is None:
        return None
    subject, paragraphs = letter
    person = case.beneficiary
    return Letter(
        person=person,
        sender=letterhead(person.departement),
        reference=f"Procédure n° {case.pk}",
        subject=subject,
        body="".join(f"<p>{_escape(text)}</p>" for text in paragraphs),
    )


def cases_pdf(cases):
    """Un seul PDF des courriers des procédures données (celles sans courrier à leur étape sont omises)."""
    letters = [letter for case in cases if (letter := case_letter(case)) is not None]
    return letters_pdf(letters, title="Courriers de procédure de sanction")
