"""Connecteur data·inclusion : synchronise le catalogue depuis l'API (structures puis services).

L'API data·inclusion sert des pages ``{"items": [...], "total", "page", "size", "pages"}`` (paramètres
``page`` et ``size``), avec un jeton en ``Authorization: Bearer``. Le connecteur lit toutes les pages des
structures puis des services, les écrit telles quelles dans un dossier temporaire et les passe à l'import
du catalogue (``parcours.catalogue.importers.import_catalogue``) : même validation au schéma, même rapport
(page, rang, identifiant, champ), même idempotence (clé : source + identifiant ; ce qui n'a pas bougé reste
inchangé ; ce qui a disparu de la source est désactivé, et seulement si toutes les pages ont été lues).

Un élément invalide est signalé et écarté, le reste est importé (règle de l'import du catalogue). Une
erreur d'accès (jeton refusé, service en panne après les nouvelles tentatives) arrête tout avant
l'écriture : rien n'est importé d'une lecture incomplète.
"""

import json
import math
import tempfile
from pathlib import Path

from django.utils import timezone

from parcours.catalogue.importers import ImportRejected, import_catalogue

from . import conf
from .http import ApiClient, ConnectorError
from .models import Connector, ConnectorRun

RESOURCES = (("structures", "structures"), ("services", "services"))


class DataInclusionClient(ApiClient):
    label = "data·inclusion"
    credentials_hint = "le jeton d'accès à l'API data·inclusion (PARCOURS_DI_API_TOKEN)"

    def __init__(self, **overrides):
        settings = conf.get("datainclusion")
        settings.update(overrides)
        super().__init__(settings["base_url"], token=settings["token"])
        self.prefix = "/" + settings["path_prefix"].strip("/") if settings["path_prefix"].strip("/") else ""
        self.page_size = int(settings["page_size"])
        self.params = dict(settings["params"] or {})
        self.max_pages = int(settings["max_pages"])

    def pages(self, resource):
        """Les pages d'une ressource (``structures`` ou ``services``), dans l'ordre, jusqu'à la dernière."""
        page, pages = 1, None
        while pages is None or page <= pages:
            document = self.get_json(
                f"{self.prefix}/{resource}", params={**self.params, "page": page, "size": self.page_size}
            )
            if not isinstance(document, dict) or not isinstance(document.get("items"), list):
                raise ConnectorError(
                    f"data·inclusion : réponse inattendue pour {resource} page {page} "
                    "(attendu : {items, total, page, size, pages})."
                )
            pages = _pages_of(document, self.page_size)
            if pages > self.max_pages:
                raise ConnectorError(
                    f"data·inclusion : {pages} pages annoncées pour {resource}, au-delà de la limite de "
                    f"{self.max_pages} : augmentez la taille des pages ou filtrez."
                )
            yield page, pages, document
            if not document["items"]:
                break
            page += 1


def _pages_of(document, size):
    pages = document.get("pages")
    if isinstance(pages, int) and pages >= 0:
        return pages
    total = document.get("total")
    if isinstance(total, int):
        return math.ceil(total / (document.get("size") or size))
    raise ConnectorError("data·inclusion : pagination illisible (ni « pages » ni « total »).")


def sync(*, client=None, deactivate=True, user=None, today=None):
    """Synchronise le catalogue ; renvoie le rapport de l'import du catalogue enrichi de ``pages`` et
    ``run_id``. Lève ``ConnectorError`` si l'API ne répond pas comme attendu (rien n'est écrit)."""
    client = client or DataInclusionClient()
    run = ConnectorRun.objects.create(
        connector=Connector.DATAINCLUSION, created_by=user if user and user.is_authenticated else None
    )
    fetched = {}
    try:
        with tempfile.TemporaryDirectory(prefix="parcours-di-") as folder:
            files = []
            for resource, stem in RESOURCES:
                count = 0
                for page, pages, document in client.pages(resource):
                    path = Path(folder) / f"{stem}-page-{page:04d}.json"
                    # Page telle que reçue : l'import en lit « page » et « pages » pour savoir si l'export
                    # est complet avant de désactiver ce qui a disparu.
                    document = {**document, "page": page, "pages": pages}
                    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
                    files.append(path)
                    count += 1
                fetched[resource] = count
            if not any(json.loads(p.read_text(encoding="utf-8"))["items"] for p in files):
                report = _empty_report()
            else:
                report = import_catalogue(files, fmt="json", deactivate=deactivate, user=user, today=today)
    except (ConnectorError, ImportRejected) as exc:
        run.status = ConnectorRun.Status.FAILED
        run.finished_at = timezone.now()
        run.report = {"error": exc.message, "pages": fetched}
        run.save(update_fields=["status", "finished_at", "report"])
        if isinstance(exc, ImportRejected):
            raise ConnectorError(f"data·inclusion : {exc.message}") from exc
        raise
    report["pages"] = fetched
    rejected = report["structures"]["rejected"] + report["services"]["rejected"]
    run.status = ConnectorRun.Status.PARTIAL if rejected else ConnectorRun.Status.DONE
    run.finished_at = timezone.now()
    run.report = report
    run.save(update_fields=["status", "finished_at", "report"])
    report["run_id"] = run.pk
    return report


def _empty_report():
    counters = {"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "rejected": 0}
    return {
        "format": "json",
        "files": [],
        "structures": dict(counters),
        "services": dict(counters),
        "errors": [],
        "warnings": [],
    }
