"""Connecteur France Travail « Offres d'emploi v2 » : les offres publiées dans le Département alimentent
les offres des employeurs (issue 19, point 1 ; seed 002, fiche action 3 : mise en relation avec les offres).

API publique de francetravail.io (https://francetravail.io/data/api/offres-emploi), jeton OAuth2
« client credentials », scope ``api_offresdemploiv2 o2dsoffre`` :

- ``GET {base_url}/offres/search?departement=35&range=0-149&minCreationDate=…&maxCreationDate=…`` ;
- corps ``{"resultats": [...], "filtresPossibles": [...]}`` ; réponse ``206 Partial Content`` avec
  ``Content-Range: offres 0-149/1234`` quand il reste des offres, ``200`` pour la dernière tranche,
  ``204`` s'il n'y en a aucune ; 150 offres au plus par appel, index maximal 3149 (au-delà, l'API ne
  répond plus : on le signale et on conseille une période plus courte).

Correspondance d'une offre (``id``, ``intitule``, ``romeCode``, ``lieuTravail``, ``entreprise``,
``typeContrat``, ``typeContratLibelle``, ``dureeTravailLibelle``, ``nombrePostes``) avec une ligne de
l'import CSV (``parcours/employers/imports.py``), vérifiée et appliquée par les mêmes règles :

- référence = identifiant France Travail ; employeur = SIRET de ``entreprise.siret`` (France Travail le
  masque souvent : l'offre est alors comptée « sans SIRET » et laissée de côté, aucun employeur inventé) ;
- contrat : ``CDI`` → CDI, ``CDD`` → CDD, ``MIS`` (mission d'intérim) → intérim, ``SAI`` (saisonnier) →
  CDD ; durée tirée du libellé (« … - 6 Mois », « … - 15 Jour(s) » arrondi au mois supérieur) ; tout
  autre type est refusé avec un avertissement qui nomme l'offre ;
- heures par semaine lues au début de ``dureeTravailLibelle`` (« 35H Horaires normaux », « 17H30 … ») ;
- lieu : code INSEE ``lieuTravail.commune``, nom tiré du libellé (« 35 - RENNES ») ; une offre dont le
  lieu n'est pas dans le Département est laissée de côté.

Tout est lu avant la moindre écriture, puis appliqué en une transaction : une erreur d'accès
(``ConnectorError``) n'écrit rien ; une deuxième exécution avec les mêmes offres ne change rien.
"""

import datetime
import math
import re

from django.db import transaction
from django.utils import timezone

from parcours.employers.imports import OfferImportError, OfferImportReport, apply_rows, check_row
from parcours.employers.models import Employer

from . import conf
from .common import connector_user
from .francetravail import _CONTENT_RANGE, FranceTravailClient
from .http import ConnectorError
from .models import Connector, ConnectorRun

CONTRACTS = {"CDI": "cdi", "CDD": "cdd", "MIS": "interim", "SAI": "cdd"}
# Champ de l'offre France Travail d'où vient chaque colonne de l'import (pour les messages).
FIELD_NAMES = {
    "reference": "id",
    "siret": "entreprise.siret",
    "raison_sociale": "entreprise.nom",
    "intitule": "intitule",
    "code_rome": "romeCode",
    "code_insee": "lieuTravail.commune",
    "commune": "lieuTravail.libelle",
    "type_contrat": "typeContrat",
    "duree_mois": "typeContratLibelle",
    "heures_hebdo": "dureeTravailLibelle",
    "debut": "dateCreation",
    "postes": "nombrePostes",
}
SKIP_REASONS = {
    "sans_siret": "sans SIRET",
    "hors_departement": "hors du Département",
    "contrat": "type de contrat non repris",
    "employeur_sans_nom": "employeur inconnu sans raison sociale",
    "invalide": "offre invalide",
}
_HOURS = re.compile(r"^\s*(\d{1,2})\s*H\s*(\d{2})?", re.IGNORECASE)
_DURATION = re.compile(r"-\s*(\d+)\s*(Mois|Jour)", re.IGNORECASE)
_PLACE = re.compile(r"^\s*(\w{2,3})\s*-\s*(.*)$")
_SMALL_WORDS = {"de", "du", "des", "la", "le", "les", "sur", "en", "sous", "lès", "et", "d", "l"}


class OffersClient(FranceTravailClient):
    """Client de l'API « Offres d'emploi v2 » : même jeton OAuth2 que le connecteur France Travail."""

    label = "France Travail (offres d'emploi)"
    credentials_hint = (
        "les identifiants OAuth2 (PARCOURS_FT_OFFRES_CLIENT_ID et PARCOURS_FT_OFFRES_CLIENT_SECRET, "
        "à défaut PARCOURS_FT_CLIENT_ID et PARCOURS_FT_CLIENT_SECRET)"
    )

    def __init__(self, **overrides):
        values = conf.get("francetravail_offres")
        values.update(overrides)
        super().__init__(**values)
        self.page_size = min(int(values["page_size"]), 150)
        self.max_index = int(values["max_index"])

    def search(self, departement_code, since=None, until=None):
        """Toutes les offres du Département (créées depuis ``since`` s'il est donné) et les avertissements
        de lecture ; ``ConnectorError`` si une tranche échoue."""
        params = {"departement": departement_code}
        if since:
            until = until or timezone.now()
            params["minCreationDate"] = f"{since.isoformat()}T00:00:00Z"
            params["maxCreationDate"] = until.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        offers, warnings, start = [], [], 0
        while True:
            end = min(start + self.page_size - 1, self.max_index)
            response = self.get("/offres/search", {**params, "range": f"{start}-{end}"})
            if response.status_code == 204:
                return offers, warnings
            body = self.json(response)
            batch = body.get("resultats") if isinstance(body, dict) else None
            if not isinstance(batch, list):
                raise ConnectorError(
                    f"{self.label} : réponse inattendue (attendu : {{resultats: [...]}}) pour la tranche "
                    f"{start}-{end}."
                )
            offers.extend(batch)
            if response.status_code != 206 or not batch:
                return offers, warnings
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match:
                raise ConnectorError(
                    f"{self.label} : en-tête Content-Range illisible (tranche {start}-{end})."
                )
            last, total = int(match.group(2)), match.group(3)
            if total != "*" and last + 1 >= int(total):
                return offers, warnings
            if last >= self.max_index:
                warnings.append(
                    {
                        "id": "",
                        "message": f"L'API ne sert que les {self.max_index + 1} premières offres sur "
                        f"{total} : les suivantes ne sont pas lues. Réduisez la période (--since).",
                    }
                )
                return offers, warnings
            start = last + 1


# --- correspondance offre France Travail → ligne de l'import ---------------------------------------------------


def _text(value):
    return str(value).strip() if value is not None else ""


def commune_name(libelle):
    """« 35 - LA GUERCHE-DE-BRETAGNE » → « La Guerche-de-Bretagne »."""
    match = _PLACE.match(libelle or "")
    name = (match.group(2) if match else libelle or "").strip()
    if not name.isupper():
        return name
    words = re.split(r"([\s'-])", name.lower())
    return "".join(
        w if (i and w in _SMALL_WORDS) or not w.strip(" '-") else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    )


def weekly_hours(libelle):
    """« 35H Horaires normaux » → « 35 » ; « 17H30 » → « 17.5 » ; illisible → vide."""
    match = _HOURS.match(libelle or "")
    if not match:
        return ""
    hours = int(match.group(1)) + int(match.group(2) or 0) / 60
    return f"{hours:g}"


def contract_months(libelle):
    """« Contrat à durée déterminée - 6 Mois » → « 6 » ; « … - 15 Jour(s) » → « 1 » ; sinon vide."""
    match = _DURATION.search(libelle or "")
    if not match:
        return ""
    count = int(match.group(1))
    return str(count if match.group(2).lower() == "mois" else max(1, math.ceil(count / 30)))


def in_departement(place, code):
    """Le lieu de travail est-il dans le Département (code INSEE, à défaut préfixe du libellé) ?"""
    commune = _text(place.get("commune"))
    if commune:
        return commune.startswith(code)
    match = _PLACE.match(_text(place.get("libelle")))
    return bool(match) and match.group(1) == code


def offer_row(offer):
    """La ligne d'import (chaînes, colonnes de l'import CSV) d'une offre France Travail."""
    company = offer.get("entreprise") if isinstance(offer.get("entreprise"), dict) else {}
    place = offer.get("lieuTravail") if isinstance(offer.get("lieuTravail"), dict) else {}
    kind = _text(offer.get("typeContrat")).upper()
    return {
        "reference": _text(offer.get("id")),
        "siret": _text(company.get("siret")),
        "raison_sociale": _text(company.get("nom"))[:200],
        "intitule": _text(offer.get("intitule"))[:200],
        "code_rome": _text(offer.get("romeCode")),
        "code_insee": _text(place.get("commune")),
        "commune": commune_name(_text(place.get("libelle")))[:150],
        "type_contrat": CONTRACTS.get(kind, kind),
        "duree_mois": "" if kind == "CDI" else contract_months(_text(offer.get("typeContratLibelle"))),
        "heures_hebdo": weekly_hours(_text(offer.get("dureeTravailLibelle"))),
        "debut": "",
        "postes": _text(offer.get("nombrePostes")),
    }


# --- synchronisation ---------------------------------------------------------------------------------------------


def default_since(departement):
    """Date de la dernière lecture réussie, moins un jour de recouvrement (ou ``None`` : tout lire)."""
    last = (
        ConnectorRun.objects.filter(
            connector=Connector.FRANCE_TRAVAIL_OFFERS, departement=departement, finished_at__isnull=False
        )
        .exclude(status=ConnectorRun.Status.FAILED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return timezone.localdate(last) - datetime.timedelta(days=1) if last else None


def _select(departement, offers, report):
    """Les lignes à appliquer (et leurs désignations) ; les offres laissées de côté sont comptées par motif."""
    code = departement.departement_code or ""
    known = set(Employer.objects.filter(departement=departement).values_list("siret", flat=True))
    rows, labels, seen = [], [], set()
    skipped, warnings = report["skipped"], report["warnings"]
    for offer in offers:
        if not isinstance(offer, dict) or not _text(offer.get("id")):
            skipped["invalide"] += 1
            warnings.append({"id": "", "message": "Offre sans identifiant : ignorée."})
            continue
        offer_id = _text(offer["id"])
        if offer_id in seen:  # une offre ajoutée pendant la lecture décale les tranches : doublon possible
            continue
        seen.add(offer_id)
        place = offer.get("lieuTravail") if isinstance(offer.get("lieuTravail"), dict) else {}
        if code and not in_departement(place, code):
            skipped["hors_departement"] += 1
            continue
        raw = offer_row(offer)
        if not raw["siret"]:
            skipped["sans_siret"] += 1
            continue
        kind = _text(offer.get("typeContrat")).upper()
        if kind not in CONTRACTS:
            skipped["contrat"] += 1
            label = _text(offer.get("typeContratLibelle")) or "libellé absent"
            warnings.append(
                {
                    "id": offer_id,
                    "message": f"Offre {offer_id} : type de contrat « {kind or '?'} » ({label}) non repris "
                    "(seuls CDI, CDD, MIS et SAI le sont).",
                }
            )
            continue
        row, problems = check_row(raw, where=f"Offre {offer_id}", names=FIELD_NAMES)
        if problems:
            skipped["invalide"] += 1
            warnings.extend({"id": offer_id, "message": message} for message in problems)
            continue
        if row["siret"] not in known and not row["raison_sociale"]:
            skipped["employeur_sans_nom"] += 1
            warnings.append(
                {
                    "id": offer_id,
                    "message": f"Offre {offer_id} : employeur {row['siret']} inconnu dans Parcours et sans "
                    "raison sociale chez France Travail.",
                }
            )
            continue
        known.add(row["siret"])
        rows.append(row)
        labels.append(f"Offre {offer_id}")
    return rows, labels


def sync(departement, *, since=None, full=False, client=None, now=None):
    """Lit les offres France Travail du Département puis les applique par les règles de l'import des offres ;
    renvoie le rapport (créées, mises à jour, inchangées, laissées de côté par motif, avertissements)."""
    client = client or OffersClient()
    if since is None and not full:
        since = default_since(departement)
    run = ConnectorRun.objects.create(connector=Connector.FRANCE_TRAVAIL_OFFERS, departement=departement)
    try:
        offers, read_warnings = client.search(departement.departement_code, since, now)
    except ConnectorError as exc:
        run.status, run.finished_at = ConnectorRun.Status.FAILED, timezone.now()
        run.report = {"error": exc.message}
        run.save(update_fields=["status", "finished_at", "report"])
        raise
    report = {
        "departement": departement.departement_code,
        "since": since.isoformat() if since else None,
        "read": len(offers),
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "employers_created": 0,
        "skipped": dict.fromkeys(SKIP_REASONS, 0),
        "warnings": list(read_warnings),
    }
    author = connector_user(departement, "francetravail-offres", "Connecteur France Travail (offres)")
    try:
        with transaction.atomic():
            rows, labels = _select(departement, offers, report)
            counts = apply_rows(
                departement, rows, author=author, report=OfferImportReport(lines=len(rows)), labels=labels
            )
    except OfferImportError as exc:  # garde-fou : _select écarte déjà ce que l'import refuserait
        run.status, run.finished_at = ConnectorRun.Status.FAILED, timezone.now()
        run.report = {"error": " ".join(exc.errors)}
        run.save(update_fields=["status", "finished_at", "report"])
        raise ConnectorError(
            f"France Travail (offres d'emploi) : offres refusées, rien n'est écrit. {exc}"
        ) from exc
    report.update(
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        employers_created=counts.employers_created,
    )
    run.status = ConnectorRun.Status.PARTIAL if report["warnings"] else ConnectorRun.Status.DONE
    run.finished_at = timezone.now()
    run.report = report
    run.save(update_fields=["status", "finished_at", "report"])
    report["run_id"] = run.pk
    return report
