"""Import des flux de bénéficiaires : lecture → validation → rapprochement → écriture → nouveaux entrants.

Un fichier est importé en **une transaction** : une erreur de structure ou une erreur de ligne annule
tout (rien n'est écrit) et le rapport liste toutes les erreurs, ligne et champ. Les lignes sont lues en
flux et écrites par paquets (requêtes groupées), la mémoire reste plate quelle que soit la taille du
fichier. Réimporter le même fichier ne change rien.

Un seul import est appliqué à la fois par Département, et jamais un flux plus ancien que le dernier
appliqué (``locks.py``) : ``run_batch`` est le passage obligé du web, de la ligne de commande et des
tâches de fond.
"""

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, close_old_connections, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind, TerritoryCommune
from parcours.beneficiaries.models import (
    PAYABLE_STATES,
    Beneficiary,
    FollowUp,
    Household,
    RightSnapshot,
)
from parcours.core.bulk import bulk_update_changed, create_objects, insert_rows
from parcours.core.delays import get_delay
from parcours.core.text import plural
from parcours.journal import services as journal
from parcours.journal.models import EventKind
from parcours.journal.payload import Payload
from parcours.pathway import services as pathway

from .formats import open_flux
from .formats.tabular import CONTACTS
from .locks import ImportBusy, exclusive_import, last_applied_batch
from .matching import PeopleIndex, PersonMatcher, strongly_known
from .models import ColumnMapping, FluxFormat, ImportBatch, ImportStatus
from .records import IDENTITY_FIELDS, FileRejected, FluxRow, Issue
from .rights import RightsRecorder
from .staging import Staging

logger = logging.getLogger(__name__)

CHUNK_SIZE = 25_000  # lignes par paquet de la table de transit (écritures en SQL)
ROW_CHUNK_SIZE = 1000  # lignes relues à la fois pour le chemin ligne à ligne
MAX_REPORTED_ISSUES = 1000
CONTACT_FIELDS = ("email", "phone")


class ImportError_(Exception):
    """Erreur de paramétrage de l'import (Département introuvable, correspondance inconnue…)."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_entrants: int = 0
    rows: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    disagreements: list = field(default_factory=list)
    errors_omitted: int = 0
    warnings_omitted: int = 0
    rejected: bool = False
    message: str = ""
    format: str = ""
    columns: dict = field(default_factory=dict)
    batch: ImportBatch | None = None

    def as_json(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "new_entrants": self.new_entrants,
            "errors": self.errors,
            "warnings": self.warnings,
            "disagreements": self.disagreements,
            "rows": self.rows,
            "rejected": self.rejected,
            "message": self.message,
            "format": self.format,
            "batch": self.batch.pk if self.batch else None,
        }


class _Rejected(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Lots d'import


def _imports_dir():
    path = Path(settings.MEDIA_ROOT) / "imports" / timezone.now().strftime("%Y/%m")
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_batch(
    source,
    *,
    organisation,
    user=None,
    fmt=FluxFormat.AUTO,
    mapping_name="",
    received_on=None,
    filename=None,
    initial_stock=False,
):
    """Conserve une copie du fichier (chemin ou fichier téléversé) et crée le lot d'import."""
    if fmt not in FluxFormat.values:
        raise ImportError_(f"Format « {fmt} » inconnu : choisir parmi {', '.join(FluxFormat.values)}.")
    name = filename or Path(getattr(source, "name", str(source))).name
    target = _imports_dir() / f"{uuid.uuid4().hex}-{Path(name).name}"
    digest = hashlib.sha256()
    size = 0
    if hasattr(source, "chunks"):
        chunks = source.chunks()
        with open(target, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    else:
        source = Path(source)
        if not source.is_file():
            raise ImportError_(f"Fichier introuvable : {source}")
        with open(source, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    return ImportBatch.objects.create(
        organisation=organisation,
        created_by=user,
        filename=name,
        stored_path=str(target),
        sha256=digest.hexdigest(),
        size=size,
        requested_format=fmt,
        mapping_name=mapping_name or "",
        received_on=received_on or timezone.localdate(),
        received_on_given=received_on is not None,
        initial_stock=initial_stock,
    )


def import_flux(
    path,
    *,
    organisation,
    received_on=None,
    fmt=FluxFormat.AUTO,
    mapping_name="",
    user=None,
    initial_stock=False,
    progress=None,
):
    batch = create_batch(
        path,
        organisation=organisation,
        user=user,
        fmt=fmt,
        mapping_name=mapping_name,
        received_on=received_on,
        initial_stock=initial_stock,
    )
    return run_batch(batch, progress=progress)


# --------------------------------------------------------------------------------------------------
# Progression d'un import en cours : sur le lot (ImportBatch.progress_done / progress_total), lisible par
# tout processus web. L'import écrit dans une seule transaction, invisible des autres : PostgreSQL reçoit
# la progression par une seconde connexion (validée aussitôt, abandonnée si la ligne est verrouillée) ;
# SQLite, dont la transaction de l'import tient le verrou d'écriture, la reçoit dans un petit fichier à
# côté du fichier déposé (une base SQLite est locale au serveur, ce fichier l'est comme elle).

PROGRESS_INTERVAL = 1.0  # secondes entre deux écritures de la progression


def _progress_file(stored_path):
    """Fichier de progression d'un import (SQLite), à côté de la copie conservée du fichier déposé."""
    return Path(f"{stored_path}.progress.json") if stored_path else None


def store_progress(batch, done, total):
    """Enregistre la progression du lot, visible des autres processus même pendant la transaction."""
    conn = connections[DEFAULT_DB_ALIAS]
    table = conn.ops.quote_name(ImportBatch._meta.db_table)
    if not conn.in_atomic_block:
        ImportBatch.objects.filter(pk=batch.pk).update(progress_done=done, progress_total=total)
    elif conn.vendor == "postgresql":
        side = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            # Transaction courte et SET LOCAL : le délai d'attente ne survit pas à la transaction. Un SET de session
            # resterait sur la connexion rendue à la réserve commune (psycopg_pool) et ferait échouer d'autres requêtes.
            side.ensure_connection()
            with side.wrap_database_errors, side.connection.transaction(), side.connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
                cursor.execute(
                    f"UPDATE {table} SET progress_done = %s, progress_total = %s WHERE id = %s",  # noqa: S608
                    [done, total, batch.pk],
                )
        except DatabaseError:
            logger.debug("Progression de l'import %s non enregistrée (ligne verrouillée)", batch.pk)
        finally:
            side.close()
    elif (path := _progress_file(batch.stored_path)) is not None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"done": done, "total": total}))
            tmp.replace(path)
        except OSError:
            logger.debug("Progression de l'import %s non enregistrée", batch.pk)


def get_progress(batch):
    done, total = batch.progress_done, batch.progress_total
    path = _progress_file(batch.stored_path)
    if path is not None and path.exists():
        try:
            data = json.loads(path.read_text())
            done, total = data.get("done", done), data.get("total", total)
        except (OSError, ValueError):
            pass
    return {"done": done or batch.rows_total, "total": total, "status": batch.status}


def run_batch_in_background(batch, *, wait=False):
    """Dépôt web : importe le lot hors de la requête — tâche de fond si ``PARCOURS_IMPORT_RUNNER`` vaut
    ``jobs`` (production), sinon fil d'exécution du processus web — ou tout de suite (
    ``PARCOURS_IMPORT_IN_BACKGROUND`` faux, tests). Sans attente par défaut : si un import du même Département est
    en cours, le lot est refusé et son rapport dit lequel."""
    if not settings.PARCOURS_IMPORT_IN_BACKGROUND:
        run_batch(batch, wait=wait)
        return None
    if getattr(settings, "PARCOURS_IMPORT_RUNNER", "thread") == "jobs":
        # Production : le lot part dans la file des tâches de fond (« parcours jobs-worker », sur ce serveur ou
        # un autre qui partage le dossier des fichiers déposés) ; il survit à l'arrêt du processus web.
        from parcours.jobs.services import enqueue

        enqueue("import-flux", {"batch": batch.pk}, user=batch.created_by)
        return None

    def target():
        try:
            run_batch(batch, wait=wait)
        finally:
            close_old_connections()

    thread = threading.Thread(target=target, name=f"import-{batch.pk}", daemon=True)
    thread.start()
    return thread


def get_departement(organisation):
    departement = organisation.home_departement
    if departement is None:
        raise ImportError_(f"L'organisation « {organisation} » n'est rattachée à aucun Département.")
    return departement


def default_departement(code=None):
    """Le Département de l'instance : celui du code donné, le seul existant, ou un nouveau par défaut."""
    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT, departement__isnull=True)
    if code:
        found = departements.filter(departement_code=code).first()
        if found is None:
            raise ImportError_(f"Aucun Département de code « {code} ».")
        return found
    count = departements.count()
    if count == 1:
        return departements.get()
    if count > 1:
        codes = ", ".join(departements.values_list("departement_code", flat=True))
        raise ImportError_(f"Plusieurs Départements existent ({codes}) : préciser --departement CODE.")
    code = getattr(settings, "PARCOURS_DEFAULT_DEPARTEMENT_CODE", "00")
    return Organisation.objects.create(
        kind=OrganisationKind.DEPARTEMENT, name="Département", departement_code=code
    )


def run_batch(batch, progress=None, *, wait=True):
    """Exécute l'import du lot, en une transaction. Renvoie le rapport (aussi enregistré sur le lot).

    Un seul import appliqué à la fois par Département (``locks.exclusive_import``) : si un autre est en
    cours, ``wait`` vrai (ligne de commande, tâche de fond) attend au plus
    ``PARCOURS_IMPORT_LOCK_TIMEOUT`` secondes puis met le lot en échec ; ``wait`` faux (dépôt web) refuse
    le lot aussitôt, en disant quel import est en cours.
    """
    report = ImportReport(batch=batch)
    try:
        departement = get_departement(batch.organisation)
    except ImportError_ as exc:
        _reject(report, str(exc))
        report.errors = [{"row": None, "field": None, "message": str(exc)}]
        batch.status, batch.started_at = ImportStatus.REJECTED, timezone.now()
        _finish(batch, report)
        return report
    try:
        with exclusive_import(batch, departement, wait=wait):
            _apply(batch, departement, report, progress)
    except ImportBusy as exc:
        _reject(report, exc.message)
        report.errors = [{"row": None, "field": None, "message": exc.message}]
        # Attente dépassée : échec (une tâche de fond réessaiera) ; dépôt web : refus.
        batch.status = ImportStatus.FAILED if exc.timed_out else ImportStatus.REJECTED
        _finish(batch, report)
    return report


def _apply(batch, departement, report, progress):
    """Applique le lot, le Département étant réservé. Le statut « terminé » est enregistré dans la
    transaction des écritures : un lot terminé a toujours été appliqué, et réciproquement."""
    try:
        mapping = None
        if batch.mapping_name:
            mapping = ColumnMapping.objects.filter(
                organisation__in=[batch.organisation, departement], name=batch.mapping_name
            ).first()
            if mapping is None:
                raise FileRejected(f"Correspondance de colonnes « {batch.mapping_name} » introuvable.")
        with transaction.atomic():
            importer = _Importer(batch, departement, report, progress)
            importer.run(open_flux(batch.stored_path, fmt=batch.requested_format, mapping=mapping))
            if report.errors:
                raise _Rejected
            batch.status = ImportStatus.DONE
            report.message = (
                f"{plural(report.rows, 'ligne lue', 'lignes lues')} : "
                f"{plural(report.created, 'personne créée', 'personnes créées')}, "
                f"{plural(report.updated, 'mise à jour', 'mises à jour')}, "
                f"{plural(report.unchanged, 'inchangée')}, "
                f"{plural(report.new_entrants, 'nouvel entrant', 'nouveaux entrants')}."
            )
            batch.error_message = ""
            _finish(batch, report)
        return
    except FileRejected as exc:
        _reject(report, exc.message)
        report.errors = [e.as_dict() if isinstance(e, Issue) else e for e in exc.errors] or [
            {"row": None, "field": None, "message": exc.message}
        ]
    except _Rejected:
        _reject(
            report,
            f"Fichier refusé : {plural(len(report.errors) + report.errors_omitted, 'erreur')}. Rien n'a été importé ; "
            "corrigez les lignes signalées puis réimportez le fichier.",
        )
    except ImportError_ as exc:
        _reject(report, str(exc))
        report.errors = [{"row": None, "field": None, "message": str(exc)}]
    except Exception as exc:
        logger.exception("Échec technique de l'import %s", batch.pk)
        report.rejected = True
        report.created = report.updated = report.unchanged = report.new_entrants = 0
        report.message = f"Échec technique de l'import, rien n'a été écrit : {exc.__class__.__name__}: {exc}"
        batch.status = ImportStatus.FAILED
    _finish(batch, report)


def _finish(batch, report):
    """Enregistre le statut final du lot et son rapport."""
    if report.rejected and batch.status != ImportStatus.FAILED:
        batch.status = ImportStatus.REJECTED
    if report.rejected:
        batch.error_message = report.message
    batch.finished_at = timezone.now()
    batch.rows_total = report.rows
    batch.created, batch.updated, batch.unchanged = report.created, report.updated, report.unchanged
    batch.new_entrants = report.new_entrants
    batch.detected_format = report.format
    batch.report = {
        **report.as_json(),
        "columns": report.columns,
        "errors_omitted": report.errors_omitted,
        "warnings_omitted": report.warnings_omitted,
        "received_on": batch.received_on.isoformat(),
        "reference_date": batch.reference_date.isoformat() if batch.reference_date else None,
    }
    batch.progress_done = batch.progress_total = report.rows
    stored = batch.stored_path
    if batch.status == ImportStatus.REJECTED and stored:
        batch.stored_path = (
            ""  # fichier refusé (définitif) : sa copie, souvent des NIR en clair, est supprimée
        )
    batch.save()
    if stored:
        _progress_file(stored).unlink(missing_ok=True)
        if not batch.stored_path:
            Path(stored).unlink(missing_ok=True)


def _reject(report, message):
    report.rejected = True
    report.message = message
    report.created = report.updated = report.unchanged = report.new_entrants = 0


# --------------------------------------------------------------------------------------------------
# Rapprochement et écriture


class _Importer:
    def __init__(self, batch, departement, report, progress):
        self.batch = batch
        self.departement = departement
        self.report = report
        self.progress = progress
        self.suspension_limit = get_delay("suspension_closes_follow_up_months", departement)
        self.communes_by_insee = {}
        self.communes_by_postal = {}
        for commune in TerritoryCommune.objects.filter(territory__departement=departement):
            self.communes_by_insee[commune.insee_code] = commune.territory_id
            if commune.postal_code:
                self.communes_by_postal.setdefault(commune.postal_code, commune.territory_id)
        self.matcher = PersonMatcher(self.warn)
        self.seen_people = {}  # id(personne) -> ligne : une personne citée deux fois
        # pk -> "created" | "updated" | "unchanged" : statut de chaque personne du chemin ligne à ligne sur tout
        # l'import (une personne citée par deux lignes compte une fois, quel que soit le découpage en paquets).
        self.person_status = {}

    # ---- rapport

    def _issue(self, bucket, issue):
        target = self.report.errors if bucket == "errors" else self.report.warnings
        if len(target) >= MAX_REPORTED_ISSUES:
            if bucket == "errors":
                self.report.errors_omitted += 1
            else:
                self.report.warnings_omitted += 1
            return
        target.append(issue.as_dict() if isinstance(issue, Issue) else issue)

    def error(self, row, fld, message):
        self._issue("errors", Issue(row, fld, message))

    def warn(self, row, fld, message):
        self._issue("warnings", Issue(row, fld, message))

    def _publish_progress(self, total):
        now = time.monotonic()
        if now - getattr(self, "_progress_at", 0.0) >= PROGRESS_INTERVAL:
            self._progress_at = now
            store_progress(self.batch, self.report.rows, total)
        if self.progress:
            self.progress(self.report.rows, total)

    # ---- boucle principale

    def run(self, parsed):
        self.parsed = parsed
        self.report.format = parsed.format
        self.report.columns = parsed.meta.get("columns", {}) if parsed.meta else {}
        batch = self.batch
        if parsed.format == "cnaf-xml" and not batch.received_on_given and parsed.flux_created_on:
            # Sans date de réception indiquée, la date de création du flux est la meilleure estimation.
            batch.received_on = parsed.flux_created_on
        batch.reference_date = parsed.reference_date or batch.received_on
        batch.flux_created_on = parsed.flux_created_on
        batch.detected_format = parsed.format
        self._check_order(parsed)
        total = parsed.meta.get("rows_total") if parsed.meta else None
        self.initial_stock = batch.initial_stock
        self.rights = RightsRecorder(
            batch=batch,
            initial_stock=self.initial_stock,
            suspension_limit=self.suspension_limit,
            report=self.report,
            warn=self.warn,
            reference_date=self._reference_date,
            event=self._event,
        )
        # Lecture en flux : chaque ligne est vérifiée et normalisée, les lignes valides versées dans la table de
        # transit (``staging.py``) ; la base fait ensuite le rapprochement et les écritures par ensembles.
        staging = Staging(
            batch=batch,
            departement=self.departement,
            report=self.report,
            initial_stock=self.initial_stock,
            suspension_limit=self.suspension_limit,
            event=self._event,
            communes_by_insee=self.communes_by_insee,
            communes_by_postal=self.communes_by_postal,
        )
        staging.create()
        for row in parsed.rows:
            self.report.rows += 1
            for issue in row.warnings:
                self._issue("warnings", issue)
            if row.errors:
                for issue in row.errors:
                    self._issue("errors", issue)
                continue
            if self.report.errors:
                continue  # le fichier sera refusé : on continue seulement de valider pour tout signaler
            staging.add(row, self._reference_date(row))
            if self.report.rows % ROW_CHUNK_SIZE == 0:
                self._publish_progress(total)
        if self.report.rows == 0:
            raise FileRejected("Fichier vide : aucune ligne de bénéficiaire à importer.")
        if self.report.errors:
            staging.drop()
            return
        staging.match(contacts=parsed.format == CONTACTS)
        staging.prepare()
        self.staging = staging
        for start in range(0, staging.count, CHUNK_SIZE):
            self._process_chunk(range(start, min(start + CHUNK_SIZE, staging.count)))
            self._publish_progress(total)
        if parsed.format != CONTACTS:
            staging.compositions()  # composition des foyers : toutes les lignes, des deux chemins
        staging.drop()
        for status in self.person_status.values():
            setattr(self.report, status, getattr(self.report, status) + 1)

    def _check_order(self, parsed):
        """Refuse un flux plus ancien que le dernier appliqué pour le Département : l'appliquer ramènerait
        des états périmés et des événements à contretemps. Même date : accepté (réimport idempotent).
        Exceptions : le fichier de contacts (aucun droit) et le chargement de stock, qui ne fait que
        compléter l'historique (l'état courant de chaque personne reste celui de son flux le plus récent)
        et ne sert pas de référence à l'ordre."""
        batch = self.batch
        if parsed.format == CONTACTS or batch.initial_stock:
            return
        last = last_applied_batch(self.departement, exclude=batch.pk)
        if last is None or batch.reference_date >= last.reference_date:
            return
        applied = timezone.localtime(last.finished_at) if last.finished_at else None
        raise FileRejected(
            f"Flux plus ancien que le dernier import appliqué pour ce Département : sa date de référence est le "
            f"{batch.reference_date:%d/%m/%Y}, celle du dernier import appliqué (« {last.filename} »"
            + (f", importé le {applied:%d/%m/%Y}" if applied else "")
            + f") est le {last.reference_date:%d/%m/%Y}. Rien n'a été écrit : les flux s'appliquent dans "
            "l'ordre chronologique. Pour compléter l'historique avec un flux ancien, importez-le comme "
            "chargement de stock (parcours import-flux --stock) : l'état courant des personnes ne change pas."
        )

    def _reference_date(self, row):
        return row.reference_date or self.parsed.reference_date or self.batch.received_on

    # ---- un paquet de lignes

    def _process_chunk(self, chunk):
        """Un paquet de lignes (rangs ``chunk`` dans la table de transit) : les lignes à rapprocher ligne à ligne,
        relues par petits paquets, puis les lignes simples en SQL (les deux ensembles ne touchent pas les mêmes
        personnes ni les mêmes foyers ; dans cet ordre, une ligne se rapproche de la base telle qu'elle était
        avant les écritures de son paquet, comme auparavant)."""
        for rows in self.staging.other_rows(chunk.start, chunk.stop, ROW_CHUNK_SIZE):
            self._process_rows(rows)
        now = timezone.now()
        closings = self.staging.apply(chunk.start, chunk.stop, lambda events: self._write_events(events, now))
        self._write_events(
            [
                (person, kind, on, journal.validate(kind, payload))
                for person, kind, on, payload in pathway.close_in_bulk(closings)
            ],
            now,
        )

    def _process_rows(self, rows):
        """Chemin ligne à ligne : rapprochement (``matching.py``), droits et historique (``rights.py``)."""
        dep = self.departement
        nirs = {r.nir for r in rows if r.nir}
        dep_ids = {r.departement_internal_id for r in rows if r.departement_internal_id}
        matricules = {r.matricule for r in rows if r.matricule}

        households = {}
        if matricules:
            for hh in Household.objects.filter(departement=dep, matricule__in=matricules).select_related(
                "right"
            ):
                households[(hh.organism, hh.matricule)] = hh
        # Candidats en deux temps : d'abord les identifiants forts (NIR, identifiant Département, foyer),
        # puis courriel/téléphone pour les seules lignes qu'ils ne rapprochent pas. Un même téléphone ou
        # courriel peut être partagé par beaucoup de personnes : les charger pour toutes les lignes ferait
        # croître chaque paquet avec la taille de la base.
        people_q = Q(pk__in=[])
        if nirs:
            people_q |= Q(nir__in=nirs)
        if dep_ids:
            people_q |= Q(departement_internal_id__in=dep_ids)
        if households:
            people_q |= Q(household__in=[hh.pk for hh in households.values()])
        candidates = list(Beneficiary.objects.filter(people_q, departement=dep))
        index = PeopleIndex(candidates)
        weak_rows = [
            r
            for r in rows
            if r.first_name and (r.email or r.phone) and not strongly_known(r, index, households)
        ]
        # Une ligne avec NIR ne peut être rapprochée que d'une personne encore sans NIR (jamais deux NIR
        # différents) : pour elle, seules les personnes sans NIR sont candidates.
        weak_q = Q(pk__in=[])
        for with_nir in (True, False):
            group = [r for r in weak_rows if bool(r.nir) == with_nir]
            emails = {r.email.lower() for r in group if r.email}
            phones = {r.phone for r in group if r.phone}
            if not (emails or phones):
                continue
            part = Q(pk__in=[])
            if emails:
                part |= Q(email__in=emails)
            if phones:
                part |= Q(phone__in=phones)
            weak_q |= (part & Q(nir__isnull=True)) if with_nir else part
        known = {p.pk for p in candidates}
        for person in Beneficiary.objects.filter(weak_q, departement=dep):
            if person.pk not in known:
                known.add(person.pk)
                candidates.append(person)
                index.add(person)
        open_follow_ups = {}
        snapshots_at = {}
        ref_dates = {self._reference_date(r) for r in rows}

        def load_state(ids):
            """Suivis en cours et historique utile (à la date du flux, au dernier flux) des personnes ``ids``."""
            if not ids:
                return
            for fu in FollowUp.objects.filter(beneficiary_id__in=ids, ended_on__isnull=True):
                open_follow_ups.setdefault(fu.beneficiary_id, []).append(fu)
            latest_q = RightSnapshot.objects.filter(beneficiary_id__in=ids).filter(
                Q(reference_date__in=ref_dates) | Q(reference_date=F("beneficiary__last_flux_on"))
            )
            for snap in latest_q:
                snapshots_at[(snap.beneficiary_id, snap.reference_date)] = snap

        load_state([p.pk for p in candidates])
        weak_loaded = {id(r) for r in weak_rows}

        def load_weak(row):
            """Ligne jugée rapprochée par un identifiant fort en début de paquet, qui arrive pourtant au courriel ou
            au téléphone (une ligne précédente du paquet a changé l'identifiant ou le foyer de la personne) : ses
            candidats sont lus en base à ce moment, comme l'aurait fait un paquet commençant à cette ligne. Les
            personnes déjà dans l'index y restent telles que le paquet les a modifiées."""
            if id(row) in weak_loaded:
                return
            weak_loaded.add(id(row))
            part = Q(pk__in=[])
            if row.email:
                part |= Q(email=row.email.lower())
            if row.phone:
                part |= Q(phone=row.phone)
            if row.nir:
                part &= Q(nir__isnull=True)
            found = [p for p in Beneficiary.objects.filter(part, departement=dep) if p.pk not in known]
            for person in found:
                known.add(person.pk)
                candidates.append(person)
                index.add(person)
            load_state([p.pk for p in found])

        index.load_weak = load_weak

        new_households, new_people, changed_people = [], [], {}
        rights_to_create, rights_to_update = {}, {}
        pending_snapshots = {}
        follow_ups_to_close = []
        events = []
        row_status = {}  # id(personne) -> (personne, "created" | "updated" | "unchanged")

        for row in rows:
            household = None
            if row.matricule:
                organism = row.organism or "CAF"
                key = (organism, row.matricule)
                household = households.get(key)
                if household is None and not row.contact_only:
                    household = Household(departement=dep, organism=organism, matricule=row.matricule)
                    households[key] = household
                    new_households.append(household)

            person, how = self.matcher.match(row, index, household)
            if person is None and how == "ambiguous":
                continue
            if row.contact_only:
                if person is None:
                    self.warn(
                        row.row,
                        "MATRICULE",
                        "Personne inconnue de Parcours (ni le NIR ni le matricule et le rôle ne correspondent) : "
                        "coordonnées non importées.",
                    )
                    continue
                changed = self._apply_fields(person, row, CONTACT_FIELDS)
                if changed and person.pk:
                    changed_people[id(person)] = person
                    events.append(
                        self._event(
                            person,
                            EventKind.CONTACT_UPDATED,
                            self.batch.received_on,
                            {Payload.FIELDS: changed},
                        )
                    )
                self._count(row_status, person, "updated" if changed else "unchanged")
                continue

            created = person is None
            if created:
                person = Beneficiary(departement=dep, household=household, role=row.role or "")
                new_people.append(person)
                if row.nir:
                    person.nir = row.nir
                self._apply_fields(person, row, IDENTITY_FIELDS)
                # Indexée une fois ses identifiants posés : les lignes suivantes du paquet la trouvent par NIR,
                # identifiant Département, courriel ou téléphone, comme si elle était déjà en base.
                index.add(person)
                self._assign_territory(person)
                events.append(self._event(person, EventKind.PERSON_CREATED, self.batch.received_on, {}))
            else:
                changed = self._apply_fields(person, row, IDENTITY_FIELDS)
                if row.nir and not person.nir:
                    person.nir = row.nir
                    changed.append("nir")
                if household is not None and (household.pk is None or person.household_id != household.pk):
                    person.household = household
                    changed.append("household")
                if row.role and person.role != row.role:
                    person.role = row.role
                    changed.append("role")
                if changed:
                    # Identifiants changés : l'index suit (sinon le résultat dépendrait du découpage en paquets).
                    index.reindex(person)
                if {"postal_code", "insee_code"} & set(changed):
                    self._assign_territory(person)
                if changed:
                    changed_people[id(person)] = person
            status = "created" if created else ("updated" if id(person) in changed_people else "unchanged")

            if row.has_right and household is not None:
                self.rights.collect_right(household, row, rights_to_create, rights_to_update)
            if row.has_right:
                outcome = self.rights.apply_right(
                    person, row, snapshots_at, pending_snapshots, open_follow_ups, follow_ups_to_close, events
                )
                if outcome and not created:
                    changed_people[id(person)] = person  # au minimum la date du dernier flux change
                    if outcome == "changed":
                        status = "updated"
            self._count(row_status, person, status)

        # Écritures groupées
        # Les clés étrangères vers les objets créés juste avant sont reprises par bulk_create.
        create_objects(new_households)
        create_objects(new_people)
        now = timezone.now()
        for person in changed_people.values():
            person.updated_at = now
        if changed_people:
            bulk_update_changed(
                changed_people.values(),
                [
                    *IDENTITY_FIELDS,
                    "nir",
                    "household",
                    "role",
                    "territory",
                    "rsa_state",
                    "is_sdd",
                    "new_entrant_t0",
                    "last_flux_on",
                    "suspended_since",
                ],
                always=["updated_at"],
                # Un flux qui ne change rien d'autre que sa date ne fait pas « changer » la personne
                # (synchronisation des partenaires par updated_after).
                quiet=["last_flux_on"],
            )
        for hh, right in rights_to_create.values():
            right.household = hh
        create_objects(right for _, right in rights_to_create.values())
        if rights_to_update:
            for right in rights_to_update.values():
                right.updated_at = now
            bulk_update_changed(
                rights_to_update.values(),
                [
                    "rsa_number",
                    "requested_on",
                    "opened_on",
                    "state",
                    "state_since",
                    "suspension_reason",
                    "closure_reason",
                    "closed_on",
                    "last_reference_date",
                ],
                # Synchronisation des partenaires (droits) par updated_after, comme pour les personnes.
                always=["updated_at"],
                quiet=["last_reference_date"],
            )
        new_snaps, updated_snaps = [], []
        for pending in pending_snapshots.values():
            (new_snaps if pending.is_new else updated_snaps).append(pending.snapshot)
        self._write_snapshots(new_snaps, now)
        if updated_snaps:
            bulk_update_changed(updated_snaps, [*RightSnapshot.COMPARED_FIELDS, "batch", "received_on"])
        events.extend(
            (person, kind, on, journal.validate(kind, payload))
            for person, kind, on, payload in pathway.close_in_bulk(follow_ups_to_close)
        )
        self._write_events(events, now)

        for person, status in row_status.values():  # les personnes ont toutes une clé maintenant
            self._merge_status(self.person_status, person.pk, status)

    def _count(self, row_status, person, status):
        previous = row_status.get(id(person), (person, None))[1]
        if previous == "created" or (previous == "updated" and status == "unchanged"):
            return
        row_status[id(person)] = (person, status)

    @staticmethod
    def _merge_status(statuses, key, status):
        previous = statuses.get(key)
        if previous == "created" or (previous == "updated" and status == "unchanged"):
            return
        statuses[key] = status

    # ---- rapprochement

    # ---- champs

    def _apply_fields(self, person, row, fields):
        changed = []
        for name in fields:
            value = getattr(row, name, None)
            if value in (None, ""):
                continue
            if name == "email":
                value = value.lower()
            if getattr(person, name) != value:
                setattr(person, name, value)
                changed.append(name)
        return changed

    def _assign_territory(self, person):
        territory_id = None
        if person.insee_code:
            territory_id = self.communes_by_insee.get(person.insee_code)
        if territory_id is None and person.postal_code:
            territory_id = self.communes_by_postal.get(person.postal_code)
        if territory_id is not None:
            person.territory_id = territory_id

    # ---- droit du foyer

    def _event(self, person, kind, occurred_on, payload):
        # Un simple tuple, la charge vérifiée par le journal tout de suite : la personne n'a peut-être pas encore
        # d'identifiant (créée dans ce paquet).
        return (person, kind, occurred_on, journal.validate(kind, payload))

    def _write_events(self, events, now):
        batch = self.batch
        journal.record_many(
            ((person.pk, kind, occurred_on, payload) for person, kind, occurred_on, payload in events),
            recorded_at=now,
            actor=batch.created_by_id,
            organisation=batch.organisation_id,
            batch=batch.pk,
        )

    @staticmethod
    def _write_snapshots(snapshots, now):
        insert_rows(
            RightSnapshot,
            SNAPSHOT_COLUMNS,
            (
                (
                    snap.beneficiary.pk,
                    snap.batch_id,
                    snap.reference_date,
                    snap.received_on,
                    *(getattr(snap, name) for name in RightSnapshot.COMPARED_FIELDS),
                    now,
                )
                for snap in snapshots
            ),
        )


SNAPSHOT_COLUMNS = (
    "beneficiary",
    "batch",
    "reference_date",
    "received_on",
    *RightSnapshot.COMPARED_FIELDS,
    "created_at",
)

__all__ = [
    "FluxRow",
    "ImportReport",
    "PAYABLE_STATES",
    "create_batch",
    "get_progress",
    "import_flux",
    "run_batch",
    "run_batch_in_background",
]
