"""Administration : référentiels de l'orientation (critères de proposition, tailles cibles des portefeuilles).

Les invitations, rendez-vous, décisions et désignations se font dans les pages d'orientation, qui écrivent
le journal : l'administration ne les montre qu'en lecture.
"""

from django.contrib import admin

from .models import (
    Appointment,
    AppointmentMessage,
    Invitation,
    OrientationDecision,
    PortfolioCap,
    ProposalRule,
    ReferentAssignment,
)


@admin.register(ProposalRule)
class ProposalRuleAdmin(admin.ModelAdmin):
    list_display = ("departement", "position", "label", "pathway", "organisation_kind", "is_active")
    list_filter = ("departement", "pathway", "is_active")
    ordering = ("departement", "position")


@admin.register(PortfolioCap)
class PortfolioCapAdmin(admin.ModelAdmin):
    list_display = ("organisation", "cap", "policy")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("beneficiary", "channel", "status", "sent_on", "expires_on")
    list_filter = ("channel", "status")
    raw_id_fields = ("beneficiary",)


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ("beneficiary", "kind", "starts_at", "attendance")
    list_filter = ("kind", "attendance")


@admin.register(AppointmentMessage)
class AppointmentMessageAdmin(ReadOnlyAdmin):
    """Messages des rendez-vous et leur statut de distribution (lecture seule)."""

    list_display = ("appointment", "kind", "channel", "status", "scheduled_for", "sent_at")
    list_filter = ("kind", "channel", "status")
    raw_id_fields = ("appointment",)


@admin.register(OrientationDecision)
class OrientationDecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "beneficiary",
        "pathway",
        "organisation",
        "status",
        "decided_on",
        "notified_on",
        "is_current",
    )
    list_filter = ("pathway", "status")


@admin.register(ReferentAssignment)
class ReferentAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("beneficiary", "referent", "organisation", "started_on", "ended_on", "over_cap")
