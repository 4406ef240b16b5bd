"""Pages du délégué à la protection des données : consultation et export du journal d'accès."""

import datetime

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from parcours.core.access import Level, access
from parcours.core.csv_export import streaming_csv_response
from parcours.core.pagination import AFTER, BEFORE, capped_count, keyset_page, query_without_cursor

from .models import AccessAction
from .services import export_rows, record, visible_entries

PAGE_SIZE = 100
# Le journal s'allonge à chaque lecture de dossier et d'une entrée par personne à chaque export : des millions
# d'entrées. La page se lit par curseur, dans l'ordre de l'index (Département, date, identifiant) que la
# période choisie borne, et son total est plafonné (« plus de 1 000 »).
ORDERING = ["-at", "-pk"]


def _parse_date(text):
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filtered(request):
    """Entrées visibles filtrées par personne, agent et période ; renvoie (entrées, filtres, erreurs)."""
    entries = visible_entries(request.user)
    filters = {
        "personne": request.GET.get("personne", "").strip(),
        "agent": request.GET.get("agent", "").strip(),
        "du": request.GET.get("du", "").strip(),
        "au": request.GET.get("au", "").strip(),
    }
    errors = []
    if filters["personne"]:
        if filters["personne"].isdigit():
            entries = entries.filter(beneficiary_id=int(filters["personne"]))
        else:
            errors.append("Personne : indiquez le numéro du dossier (chiffres uniquement).")
    if filters["agent"]:
        entries = entries.filter(user_label__icontains=filters["agent"])
    for key, lookup, shift in (("du", "at__gte", 0), ("au", "at__lt", 1)):
        if filters[key]:
            day = _parse_date(filters[key])
            if day is None:
                errors.append(f"Date « {filters[key]} » invalide : format attendu AAAA-MM-JJ.")
            else:
                # Bornes en heure locale sur la date et l'heure elles-mêmes (l'index Département, date sert) :
                # « au 7 » s'arrête avant le 8 à minuit.
                entries = entries.filter(**{lookup: _local_midnight(day + datetime.timedelta(days=shift))})
    return entries, filters, errors


def _local_midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@access(Level.DPO, description="Journal d'accès aux dossiers, pour le délégué à la protection des données")
@require_GET
def log_list(request):
    entries, filters, errors = _filtered(request)
    page = keyset_page(
        entries, ORDERING, after=request.GET.get(AFTER), before=request.GET.get(BEFORE), per_page=PAGE_SIZE
    )
    page.count = capped_count(entries)
    return render(
        request,
        "audit/list.html",
        {
            "title": "Journal d'accès",
            "page_obj": page,
            "filters": filters,
            "errors": errors,
            "query_string": query_without_cursor(request.GET),
        },
    )


@access(Level.DPO, description="Export CSV du journal d'accès")
@require_GET
def log_export(request):
    entries, _filters, _errors = _filtered(request)
    record(user=request.user, action=AccessAction.EXPORT, request=request, reason="Export du journal d'accès")
    return streaming_csv_response(export_rows(entries), f"journal-acces-{timezone.localdate():%Y-%m-%d}.csv")
