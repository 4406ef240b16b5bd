from django.contrib import admin

from .models import (
    CatalogueImport,
    Commune,
    Prescription,
    PrescriptionLog,
    Service,
    ServiceLocalData,
    Structure,
)


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ["code", "nom", "departement", "epci", "latitude", "longitude"]
    search_fields = ["code", "nom"]
    list_filter = ["departement"]


@admin.register(Structure)
class StructureAdmin(admin.ModelAdmin):
    list_display = ["nom", "source", "di_id", "origin", "is_active", "organisation", "commune"]
    list_filter = ["origin", "is_active", "source"]
    search_fields = ["nom", "di_id", "siret"]
    raw_id_fields = ["organisation", "departement", "last_import"]
    readonly_fields = ["validation_errors", "validation_warnings", "content_hash", "created_at", "updated_at"]


class LocalDataInline(admin.StackedInline):
    model = ServiceLocalData
    extra = 0
    raw_id_fields = ["departement", "updated_by"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["nom", "structure", "source", "origin", "is_active", "is_published", "quality_score"]
    list_filter = ["origin", "is_active", "is_published", "type", "frais", "source"]
    search_fields = ["nom", "di_id", "structure__nom"]
    raw_id_fields = ["structure", "last_import", "created_by", "updated_by"]
    readonly_fields = [
        "validation_errors",
        "validation_warnings",
        "quality_score",
        "quality_details",
        "content_hash",
        "created_at",
        "updated_at",
    ]
    inlines = [LocalDataInline]


@admin.register(CatalogueImport)
class CatalogueImportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "format", "filenames", "sources", "status", "created_by"]
    readonly_fields = ["filenames", "format", "sources", "status", "created_by", "created_at", "report"]


class PrescriptionLogInline(admin.TabularInline):
    model = PrescriptionLog
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_status", "to_status", "at", "actor", "actor_label", "comment"]


@admin.register(Prescription)
class PrescriptionAdmin(admin.ModelAdmin):
    list_display = ["pk", "beneficiary", "service", "structure", "status", "created_at", "expires_on"]
    list_filter = ["status", "refusal_reason"]
    raw_id_fields = [
        "beneficiary",
        "service",
        "structure",
        "prescriber",
        "prescriber_organisation",
        "answered_by",
    ]
    readonly_fields = ["link_nonce", "created_at", "updated_at"]
    inlines = [PrescriptionLogInline]
