"""Fonctions métier du catalogue : saisie des structures et services propres, validation, publication.

Les services saisis dans Parcours (origine ``local``) portent la source du Département
(``PARCOURS_CATALOGUE["source"]``) et sont publiés au schéma data·inclusion v1 par l'API. Chaque
enregistrement est validé avec les modèles du paquet ``data-inclusion-schema`` : erreurs et
avertissements sont conservés sur l'objet et montrés aux éditeurs, avec le score de qualité.
"""

import math

from data_inclusion.schema import v1
from django.utils import timezone

from . import conf
from .models import Origin, Service, Structure, new_di_id
from .schema import check, dump, quality_score


def own_source():
    return conf.get("source")


def validate(obj):
    """Erreurs et avertissements du schéma v1 pour une structure ou un service (listes de dicts)."""
    model = v1.Service if isinstance(obj, Service) else v1.Structure
    errors, warnings = check(model, obj.to_schema())
    return [e.as_dict() for e in errors], [w.as_dict() for w in warnings]


def refresh_validation(obj):
    """Recalcule conformité, erreurs, avertissements (et score de qualité d'un service) sans enregistrer."""
    errors, warnings = validate(obj)
    obj.schema_valid = not errors
    obj.validation_errors = errors
    obj.validation_warnings = warnings
    if isinstance(obj, Service):
        if errors:
            obj.quality_score, obj.quality_details = None, {}
        else:
            obj.quality_score, obj.quality_details = quality_score(v1.Service.model_validate(obj.to_schema()))


def save_local_structure(structure, user=None):
    """Enregistre une structure saisie dans Parcours (source du Département, date de mise à jour du jour)."""
    if structure.pk is None:
        structure.origin = Origin.LOCAL
        structure.source = own_source()
        structure.di_id = structure.di_id or new_di_id(structure.source)
    if structure.origin != Origin.LOCAL:
        raise ValueError("Une structure importée se modifie chez son producteur, pas dans Parcours.")
    structure.date_maj = timezone.localdate()
    refresh_validation(structure)
    structure.save()
    return structure


def save_local_service(service, user=None):
    """Enregistre un service saisi dans Parcours ; l'éditeur voit ensuite erreurs, avertissements, score."""
    if service.pk is None:
        service.origin = Origin.LOCAL
        service.source = own_source()
        service.di_id = service.di_id or new_di_id(service.source)
        service.created_by = user if user and user.is_authenticated else None
    if service.origin != Origin.LOCAL:
        raise ValueError("Un service importé se modifie chez son producteur, pas dans Parcours.")
    service.updated_by = user if user and user.is_authenticated else None
    service.date_maj = timezone.localdate()
    for name in Service.SCHEMA_LIST_FIELDS:
        value = getattr(service, name)
        setattr(service, name, sorted(set(value)) if value else None)
    refresh_validation(service)
    service.save()
    return service


# --------------------------------------------------------------------------------------------------
# Publication au schéma v1


def published_services():
    return Service.objects.published().select_related("structure").order_by("pk")


def published_structures():
    return Structure.objects.filter(origin=Origin.LOCAL, is_active=True, schema_valid=True).order_by("pk")


def service_payload(service):
    """Dict JSON d'un service au schéma v1, passé par le modèle pydantic (sortie garantie conforme)."""
    return dump(v1.Service.model_validate(service.to_schema()))


def structure_payload(structure):
    return dump(v1.Structure.model_validate(structure.to_schema()))


def paginate(queryset, page, size, serializer):
    """Page au format de l'API data·inclusion : ``{items, total, page, size, pages}``."""
    size = max(1, min(int(size), conf.get("api_max_page_size")))
    total = queryset.count()
    pages = max(1, math.ceil(total / size))
    page = max(1, int(page))
    # Au-delà de la dernière page : liste vide, sans demander à la base un décalage démesuré.
    items = [serializer(obj) for obj in queryset[(page - 1) * size : page * size]] if page <= pages else []
    return {"items": items, "total": total, "page": page, "size": size, "pages": pages}
