from django import forms

from parcours.accounts.models import Organisation, OrganisationKind, Territory

from .models import Committee, CommitteeMember, DecisionStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CommitteeForm(forms.ModelForm):
    class Meta:
        model = Committee
        fields = ["departement", "kind", "name", "territory", "purpose"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, departements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].queryset = Organisation.objects.filter(
            pk__in=departements, kind=OrganisationKind.DEPARTEMENT
        ).order_by("name")
        if len(departements) == 1:
            self.fields["departement"].initial = departements[0]
        self.fields["territory"].queryset = Territory.objects.filter(
            departement_id__in=departements
        ).order_by("name")

    def clean(self):
        data = super().clean()
        departement, territory = data.get("departement"), data.get("territory")
        if departement and territory and territory.departement_id != departement.pk:
            self.add_error("territory", "Ce territoire n'appartient pas au Département choisi.")
        name = data.get("name")
        if (
            departement
            and name
            and Committee.objects.filter(departement=departement, name__iexact=name).exists()
        ):
            self.add_error("name", "Un comité de ce Département porte déjà cet intitulé.")
        return data


class MemberForm(forms.ModelForm):
    class Meta:
        model = CommitteeMember
        fields = ["name", "quality", "organisation", "position", "email"]


class MeetingForm(forms.Form):
    held_on = forms.DateField(label="Date", widget=DATE)
    starts_at = forms.TimeField(label="Heure", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    place = forms.CharField(label="Lieu", max_length=300, required=False)
    agenda = forms.CharField(
        label="Ordre du jour",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Un point par ligne ; « point — présenté par » pour indiquer qui le présente.",
    )

    def agenda_items(self):
        items = []
        for line in self.cleaned_data["agenda"].splitlines():
            title, _, presenter = line.partition("—")
            if title.strip():
                items.append((title.strip(), presenter.strip()))
        return items


class AgendaItemForm(forms.Form):
    title = forms.CharField(label="Point", max_length=300)
    presenter = forms.CharField(label="Présenté par", max_length=200, required=False)


class DecisionForm(forms.Form):
    text = forms.CharField(label="Décision", widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.CharField(label="Pilote", max_length=200, required=False)
    due_on = forms.DateField(label="Échéance", required=False, widget=DATE)


class DecisionStatusForm(forms.Form):
    status = forms.ChoiceField(label="Suivi", choices=DecisionStatus.choices)


class MinutesForm(forms.Form):
    minutes = forms.CharField(
        label="Relevé des échanges", required=False, widget=forms.Textarea(attrs={"rows": 8})
    )


class FreezeForm(forms.Form):
    start = forms.DateField(label="Début de la période", widget=DATE)
    end = forms.DateField(label="Fin de la période", widget=DATE)
