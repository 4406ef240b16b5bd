"""Connecteur France Travail : résultats d'orientation et rendez-vous des allocataires du RSA du Département.

Annexe 5 de la convention (coopération France Travail – Département) : France Travail transmet les
orientations qu'il réalise pour le Département (orientation déléguée), les rendez-vous qu'il positionne
pour les allocataires et la présence ou l'absence à ces rendez-vous.

**Forme de l'API : notre hypothèse.** La spécification réelle est sur le portail partenaires de France
Travail ; ce module suit les conventions des API partenaires publiques de France Travail :

- jeton OAuth2 « client credentials » : ``POST`` du formulaire ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope`` sur ``token_url`` → ``{"access_token", "token_type":
  "Bearer", "expires_in"}`` ;
- ressources JSON ``GET {base_url}/departements/{code}/orientations`` et ``…/rendez-vous``, filtre
  ``dateModificationMin`` (AAAA-MM-JJ), pagination par ``range=début-fin`` : réponse ``206`` avec
  ``Content-Range: orientations 0-99/250`` tant qu'il reste des éléments, ``200`` pour la dernière
  tranche ; corps ``{"resultats": [...]}`` (formes détaillées dans ``docs/connecteurs.md`` et les
  fixtures ``tests/connectors/fixtures/francetravail/``).

Chaque élément est appliqué dans sa propre transaction par les fonctions de l'orientation
(``decide_orientation``, ``notify_orientation``, ``cancel_orientation``, ``schedule_appointment``,
``record_attendance`` — les mêmes que l'API d'interopérabilité), signé par un compte technique, et relié
à son identifiant France Travail (``ExternalRecord``) : une deuxième exécution ne refait rien de ce qui
est déjà appliqué. Un élément invalide (personne introuvable, parcours inconnu…) est rejeté avec son
identifiant et le champ en cause ; les autres sont appliqués ; il sera retenté à l'exécution suivante.
"""

import datetime
import re
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from parcours.intake.formats.values import parse_nir
from parcours.orientation import services as orientation
from parcours.orientation.models import AppointmentKind, Attendance, DecisionStatus, Pathway

from . import conf
from .common import ItemError, OrganisationResolver, connector_user, fingerprint, validation_message
from .http import ApiClient, ConnectorError
from .identify import PersonFinder, PersonNotFound
from .models import Connector, ConnectorRun, ExternalRecord

PATHWAYS = {"PED": Pathway.EMPLOI, "PSP": Pathway.SOCIO_PROFESSIONNEL, "PSO": Pathway.SOCIAL}
ORIENTATION_STATUSES = {"DECIDEE", "NOTIFIEE", "ANNULEE"}
APPOINTMENT_KINDS = {
    "ORIENTATION": AppointmentKind.ORIENTATION,
    "DIAGNOSTIC": AppointmentKind.ORIENTATION,
    "ACCOMPAGNEMENT": AppointmentKind.ACCOMPANIMENT,
    "SUIVI": AppointmentKind.ACCOMPANIMENT,
}
ATTENDANCES = {
    "PREVU": Attendance.PLANNED,
    "HONORE": Attendance.SEEN,
    "ABSENT": Attendance.NO_SHOW,
    "EXCUSE": Attendance.EXCUSED,
    "ANNULE": Attendance.CANCELLED,
}
_PAYLOAD_FIELDS = {
    "nir": "nir",
    "departement_internal_id": "identifiantDepartement",
    "france_travail_id": "identifiantFranceTravail",
    "nom": "nom",
}
MODALITIES = {"TELEPHONE": "Par téléphone", "VISIO": "En visioconférence"}
_CONTENT_RANGE = re.compile(r"^\s*\w[\w-]*\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class FranceTravailClient(ApiClient):
    label = "France Travail"
    credentials_hint = "les identifiants OAuth2 (PARCOURS_FT_CLIENT_ID, PARCOURS_FT_CLIENT_SECRET)"

    def __init__(self, **overrides):
        settings = conf.get("francetravail")
        settings.update(overrides)
        super().__init__(settings["base_url"])
        self.token_url = settings["token_url"]
        self.client_id = settings["client_id"]
        self.client_secret = settings["client_secret"]
        self.scope = settings["scope"]
        self.page_size = int(settings["page_size"])
        self.max_pages = int(settings["max_pages"])
        self.token_expires_at = 0.0

    # --- jeton OAuth2 -------------------------------------------------------------------------------------

    def fetch_token(self):
        if not self.client_id or not self.client_secret:
            raise ConnectorError(
                f"France Travail : identifiants OAuth2 non configurés. Renseignez {self.credentials_hint}."
            )
        response = self.request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": self.scope,
            },
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=False,
        )
        if response.status_code in (400, 401, 403):
            raise ConnectorError(
                f"France Travail : demande de jeton refusée ({response.status_code}){self._detail(response)}. "
                f"Vérifiez {self.credentials_hint} et les droits (scope) accordés.",
                status=response.status_code,
            )
        body = self.json(self.check(response))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise ConnectorError("France Travail : réponse du serveur de jetons sans « access_token ».")
        self.token = token
        expires_in = body.get("expires_in") if isinstance(body.get("expires_in"), int) else 300
        self.token_expires_at = time.monotonic() + max(expires_in - 30, 0)
        return token

    def auth_headers(self):
        if not self.token or time.monotonic() >= self.token_expires_at:
            self.fetch_token()
        return super().auth_headers()

    def get(self, path, params):
        response = self.request("GET", path, params=params)
        if response.status_code == 401:  # jeton révoqué ou expiré avant l'heure : un seul renouvellement
            self.fetch_token()
            response = self.request("GET", path, params=params)
        return self.check(response)

    # --- pagination par tranches (range / Content-Range) ---------------------------------------------------

    def collection(self, resource, departement_code, since=None):
        """Tous les éléments d'une ressource (``orientations`` ou ``rendez-vous``) du Département."""
        params = {}
        if since:
            params["dateModificationMin"] = since.isoformat()
        items, start = [], 0
        for _ in range(self.max_pages):
            end = start + self.page_size - 1
            response = self.get(
                f"/departements/{departement_code}/{resource}", {**params, "range": f"{start}-{end}"}
            )
            if response.status_code == 204:
                return items
            body = self.json(response)
            batch = body.get("resultats") if isinstance(body, dict) else None
            if not isinstance(batch, list):
                raise ConnectorError(
                    f"France Travail : réponse inattendue pour {resource} (attendu : {{resultats: [...]}})."
                )
            items.extend(batch)
            if response.status_code != 206 or not batch:
                return items
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match:
                raise ConnectorError(f"France Travail : en-tête Content-Range illisible pour {resource}.")
            last, total = int(match.group(2)), match.group(3)
            if total != "*" and last + 1 >= int(total):
                return items
            start = last + 1
        raise ConnectorError(
            f"France Travail : plus de {self.max_pages} tranches pour {resource}, lecture interrompue."
        )


# --- lecture des champs ---------------------------------------------------------------------------------------


def _text(item, name, *, required=True):
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ItemError(name, "Champ obligatoire absent.")
        return ""
    return str(value).strip()


def _date(item, name, *, required=True):
    value = _text(item, name, required=required)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        raise ItemError(name, f"Date « {value} » illisible (format attendu : AAAA-MM-JJ).") from None


def _datetime(item, name):
    value = _text(item, name)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ItemError(name, f"Date et heure « {value} » illisibles (format attendu : ISO 8601).") from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _choice(item, name, choices):
    value = _text(item, name).upper()
    if value not in choices:
        raise ItemError(name, f"Valeur « {value} » inconnue (attendu : {', '.join(sorted(choices))}).")
    return choices[value] if isinstance(choices, dict) else value


def _identity(item):
    person = item.get("individu")
    if not isinstance(person, dict):
        raise ItemError("individu", "Personne absente de l'élément.")
    try:
        nir = parse_nir(person.get("nir"))
    except ValueError as exc:
        raise ItemError("individu.nir", f"NIR invalide : {exc}.") from None
    try:
        birth_date = _date(person, "dateNaissance", required=False)
    except ItemError as exc:
        raise ItemError("individu.dateNaissance", exc.message) from None
    return {
        "nir": nir,
        "france_travail_id": str(person.get("identifiantFranceTravail") or "").strip() or None,
        "departement_id": str(person.get("identifiantDepartement") or "").strip() or None,
        "last_name": person.get("nom"),
        "first_name": person.get("prenom"),
        "birth_date": birth_date,
    }


# --- application ----------------------------------------------------------------------------------------------


def _counters():
    return {"created": 0, "updated": 0, "linked": 0, "unchanged": 0, "ignored": 0, "rejected": 0}


class _Sync:
    def __init__(self, departement, today):
        self.departement = departement
        self.today = today
        self.author = connector_user(departement, "francetravail", "Connecteur France Travail")
        self.people = PersonFinder(departement)
        self.organisations = OrganisationResolver(departement)
        self.report = {
            "departement": departement.departement_code,
            "orientations": _counters(),
            "rendez_vous": _counters(),
            "errors": [],
            "warnings": [],
        }

    def _record(self, kind, external_id):
        return (
            ExternalRecord.objects.filter(
                system=Connector.FRANCE_TRAVAIL,
                departement=self.departement,
                kind=kind,
                external_id=external_id,
            )
            .select_related("beneficiary", "decision", "appointment")
            .first()
        )

    def _person(self, item):
        try:
            return self.people.find(**_identity(item))
        except PersonNotFound as exc:
            raise ItemError(f"individu.{_PAYLOAD_FIELDS.get(exc.field, 'nom')}", exc.message) from None

    def run(self, resource, items, apply, id_field):
        counters = self.report[resource]
        for position, item in enumerate(items, start=1):
            external_id = item.get(id_field) if isinstance(item, dict) else None
            try:
                if not isinstance(item, dict):
                    raise ItemError("", "Élément illisible : objet JSON attendu.")
                if not external_id:
                    raise ItemError(id_field, "Identifiant absent : élément ignoré.")
                with transaction.atomic():
                    outcome = apply(str(external_id), item)
            except ItemError as exc:
                outcome, field, message = "rejected", exc.field, exc.message
            except ValidationError as exc:
                outcome, field, message = "rejected", "", validation_message(exc)
            if outcome == "rejected":
                self.report["errors"].append(
                    {
                        "resource": resource,
                        "rang": position,
                        "id": external_id,
                        "field": field,
                        "message": message,
                    }
                )
            counters[outcome] += 1

    def warn(self, resource, external_id, field, message):
        self.report["warnings"].append(
            {"resource": resource, "id": external_id, "field": field, "message": message}
        )

    # --- orientations

    def apply_orientation(self, external_id, item):
        status = _choice(item, "statut", ORIENTATION_STATUSES)
        pathway = _choice(item, "parcours", PATHWAYS)
        decided_on = _date(item, "dateDecision")
        notified_on = _date(item, "dateNotification", required=status == "NOTIFIEE")
        stamp = fingerprint(item)
        record = self._record(ExternalRecord.Kind.ORIENTATION, external_id)
        if record is not None and record.fingerprint == stamp:
            return "unchanged"
        if record is None:
            if status == "ANNULEE":
                return "ignored"  # jamais reçue : rien à annuler
            person = self._person(item)
            organisation = self.organisations.resolve(item.get("organismeReferent"), "organismeReferent")
            current = orientation.current_orientation(person)
            if (
                current is not None
                and current.status != DecisionStatus.CANCELLED
                and current.pathway == pathway
                and current.organisation_id == organisation.pk
                and current.decided_on == decided_on
            ):
                # Déjà saisie dans Parcours (ex. reprise manuelle du courrier) : on relie sans dupliquer.
                decision, outcome = current, "linked"
                if status == "NOTIFIEE" and decision.status == DecisionStatus.DECIDED:
                    orientation.notify_orientation(decision, author=self.author, notified_on=notified_on)
            else:
                decision = orientation.decide_orientation(
                    person,
                    pathway=pathway,
                    organisation=organisation,
                    author=self.author,
                    decided_on=decided_on,
                    notified_on=notified_on if status == "NOTIFIEE" else None,
                    reason=f"Orientation réalisée par France Travail (référence {external_id}).",
                )
                outcome = "created"
            ExternalRecord.objects.create(
                system=Connector.FRANCE_TRAVAIL,
                departement=self.departement,
                kind=ExternalRecord.Kind.ORIENTATION,
                external_id=external_id,
                beneficiary=person,
                decision=decision,
                fingerprint=stamp,
            )
            return outcome
        decision = record.decision
        changed = False
        if decision is None:
            raise ItemError(
                "idOrientation", "La décision reliée à cette orientation a été supprimée de Parcours."
            )
        if status == "ANNULEE" and decision.status != DecisionStatus.CANCELLED:
            reason = (
                _text(item, "motifAnnulation", required=False) or "Orientation annulée par France Travail."
            )
            orientation.cancel_orientation(decision, author=self.author, reason=reason, on=self.today)
            changed = True
        elif status == "NOTIFIEE" and decision.status == DecisionStatus.DECIDED:
            orientation.notify_orientation(decision, author=self.author, notified_on=notified_on)
            changed = True
        elif status != "ANNULEE" and decision.status == DecisionStatus.CANCELLED:
            self.warn(
                "orientations",
                external_id,
                "statut",
                "Orientation annulée dans Parcours mais toujours valide chez France Travail : à vérifier.",
            )
        if decision.status != DecisionStatus.CANCELLED and (decision.pathway, decision.decided_on) != (
            pathway,
            decided_on,
        ):
            self.warn(
                "orientations",
                external_id,
                "parcours",
                "Parcours ou date de décision modifiés chez France Travail : une modification n'est pas reprise "
                "(une réorientation arrive comme une nouvelle orientation).",
            )
        record.fingerprint = stamp
        record.save(update_fields=["fingerprint", "updated_at"])
        return "updated" if changed else "unchanged"

    # --- rendez-vous

    def _place(self, item):
        place = item.get("lieu") if isinstance(item.get("lieu"), dict) else {}
        parts = [str(place.get(k) or "").strip() for k in ("libelle", "adresse")]
        text = ", ".join(p for p in parts if p)
        modality = str(item.get("modalite") or "").upper()
        if modality in MODALITIES:
            text = f"{MODALITIES[modality]}{' — ' + text if text else ''}"
        if not text:
            raise ItemError("lieu", "Lieu du rendez-vous absent.")
        return text[:300]

    def apply_appointment(self, external_id, item):
        kind = _choice(item, "type", APPOINTMENT_KINDS)
        target = _choice(item, "statut", ATTENDANCES)
        starts_at = _datetime(item, "dateHeureDebut")
        duration = item.get("dureeMinutes") or 60
        if not isinstance(duration, int) or not 5 <= duration <= 600:
            raise ItemError("dureeMinutes", f"Durée « {duration} » invalide (entre 5 et 600 minutes).")
        place = self._place(item)
        stamp = fingerprint(item)
        record = self._record(ExternalRecord.Kind.APPOINTMENT, external_id)
        if record is not None and record.fingerprint == stamp:
            return "unchanged"
        if record is None:
            if target == Attendance.CANCELLED:
                return "ignored"
            person = self._person(item)
            organisation = self.organisations.resolve(item.get("organisme"), "organisme")
            appointment = orientation.schedule_appointment(
                person,
                starts_at=starts_at,
                place=place,
                author=self.author,
                kind=kind,
                organisations=[organisation],
                duration_minutes=duration,
                notes=f"Rendez-vous positionné par France Travail (référence {external_id}).",
                planned_on=self.today,
            )
            if target != Attendance.PLANNED:
                orientation.record_attendance(appointment, target, author=self.author, on=self.today)
            ExternalRecord.objects.create(
                system=Connector.FRANCE_TRAVAIL,
                departement=self.departement,
                kind=ExternalRecord.Kind.APPOINTMENT,
                external_id=external_id,
                beneficiary=person,
                appointment=appointment,
                fingerprint=stamp,
            )
            return "created"
        appointment = record.appointment
        if appointment is None:
            raise ItemError("idRendezVous", "Le rendez-vous relié a été supprimé de Parcours.")
        changed = False
        moved = (appointment.starts_at, appointment.place, appointment.duration_minutes) != (
            starts_at,
            place,
            duration,
        )
        if moved and appointment.attendance == Attendance.PLANNED:
            # Rendez-vous déplacé chez France Travail avant d'avoir eu lieu : nouvelle date, nouveau lieu.
            appointment.starts_at, appointment.place, appointment.duration_minutes = (
                starts_at,
                place,
                duration,
            )
            appointment.save(update_fields=["starts_at", "place", "duration_minutes", "updated_at"])
            changed = True
        if target != appointment.attendance:
            if appointment.attendance == Attendance.CANCELLED:
                raise ItemError(
                    "statut", "Rendez-vous annulé dans Parcours : la présence transmise n'est pas reprise."
                )
            if appointment.attendance != Attendance.PLANNED and target != Attendance.PLANNED:
                # Correction d'une présence déjà saisie : on repasse par « prévu » (règle de l'orientation).
                orientation.record_attendance(
                    appointment, Attendance.PLANNED, author=self.author, on=self.today
                )
            orientation.record_attendance(appointment, target, author=self.author, on=self.today)
            changed = True
        record.fingerprint = stamp
        record.save(update_fields=["fingerprint", "updated_at"])
        return "updated" if changed else "unchanged"


def default_since(departement):
    """Date de la dernière synchronisation réussie, moins un jour de recouvrement (ou ``None``)."""
    last = (
        ConnectorRun.objects.filter(
            connector=Connector.FRANCE_TRAVAIL, departement=departement, finished_at__isnull=False
        )
        .exclude(status=ConnectorRun.Status.FAILED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return timezone.localdate(last) - datetime.timedelta(days=1) if last else None


def sync(departement, *, since=None, client=None, today=None, full=False):
    """Lit puis applique orientations et rendez-vous du Département ; renvoie le rapport.

    Tout est lu avant la moindre écriture : une erreur d'accès (``ConnectorError``) n'écrit rien."""
    today = today or timezone.localdate()
    client = client or FranceTravailClient()
    if since is None and not full:
        since = default_since(departement)
    run = ConnectorRun.objects.create(connector=Connector.FRANCE_TRAVAIL, departement=departement)
    try:
        code = departement.departement_code
        orientations = client.collection("orientations", code, since)
        appointments = client.collection("rendez-vous", code, since)
    except ConnectorError as exc:
        run.status, run.finished_at = ConnectorRun.Status.FAILED, timezone.now()
        run.report = {"error": exc.message}
        run.save(update_fields=["status", "finished_at", "report"])
        raise
    job = _Sync(departement, today)
    job.report["since"] = since.isoformat() if since else None
    job.run("orientations", orientations, job.apply_orientation, "idOrientation")
    job.run("rendez_vous", appointments, job.apply_appointment, "idRendezVous")
    report = job.report
    run.status = ConnectorRun.Status.PARTIAL if report["errors"] else ConnectorRun.Status.DONE
    run.finished_at = timezone.now()
    run.report = report
    run.save(update_fields=["status", "finished_at", "report"])
    report["run_id"] = run.pk
    return report
