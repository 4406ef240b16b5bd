from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, Organisation, Territory, TerritoryCommune, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]


@admin.register(User)
class ParcoursUserAdmin(UserAdmin):
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    inlines = [MembershipInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "departement_code", "siret", "code", "territory"]
    list_filter = ["kind"]
    search_fields = ["name", "siret", "code", "departement_code"]


class TerritoryCommuneInline(admin.TabularInline):
    model = TerritoryCommune
    extra = 0


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "departement"]
    inlines = [TerritoryCommuneInline]
