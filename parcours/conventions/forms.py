"""Formulaires des pages conventions : ils ne font que lire la saisie, les règles sont dans services.py."""

from pathlib import Path

from django import forms

from .models import ExpenseNature, PaymentKind

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png", ".xlsx", ".xls", ".ods", ".docx", ".odt", ".csv"}


class DsfrFormMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "fr-select")
            elif isinstance(widget, forms.ClearableFileInput | forms.FileInput):
                widget.attrs.setdefault("class", "fr-upload")
            else:
                widget.attrs.setdefault("class", "fr-input")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class FrenchDecimalField(forms.DecimalField):
    """Nombre décimal saisi à la française : virgule décimale, espaces entre les milliers acceptées
    (« 2 812,50 », y compris espaces insécables copiées depuis un tableur)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = "".join(value.split())  # split() retire aussi les espaces insécables
        return super().to_python(value)


def money_field(label, required=True, help_text=""):
    return FrenchDecimalField(
        label=label,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=required,
        localize=True,
        help_text=help_text,
    )


class ExpenseForm(DsfrFormMixin, forms.Form):
    action_sheet = forms.ModelChoiceField(
        label="Fiche action", queryset=None, required=False, empty_label="— Aucune (dépense du volet) —"
    )
    volet = forms.ModelChoiceField(
        label="Volet",
        queryset=None,
        required=False,
        help_text="Déduit de la fiche action si elle est choisie.",
    )
    nature = forms.ChoiceField(label="Catégorie de dépense", choices=ExpenseNature.choices)
    label = forms.CharField(label="Nature de la dépense", max_length=300)
    unit = forms.CharField(label="Unité (si pertinent)", max_length=100, required=False)
    quantity = FrenchDecimalField(
        label="Nombre d'unités", max_digits=12, decimal_places=2, min_value=0, required=False, localize=True
    )
    unit_cost = money_field("Coût unitaire (€)", required=False)
    amount = money_field(
        "Montant (€)",
        required=False,
        help_text="Calculé à partir du nombre d'unités et du coût unitaire s'il est vide.",
    )
    period_start = forms.DateField(label="Date ou début de période", widget=DateInput)
    period_end = forms.DateField(label="Fin de période", widget=DateInput, required=False)
    purpose = forms.CharField(label="Objet de la dépense", max_length=400)
    supporting_document = forms.FileField(label="Pièce justificative", required=False)

    def __init__(self, *args, convention, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_sheet"].queryset = convention.action_sheets.order_by("number")
        self.fields["action_sheet"].label_from_instance = lambda s: f"Fiche action {s.number} — {s.title}"
        self.fields["volet"].queryset = convention.volets.order_by("number")

    def clean_supporting_document(self):
        document = self.cleaned_data.get("supporting_document")
        if not document:
            return document
        if document.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError("Le justificatif dépasse 10 Mo.")
        if Path(document.name).suffix.lower() not in DOCUMENT_EXTENSIONS:
            raise forms.ValidationError(
                "Format de justificatif non accepté (PDF, image, tableur ou document bureautique)."
            )
        return document

    def clean(self):
        data = super().clean()
        if not data.get("action_sheet") and not data.get("volet"):
            self.add_error("volet", "Indiquez le volet ou la fiche action de la dépense.")
        return data


class PaymentForm(DsfrFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Type de versement", choices=PaymentKind.choices)
    received_on = forms.DateField(label="Reçu le", widget=DateInput)
    amount = money_field("Montant (€)")
    reference = forms.CharField(label="Référence", max_length=200, required=False)
    note = forms.CharField(label="Commentaire", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReportSubmittedForm(DsfrFormMixin, forms.Form):
    submitted_on = forms.DateField(label="Transmis le", widget=DateInput)


class Volet1IndicatorsForm(DsfrFormMixin, forms.Form):
    project_management_fte = forms.DecimalField(
        label="Nombre d'ETP dédiés à la chefferie de projet",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        required=False,
        localize=True,
    )
    project_management_position = forms.CharField(
        label="Positionnement (niveau de rattachement hiérarchique)", max_length=300, required=False
    )
    digital_transformation_fte = forms.DecimalField(
        label="Nombre d'ETP dédiés à la transformation numérique",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        required=False,
        localize=True,
    )
    roadmap_formalised = forms.NullBooleanField(
        label="Formalisation de la feuille de route départementale",
        required=False,
        widget=forms.NullBooleanSelect,
    )


class PeriodForm(forms.Form):
    du = forms.DateField(label="Du", widget=DateInput)
    au = forms.DateField(label="Au", widget=DateInput)

    def clean(self):
        data = super().clean()
        if data.get("du") and data.get("au") and data["au"] < data["du"]:
            raise forms.ValidationError("La fin de la période précède son début.")
        return data
