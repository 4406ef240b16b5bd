from django.contrib import admin

from .models import ImportedEvent, PathwayImport


@admin.register(PathwayImport)
class PathwayImportAdmin(admin.ModelAdmin):
    """Historique des imports d'événements du parcours (lecture seule : un import ne se modifie pas)."""

    list_display = [
        "filename",
        "departement",
        "status",
        "rows",
        "created",
        "unchanged",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "departement"]
    search_fields = ["filename", "sha256"]
    readonly_fields = [f.name for f in PathwayImport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportedEvent)
class ImportedEventAdmin(admin.ModelAdmin):
    """Événements repris d'un autre logiciel : la clé de l'idempotence de ``parcours import-parcours``.

    Supprimer une ligne ici ne défait pas l'événement (orientation, désignation, contrat, fin de suivi) : elle
    permettrait seulement de le réimporter, en double."""

    list_display = [
        "kind",
        "occurred_on",
        "source",
        "reference",
        "outcome",
        "beneficiary",
        "batch",
        "created_at",
    ]
    list_filter = ["kind", "outcome", "source"]
    search_fields = ["reference", "content_hash"]
    raw_id_fields = ["beneficiary", "batch"]
    readonly_fields = [f.name for f in ImportedEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
