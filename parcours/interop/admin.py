from django.contrib import admin

from .models import ApiToken, Delivery, IdempotencyRecord, PartnerSystem, WebhookSubscription


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]


class SubscriptionInline(admin.TabularInline):
    model = WebhookSubscription
    extra = 0


@admin.register(PartnerSystem)
class PartnerSystemAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "active", "created_at"]
    list_filter = ["active"]
    inlines = [ApiTokenInline, SubscriptionInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "event_id",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "next_try_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id"]
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "partner", "status_code", "created_at"]
    readonly_fields = ["partner", "key", "request_hash", "status_code", "response", "created_at"]
