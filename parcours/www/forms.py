"""Formulaires des pages agents (filtres de la liste des bénéficiaires, dépôt d'un flux)."""

from contextlib import contextmanager
from itertools import chain

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from parcours.accounts.models import Organisation, Territory
from parcours.beneficiaries.models import Organism, RightState
from parcours.intake.models import ColumnMapping, FluxFormat

SDD_CHOICES = [("", "Tous"), ("oui", "Soumis"), ("non", "Non soumis")]


class DsfrFormMixin:
    """Ajoute les classes DSFR aux widgets (fr-input, fr-select, fr-upload)."""

    def apply_dsfr_classes(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                css = "fr-select"
            elif isinstance(widget, forms.FileInput):
                css = "fr-upload"
            else:
                css = "fr-input"
            widget.attrs.setdefault("class", css)


class BeneficiaryFilterForm(DsfrFormMixin, forms.Form):
    """Critères de la liste : dans l'URL (GET) pour qu'une recherche puisse être partagée."""

    q = forms.CharField(
        label="Rechercher",
        required=False,
        max_length=100,
        help_text="Nom, prénom, NIR (13 ou 15 chiffres), matricule CAF/MSA, identifiant Département "
        "ou France Travail",
    )
    territoire = forms.ModelChoiceField(
        label="Territoire", queryset=Territory.objects.none(), required=False, empty_label="Tous"
    )
    etat = forms.ChoiceField(
        label="État du droit", choices=[("", "Tous"), *RightState.choices], required=False
    )
    sdd = forms.ChoiceField(label="Droits et devoirs", choices=SDD_CHOICES, required=False)
    entrant_depuis = forms.DateField(
        label="Nouvel entrant depuis le",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    organisme = forms.ChoiceField(
        label="Organisme", choices=[("", "Tous"), *Organism.choices], required=False
    )

    def __init__(self, *args, departement_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        territories = Territory.objects.order_by("name")
        if departement_ids is not None:  # None : tous les territoires (super-utilisateur)
            territories = territories.filter(departement_id__in=list(departement_ids))
        self.fields["territoire"].queryset = territories
        self.apply_dsfr_classes()

    def criteria(self):
        """Les critères valides, sous la forme attendue par ``filter_beneficiaries``."""
        if not self.is_bound:
            return dict.fromkeys(("text", "state", "organism"), "") | dict.fromkeys(
                ("territory", "sdd", "new_entrant_since")
            )
        self.is_valid()  # les champs valides s'appliquent même si un autre est erroné
        data = self.cleaned_data
        sdd = {"oui": True, "non": False}.get(data.get("sdd") or "")
        return {
            "text": data.get("q") or "",
            "territory": data.get("territoire"),
            "state": data.get("etat") or "",
            "sdd": sdd,
            "new_entrant_since": data.get("entrant_depuis"),
            "organism": data.get("organisme") or "",
        }

    @property
    def is_filtered(self):
        criteria = self.criteria()
        return any(value not in (None, "") for value in criteria.values())


class ImportUploadForm(DsfrFormMixin, forms.Form):
    """Dépôt d'un fichier de flux par un agent habilité d'un Département."""

    fichier = forms.FileField(
        label="Fichier de flux",
        help_text="CSV canonique, tableur (XLSX ou CSV) ou flux XML CNAF/MSA.",
    )
    format = forms.ChoiceField(label="Format", choices=FluxFormat.choices, initial=FluxFormat.AUTO)
    correspondance = forms.ChoiceField(
        label="Correspondance de colonnes enregistrée", required=False, choices=[]
    )
    recu_le = forms.DateField(
        label="Reçu par le Département le",
        help_text="Date de réception du fichier : c'est le T0 des nouveaux entrants qu'il révèle.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    organisation = forms.ModelChoiceField(label="Organisation", queryset=None, empty_label=None)

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recu_le"].initial = timezone.localdate
        organisations = list(organisations)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=[o.pk for o in organisations]
        )
        self.single_organisation = organisations[0] if len(organisations) == 1 else None
        if self.single_organisation is not None:
            self.fields["organisation"].initial = self.single_organisation.pk
            self.fields["organisation"].required = False
            self.fields["organisation"].widget = forms.HiddenInput()
        mappings = ColumnMapping.objects.filter(organisation__in=organisations).select_related("organisation")
        self.mappings = {(m.organisation_id, m.name): m for m in mappings}
        several = len(organisations) > 1
        self.fields["correspondance"].choices = [("", "Aucune (reconnaissance automatique des colonnes)")] + [
            (m.name, f"{m.name} ({m.organisation})" if several else m.name) for m in mappings
        ]
        if not mappings:
            self.fields["correspondance"].widget = forms.HiddenInput()
        self.apply_dsfr_classes()

    def clean_fichier(self):
        uploaded = self.cleaned_data["fichier"]
        limit = settings.PARCOURS_IMPORT_MAX_UPLOAD_BYTES
        if uploaded.size > limit:
            raise forms.ValidationError(
                f"Le fichier est trop volumineux ({filesizeformat(uploaded.size)}) : la taille maximale "
                f"autorisée est de {filesizeformat(limit)}. Découpez-le ou importez-le en ligne de "
                "commande (parcours import-flux)."
            )
        if uploaded.size == 0:
            raise forms.ValidationError("Le fichier est vide.")
        return uploaded

    def clean(self):
        cleaned = super().clean()
        if self.single_organisation is not None and not cleaned.get("organisation"):
            cleaned["organisation"] = self.single_organisation
        organisation = cleaned.get("organisation")
        name = cleaned.get("correspondance")
        if organisation is not None and name and (organisation.pk, name) not in self.mappings:
            self.add_error(
                "correspondance", f"La correspondance « {name} » n'existe pas pour {organisation}."
            )
        return cleaned


class DepartementUploadForm(DsfrFormMixin, forms.Form):
    """Dépôt d'un fichier de reprise par un administrateur, pour l'un de ses Départements (le choix est masqué
    s'il n'en a qu'un) : taille bornée par ``PARCOURS_IMPORT_MAX_UPLOAD_BYTES``, fichier vide refusé. Les pages
    de reprise (organisations, événements du parcours) en dérivent en nommant leur fichier."""

    fichier = forms.FileField()
    departement = forms.ModelChoiceField(label="Département", queryset=None, empty_label=None)

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        departements = list(departements)
        self.fields["departement"].queryset = Organisation.objects.filter(pk__in=[d.pk for d in departements])
        self.single = departements[0] if len(departements) == 1 else None
        if self.single is not None:
            self.fields["departement"].required = False
            self.fields["departement"].widget = forms.HiddenInput()
            self.fields["departement"].initial = self.single.pk
        self.apply_dsfr_classes()

    def clean_fichier(self):
        uploaded = self.cleaned_data["fichier"]
        limit = settings.PARCOURS_IMPORT_MAX_UPLOAD_BYTES
        if uploaded.size > limit:
            raise forms.ValidationError(
                f"Le fichier est trop volumineux ({filesizeformat(uploaded.size)}) : {filesizeformat(limit)} au plus."
            )
        if uploaded.size == 0:
            raise forms.ValidationError("Le fichier est vide.")
        return uploaded

    def clean(self):
        cleaned = super().clean()
        if self.single is not None:
            cleaned["departement"] = self.single
        return cleaned


@contextmanager
def uploads_removed(request):
    """Ferme, donc supprime, les fichiers temporaires d'un envoi dès la fin de son traitement, quelle qu'en
    soit l'issue (import réussi, formulaire refusé, exception) : un fichier déposé (souvent des NIR en
    clair) ne reste pas dans le dossier temporaire. Le fichier conservé d'un import de flux est géré par
    ``parcours.intake.services`` (supprimé si le lot est refusé)."""
    try:
        yield
    finally:
        files = getattr(request, "_files", None)
        if files is not None:
            for upload in chain.from_iterable(values for _, values in files.lists()):
                upload.close()
