"""Référentiel du diagnostic modifiable par les administrateurs (libellés, ordre, activation, ajouts)."""

from django.contrib import admin

from .models import (
    Action,
    Contract,
    ContractStatusChange,
    DiagnosticVersion,
    Objective,
    PersonAccount,
    SanctionCase,
    SanctionNotice,
    Situation,
    TeamSession,
    TeamSessionGuest,
    Theme,
)


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = (
        "label",
        "code",
        "kind",
        "sensitive",
        "france_travail_code",
        "position",
        "active",
        "source",
    )
    list_filter = ("kind", "active", "source")
    list_editable = ("position", "active")
    search_fields = ("label", "code")


class ThemedItemAdmin(admin.ModelAdmin):
    list_display = ("label", "theme", "code", "position", "active", "source")
    list_filter = ("theme", "active", "source")
    list_editable = ("position", "active")
    search_fields = ("label", "code")
    list_select_related = ("theme",)


admin.site.register(Situation, ThemedItemAdmin)
admin.site.register(Objective, ThemedItemAdmin)
admin.site.register(Action, ThemedItemAdmin)


@admin.register(DiagnosticVersion)
class DiagnosticVersionAdmin(admin.ModelAdmin):
    list_display = ("beneficiary", "number", "conducted_on", "author", "created_at")
    list_select_related = ("beneficiary", "author")
    raw_id_fields = ("beneficiary", "author", "organisation")
    readonly_fields = ("created_at",)

    def has_change_permission(self, request, obj=None):
        return False  # une version ne se modifie pas : on en enregistre une nouvelle


class ContractStatusChangeInline(admin.TabularInline):
    model = ContractStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "occurred_on", "reason", "actor", "recorded_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("beneficiary", "kind", "status", "signed_on", "review_on")
    list_filter = ("kind", "status")
    list_select_related = ("beneficiary",)
    raw_id_fields = ("beneficiary", "referent", "created_by", "diagnostic")
    readonly_fields = ("status", "signed_on", "ended_on", "end_reason")
    inlines = [ContractStatusChangeInline]


# --- étapes 7 à 10 et espace de la personne -------------------------------------------------------------


class TeamSessionGuestInline(admin.TabularInline):
    model = TeamSessionGuest
    extra = 0


@admin.register(TeamSession)
class TeamSessionAdmin(admin.ModelAdmin):
    """Séances de l'équipe pluridisciplinaire : membres convoqués et présents (quorum), convocations. Les pages
    « Séances de l'équipe pluridisciplinaire » (``accompaniment:session_list``) font la même chose pour les agents."""

    list_display = ("held_on", "level", "departement", "territory", "place", "convened_on")
    list_filter = ("level", "departement")
    filter_horizontal = ("members", "present")
    inlines = [TeamSessionGuestInline]


@admin.register(SanctionCase)
class SanctionCaseAdmin(admin.ModelAdmin):
    """Lecture seule : les étapes passent par la page de la procédure (``sanctions.transition_case``)."""

    list_display = ("beneficiary", "ground", "status", "status_since", "decision")
    list_filter = ("status", "ground", "decision")
    list_select_related = ("beneficiary",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(SanctionNotice)
class SanctionNoticeAdmin(admin.ModelAdmin):
    """Lecture seule : les statuts passent par ``sanction_exchange.transition_notice`` (page des transmissions,
    commandes ``sanctions-export`` et ``sanctions-acks``)."""

    list_display = ("reference", "measure", "organism", "month", "status", "transmitted_on", "answered_on")
    list_filter = ("status", "measure", "organism", "month")
    search_fields = ("reference",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(PersonAccount)
class PersonAccountAdmin(admin.ModelAdmin):
    list_display = ("beneficiary", "user", "created_at")
    raw_id_fields = ("beneficiary", "user")
