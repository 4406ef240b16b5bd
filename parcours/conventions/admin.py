from django.contrib import admin

from .models import (
    ActionPartner,
    ActionSheet,
    Amendment,
    BudgetLine,
    BudgetSection,
    Convention,
    ConventionLog,
    EligibilityRule,
    Expense,
    Payment,
    ReportDeadline,
    Volet,
)


class AmendmentInline(admin.TabularInline):
    model = Amendment
    extra = 0


class VoletInline(admin.TabularInline):
    model = Volet
    extra = 0
    fields = ["number", "title", "max_state_amount", "is_lump_sum", "state_share_rate", "departement_ceiling"]


class EligibilityRuleInline(admin.TabularInline):
    model = EligibilityRule
    extra = 0


class ReportDeadlineInline(admin.TabularInline):
    model = ReportDeadline
    extra = 0


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["kind", "received_on", "amount", "reference"]


@admin.register(Convention)
class ConventionAdmin(admin.ModelAdmin):
    list_display = ["title", "departement", "starts_on", "ends_on", "signed_on"]
    list_filter = ["departement"]
    search_fields = ["title", "code", "reference"]
    inlines = [VoletInline, AmendmentInline, EligibilityRuleInline, ReportDeadlineInline, PaymentInline]


class BudgetSectionInline(admin.TabularInline):
    model = BudgetSection
    extra = 0


@admin.register(Volet)
class VoletAdmin(admin.ModelAdmin):
    list_display = ["__str__", "convention", "max_state_amount", "state_share_rate", "is_lump_sum"]
    list_filter = ["convention"]
    inlines = [BudgetSectionInline]


class ActionPartnerInline(admin.TabularInline):
    model = ActionPartner
    extra = 0
    autocomplete_fields = ["organisation"]


class BudgetLineInline(admin.TabularInline):
    model = BudgetLine
    extra = 0
    fields = ["order", "label", "partner", "nature", "state_amount", "departement_amount"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partner" and request.resolver_match:
            sheet_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = ActionPartner.objects.filter(action_sheet_id=sheet_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ActionSheet)
class ActionSheetAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "convention", "volet", "section"]
    list_filter = ["convention", "volet"]
    search_fields = ["title"]
    inlines = [ActionPartnerInline, BudgetLineInline]


@admin.register(BudgetLine)
class BudgetLineAdmin(admin.ModelAdmin):
    list_display = ["label", "volet", "action_sheet", "state_amount", "departement_amount"]
    list_filter = ["volet__convention", "volet"]


@admin.register(Expense)
class ExpenseAdmin(admin.ModelAdmin):
    list_display = ["label", "convention", "volet", "action_sheet", "amount", "eligible", "period_start"]
    list_filter = ["convention", "eligible", "nature"]
    search_fields = ["label", "purpose"]
    readonly_fields = ["eligible", "ineligibility_reason", "recorded_by", "created_at"]


@admin.register(ConventionLog)
class ConventionLogAdmin(admin.ModelAdmin):
    list_display = ["at", "convention", "action", "actor"]
    list_filter = ["action"]
    readonly_fields = ["convention", "at", "actor", "action", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
