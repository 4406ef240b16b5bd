"""Formulaires du catalogue : saisie au schéma v1 (validée par le paquet), prescription, réponse."""

import datetime

from data_inclusion.schema import v1
from django import forms

from . import referentiels as ref
from .models import (
    Funder,
    PrescriptionStatus,
    RefusalReason,
    Service,
    ServiceFinancing,
    ServiceLocalData,
    Structure,
)
from .prescriptions import SHAREABLE_FIELDS
from .schema import check

INPUT = {"class": "fr-input"}
SELECT = {"class": "fr-select"}


def _widgetize(form):
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput | forms.RadioSelect):
            continue
        css = "fr-select" if isinstance(widget, forms.Select) else "fr-input"
        widget.attrs.setdefault("class", css)


class SchemaValidatedForm(forms.ModelForm):
    """Formulaire dont ``clean`` passe les données au modèle pydantic du schéma v1."""

    schema_model = None
    list_fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _widgetize(self)
        self.schema_warnings = []

    def schema_payload(self, cleaned):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        errors, warnings = check(self.schema_model, self.schema_payload(cleaned))
        for issue in errors:
            target = issue.field if issue.field in self.fields else None
            self.add_error(target, issue.message)
        self.schema_warnings = warnings
        return cleaned

    @staticmethod
    def _value(value):
        if value in ("", []):
            return None
        return value


def _multiple(choices, label, required=False):
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=required, widget=forms.CheckboxSelectMultiple
    )


class ServiceForm(SchemaValidatedForm):
    schema_model = v1.Service

    thematiques = forms.MultipleChoiceField(
        label="Thématiques",
        choices=ref.thematique_grouped_choices(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    publics = _multiple(ref.PUBLIC_CHOICES, "Publics")
    modes_accueil = _multiple(ref.MODE_ACCUEIL_CHOICES, "Modes d'accueil")
    modes_mobilisation = _multiple(ref.MODE_MOBILISATION_CHOICES, "Modes de mobilisation")
    mobilisable_par = _multiple(ref.PERSONNE_MOBILISATRICE_CHOICES, "Mobilisable par")
    zone_eligibilite = forms.CharField(
        label="Zone d'éligibilité",
        required=False,
        help_text="Codes INSEE séparés par des virgules : commune (35236), département (35), EPCI (9 chiffres), "
        "« france ».",
    )

    class Meta:
        model = Service
        fields = [
            "nom",
            "description",
            "type",
            "thematiques",
            "frais",
            "frais_precisions",
            "publics",
            "publics_precisions",
            "conditions_acces",
            "modes_accueil",
            "adresse",
            "complement_adresse",
            "code_postal",
            "commune",
            "code_insee",
            "latitude",
            "longitude",
            "zone_eligibilite",
            "telephone",
            "courriel",
            "contact_nom_prenom",
            "modes_mobilisation",
            "mobilisable_par",
            "lien_mobilisation",
            "mobilisation_precisions",
            "volume_horaire_hebdomadaire",
            "nombre_semaines",
            "horaires_accueil",
            "lien_source",
            "is_published",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, structure=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.structure = structure or (self.instance.structure if self.instance.structure_id else None)
        if self.instance.pk and self.instance.zone_eligibilite:
            self.initial["zone_eligibilite"] = ", ".join(self.instance.zone_eligibilite)
        for name in ("courriel", "lien_mobilisation", "lien_source"):
            # La validation de format est celle du schéma (messages cohérents avec l'import).
            self.fields[name].validators = []
        self.fields["type"].choices = [("", "—")] + ref.TYPE_CHOICES
        self.fields["frais"].choices = [("", "—")] + ref.FRAIS_CHOICES

    def clean_zone_eligibilite(self):
        raw = self.cleaned_data.get("zone_eligibilite") or ""
        codes = [c.strip() for c in raw.replace(";", ",").split(",") if c.strip()]
        return codes or None

    def schema_payload(self, cleaned):
        payload = {
            "source": self.instance.source or "parcours",
            "id": self.instance.di_id or "nouveau",
            "structure_id": self.structure.di_id if self.structure else "structure",
            "date_maj": datetime.date.today().isoformat(),
        }
        for name in v1.Service.model_fields:
            if name in payload:
                continue
            if name in cleaned:
                payload[name] = self._value(cleaned[name])
        return payload

    def save(self, commit=True):
        service = super().save(commit=False)
        for name in Service.SCHEMA_LIST_FIELDS:
            value = self.cleaned_data.get(name)
            setattr(service, name, list(value) if value else None)
        if self.structure is not None:
            service.structure = self.structure
        return service


class StructureForm(SchemaValidatedForm):
    schema_model = v1.Structure

    reseaux_porteurs = forms.MultipleChoiceField(
        label="Réseaux porteurs", choices=ref.RESEAU_PORTEUR_CHOICES, required=False
    )

    class Meta:
        model = Structure
        fields = [
            "nom",
            "description",
            "siret",
            "adresse",
            "complement_adresse",
            "code_postal",
            "commune",
            "code_insee",
            "latitude",
            "longitude",
            "telephone",
            "courriel",
            "site_web",
            "horaires_accueil",
            "accessibilite_lieu",
            "reseaux_porteurs",
            "organisation",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("courriel", "site_web", "accessibilite_lieu"):
            self.fields[name].validators = []

    def schema_payload(self, cleaned):
        payload = {
            "source": self.instance.source or "parcours",
            "id": self.instance.di_id or "nouvelle",
            "date_maj": datetime.date.today().isoformat(),
        }
        for name in v1.Structure.model_fields:
            if name not in payload and name in cleaned:
                payload[name] = self._value(cleaned[name])
        return payload

    def save(self, commit=True):
        structure = super().save(commit=False)
        value = self.cleaned_data.get("reseaux_porteurs")
        structure.reseaux_porteurs = sorted(value) if value else None
        return structure


class LocalDataForm(forms.ModelForm):
    class Meta:
        model = ServiceLocalData
        fields = [
            "internal_code",
            "funder",
            "funding_amount",
            "funding_reference",
            "capacity",
            "places_available",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _widgetize(self)


class PrescriptionForm(forms.Form):
    """Pré-rempli depuis le dossier : le référent ne transmet que ce qui est nécessaire."""

    message = forms.CharField(
        label="Motif de l'orientation",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "fr-input"}),
        help_text="Ce que la structure doit savoir pour accueillir la personne (sans donnée de santé inutile).",
    )
    consent = forms.BooleanField(
        label="La personne a été informée de cette orientation et accepte que les informations cochées soient "
        "transmises à la structure (RGPD).",
        required=True,
        error_messages={"required": "Le consentement de la personne est obligatoire pour prescrire."},
    )

    def __init__(self, *args, prefill=None, **kwargs):
        super().__init__(*args, **kwargs)
        prefill = prefill or {}
        self.shared_fields = []
        for name, label, required in SHAREABLE_FIELDS:
            self.fields[f"data_{name}"] = forms.CharField(
                label=label,
                required=required,
                initial=prefill.get(name, ""),
                widget=forms.TextInput(attrs={"class": "fr-input"}),
            )
            if not required:
                self.fields[f"share_{name}"] = forms.BooleanField(
                    label=f"Transmettre : {label.lower()}",
                    required=False,
                    initial=name in {"phone", "email"} and bool(prefill.get(name)),
                )
            self.shared_fields.append(
                (self[f"data_{name}"], None if required else self[f"share_{name}"], required)
            )

    def shared_values(self):
        values = {name: self.cleaned_data.get(f"data_{name}", "") for name, _, _ in SHAREABLE_FIELDS}
        selected = {
            name
            for name, _, required in SHAREABLE_FIELDS
            if not required and self.cleaned_data.get(f"share_{name}")
        }
        return values, selected


class AnswerForm(forms.Form):
    ACCEPT, REFUSE = "accept", "refuse"

    decision = forms.ChoiceField(
        label="Votre réponse",
        choices=[(ACCEPT, "J'accepte l'orientation"), (REFUSE, "Je refuse l'orientation")],
        widget=forms.RadioSelect,
    )
    answerer_name = forms.CharField(
        label="Vos nom et prénom", max_length=200, widget=forms.TextInput(attrs={"class": "fr-input"})
    )
    start_on = forms.DateField(
        label="Date de début prévue (si acceptée)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "fr-input"}),
    )
    refusal_reason = forms.ChoiceField(
        label="Motif du refus",
        required=False,
        choices=[("", "—")] + list(RefusalReason.choices),
        widget=forms.Select(attrs={"class": "fr-select"}),
    )
    comment = forms.CharField(
        label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "fr-input"})
    )

    def __init__(self, *args, with_name=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_name:
            del self.fields["answerer_name"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.REFUSE:
            reason = cleaned.get("refusal_reason")
            if not reason:
                self.add_error("refusal_reason", "Le motif du refus est obligatoire.")
            elif reason == RefusalReason.OTHER and not (cleaned.get("comment") or "").strip():
                self.add_error("comment", "Précisez le motif du refus.")
        return cleaned


class PrescriptionFilterForm(forms.Form):
    """Liste des prescriptions : statut et ordre (échéance de la réponse ou date de la prescription)."""

    BY_DEADLINE = "echeance"
    BY_DATE = "date"

    statut = forms.ChoiceField(
        label="Statut",
        required=False,
        choices=[("", "Tous"), *PrescriptionStatus.choices],
        widget=forms.Select(attrs=SELECT),
    )
    tri = forms.ChoiceField(
        label="Trier par",
        required=False,
        choices=[(BY_DEADLINE, "Échéance de la réponse"), (BY_DATE, "Date de la prescription")],
        widget=forms.Select(attrs=SELECT),
    )


class FinancingForm(forms.ModelForm):
    """Une ligne de financement d'un service (cartographie parcours–offre) ; les règles sont dans
    ``offer_map.check_financing``, appelée par ``clean``."""

    funders = forms.MultipleChoiceField(
        label="Financeurs",
        choices=Funder.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choisissez au moins un financeur."},
    )

    class Meta:
        model = ServiceFinancing
        fields = [
            "pathway",
            "territory",
            "year",
            "places_financed",
            "unit_cost",
            "funders",
            "funding_reference",
            "notes",
        ]
        error_messages = {
            "places_financed": {"required": "Indiquez le nombre de places financées."},
            "unit_cost": {
                "required": "Indiquez le coût unitaire en euros.",
                "invalid": "Saisissez un montant.",
            },
            "year": {"required": "Indiquez l'année du financement."},
            "pathway": {"required": "Choisissez un type de parcours."},
        }

    def __init__(self, *args, service, departement, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.service = service
        self.instance.departement = departement
        self.fields["territory"].queryset = departement.territories.order_by("name")
        self.fields["territory"].empty_label = "Tout le Département"
        _widgetize(self)

    def clean(self):
        from django.core.exceptions import ValidationError

        from .offer_map import check_financing

        cleaned = super().clean()
        if self.errors:
            return cleaned
        for name in self.Meta.fields:
            if name in cleaned:
                setattr(self.instance, name, cleaned[name])
        try:
            check_financing(self.instance)
        except ValidationError as error:
            for field, messages_ in error.message_dict.items():
                for message in messages_:
                    self.add_error(None if field == "__all__" else field, message)
        return cleaned


class OfferMapFilterForm(forms.Form):
    pathway = forms.ChoiceField(label="Type de parcours", required=False)
    territory = forms.TypedChoiceField(label="Territoire", required=False, coerce=int, empty_value=None)
    funder = forms.ChoiceField(label="Financeur", required=False)
    year = forms.TypedChoiceField(label="Année", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, territories=(), years=(), **kwargs):
        from parcours.orientation.models import Pathway

        super().__init__(*args, **kwargs)
        self.fields["pathway"].choices = [("", "Tous")] + list(Pathway.choices)
        self.fields["territory"].choices = [("", "Tous")] + [(t.pk, t.name) for t in territories]
        self.fields["funder"].choices = [("", "Tous")] + list(Funder.choices)
        self.fields["year"].choices = [("", "Toutes")] + [(y, str(y)) for y in years]
        _widgetize(self)
