from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import Membership, Organisation, Territory, TerritoryCommune, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]


class AgentCreationForm(AdminUserCreationForm):
    """Création d'un agent : son adresse électronique est son identifiant de connexion (le nom d'utilisateur
    technique la recopie). Mot de passe facultatif : un agent qui se connecte par ProConnect n'en a pas."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if (
            User.objects.filter(email__iexact=email).exists()
            or User.objects.filter(username__iexact=email).exists()
        ):
            raise forms.ValidationError("Un agent a déjà cette adresse électronique.")
        return email

    def save(self, commit=True):
        user = super().save(commit=False)
        user.username = user.email
        if commit:
            user.save()
            self.save_m2m()
        return user


class AgentChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def save(self, commit=True):
        user = super().save(commit=False)
        user.username = user.email  # l'identifiant suit l'adresse électronique
        if commit:
            user.save()
            self.save_m2m()
        return user


@admin.register(User)
class ParcoursUserAdmin(UserAdmin):
    add_form = AgentCreationForm
    form = AgentChangeForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("first_name", "last_name")}),
        ("Droits", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
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
