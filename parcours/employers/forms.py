from django import forms

from parcours.accompaniment.models import EmploymentContract
from parcours.accounts.models import Organisation
from parcours.accounts.siret import normalize_siret, siret_problem

from .models import Employer, ImmersionObjective, ImmersionOutcome, JobOffer
from .services import rome_problem

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EmployerForm(forms.ModelForm):
    # Saisi tel qu'on le copie d'un annuaire (« 130 005 481 00010 ») : normalisé puis contrôlé.
    siret = forms.CharField(label="SIRET", max_length=24)

    class Meta:
        model = Employer
        fields = [
            "departement",
            "siret",
            "name",
            "naf_code",
            "sector",
            "address",
            "commune_code",
            "commune_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "needs",
        ]
        widgets = {"needs": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = Organisation.objects.filter(pk__in=departements).order_by(
            "name"
        )
        self.single = departements[0] if len(departements) == 1 else None
        if self.single is not None:
            self.fields["departement"].initial = self.single
            self.fields["departement"].required = False
            self.fields["departement"].widget = forms.HiddenInput()

    def clean_siret(self):
        siret = normalize_siret(self.cleaned_data["siret"])
        if problem := siret_problem(siret):
            raise forms.ValidationError(problem)
        return siret

    def clean(self):
        data = super().clean()
        if self.single is not None:
            data["departement"] = self.fields["departement"].queryset.get(pk=self.single)
        departement, siret = data.get("departement"), data.get("siret")
        if departement and siret and Employer.objects.filter(departement=departement, siret=siret).exists():
            self.add_error("siret", "Cet employeur est déjà enregistré dans le Département.")
        return data


class OfferForm(forms.ModelForm):
    class Meta:
        model = JobOffer
        fields = [
            "title",
            "rome_code",
            "commune_code",
            "commune_name",
            "contract_type",
            "contract_months",
            "weekly_hours",
            "starts_on",
            "positions",
        ]
        widgets = {"starts_on": DATE}

    def clean_rome_code(self):
        code = self.cleaned_data["rome_code"].strip().upper()
        if problem := rome_problem(code):
            raise forms.ValidationError(problem)
        return code


class ImmersionForm(forms.Form):
    employer = forms.ModelChoiceField(label="Employeur", queryset=Employer.objects.none())
    objective = forms.ChoiceField(label="Objet", choices=ImmersionObjective.choices)
    starts_on = forms.DateField(label="Début", widget=DATE)
    ends_on = forms.DateField(label="Fin", widget=DATE, help_text="Un mois au plus, de date à date.")
    weekly_hours = forms.DecimalField(label="Heures par semaine", max_digits=4, decimal_places=1)
    tutor_name = forms.CharField(label="Tuteur", max_length=200)
    tutor_phone = forms.CharField(label="Téléphone du tuteur", max_length=20, required=False)

    def __init__(self, *args, employers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employer"].queryset = employers


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="Bilan", choices=[c for c in ImmersionOutcome.choices if c[0]])
    on = forms.DateField(label="Date du bilan", widget=DATE)
    notes = forms.CharField(label="Précisions", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class HiringForm(forms.Form):
    employer = forms.ModelChoiceField(label="Employeur", queryset=Employer.objects.none())
    job_title = forms.CharField(label="Poste", max_length=200)
    contract_type = forms.ChoiceField(label="Type de contrat", choices=EmploymentContract.choices)
    contract_months = forms.IntegerField(label="Durée (mois)", required=False, min_value=1)
    weekly_hours = forms.DecimalField(
        label="Heures par semaine", required=False, max_digits=4, decimal_places=1
    )
    starts_on = forms.DateField(label="Prise de poste", widget=DATE)
    close_pathway = forms.BooleanField(
        label="C'est la sortie en emploi de l'accompagnement",
        required=False,
        initial=True,
        help_text="Décochez pour un contrat court pendant l'accompagnement.",
    )

    def __init__(self, *args, employers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employer"].queryset = employers
