from django.contrib import admin

from .models import Booking, Closure, OpeningPattern


@admin.register(OpeningPattern)
class OpeningPatternAdmin(admin.ModelAdmin):
    list_display = (
        "organisation",
        "agent",
        "purpose",
        "mode",
        "weekday",
        "start_time",
        "end_time",
        "capacity",
    )
    list_filter = ("purpose", "mode", "is_active")


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("organisation", "agent", "starts_on", "ends_on", "reason")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ("opening", "starts_at", "appointment", "by_person")
    raw_id_fields = ("appointment", "invitation", "moved_from", "opening")
