from django.contrib import admin

from .models import ConnectorRun, ExternalRecord


@admin.register(ConnectorRun)
class ConnectorRunAdmin(admin.ModelAdmin):
    list_display = ["connector", "departement", "status", "started_at", "finished_at", "filename"]
    list_filter = ["connector", "status"]
    readonly_fields = [f.name for f in ConnectorRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ExternalRecord)
class ExternalRecordAdmin(admin.ModelAdmin):
    list_display = ["system", "kind", "external_id", "departement", "updated_at"]
    list_filter = ["system", "kind"]
    search_fields = ["external_id"]
    raw_id_fields = ["beneficiary", "decision", "appointment"]
    readonly_fields = ["fingerprint", "created_at", "updated_at"]
