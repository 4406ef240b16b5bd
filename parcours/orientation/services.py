"""Actions de l'orientation, réunies pour les appelants (vues, API, connecteurs, commandes, démonstration).

Chaque sujet a son module ; une règle s'écrit dans le module de son sujet, jamais ici :

- ``queues`` : délais d'orientation (objectif, délai légal) et files de travail de l'équipe ;
- ``invitations`` : invitations et convocations (création, envoi, relance, expiration) ;
- ``appointments`` : rendez-vous et présence ;
- ``decisions`` : décision d'orientation, notification (qui ouvre le suivi, ``parcours.pathway``), annulation,
  écran par lot, dispenses, réorientations ;
- ``proposal`` : proposition d'orientation à partir de ce que l'on sait de la personne ;
- ``referents`` : référent unique, règle de désignation, portefeuilles ;
- ``common`` : écriture au journal, date du jour, contrôle des transitions.

Chaque changement d'état passe par **une** fonction qui vérifie la transition et écrit, dans la même
transaction, l'état et un événement daté du journal des parcours (``parcours.journal.Event``). Les fonctions
prennent un paramètre ``today`` (ou ``on``) : par défaut la date du jour, fixé par les tests.
"""

from . import sms  # noqa: F401, E402 - les appelants lisent services.sms
from .appointments import (  # noqa: F401
    ATTENDANCE_EVENTS,
    appointments_between,
    appointments_for_agent,
    held_by,
    record_attendance,
    schedule_appointment,
)
from .decisions import (  # noqa: F401
    BatchResult,
    active_exemption,
    add_exemption,
    cancel_orientation,
    current_orientation,
    decide_orientation,
    decide_reorientation,
    end_exemption,
    notify_orientation,
    orientation_history,
    orientation_organisations,
    pending_reorientation_requests,
    render_decision_letter,
    request_reorientation,
    transition_decision,
    validate_orientations,
)
from .delays import orientation_timeliness  # noqa: F401
from .invitations import (  # noqa: F401
    INVITATION_EVENTS,
    BulkReport,
    create_invitation,
    expire_invitations,
    invitations_to_remind,
    invite,
    invite_many,
    message_context,
    record_delivery,
    remind_invitation,
    render_message,
    send_invitation,
    send_reminders,
    transition_invitation,
)
from .proposal import (  # noqa: F401
    DEFAULT_PROPOSAL_RULES,
    KNOWN_CRITERIA,
    SOCIAL_BARRIER_THEMES,
    Proposal,
    Proposer,
    criteria_match,
    person_facts,
    propose_orientation,
)
from .queues import (  # noqa: F401
    DaysBetween,
    appointments_to_record,
    deadlines,
    expired_invitations,
    new_entrants_to_invite,
    pending_invitations,
    people_to_orient,
    queue_counts,
    queue_page,
    stock_without_orientation,
    with_days_left,
)
from .referents import (  # noqa: F401
    AssignmentResult,
    assign_referent,
    current_referent,
    end_referent,
    open_loads,
    portfolio,
    portfolio_cap,
    portfolio_caps,
    portfolio_size,
    referent_history,
    referent_loads,
    suggest_referent,
)
