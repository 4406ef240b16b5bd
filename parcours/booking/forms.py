"""Formulaires des plages d'ouverture et des fermetures (les règles restent dans les modèles et services)."""

from django import forms

from parcours.accounts.models import Membership

from .models import Closure, Mode, OpeningPattern

DATE = forms.DateInput(attrs={"type": "date", "class": "fr-input"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time", "class": "fr-input"}, format="%H:%M")
INPUT = {"class": "fr-input"}
SELECT = {"class": "fr-select"}


class _AgentField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.email


def _agents(organisations):
    from parcours.accounts.models import User

    members = Membership.objects.filter(organisation__in=organisations, is_active=True).values("user_id")
    return User.objects.filter(pk__in=members).order_by("last_name", "first_name")


class OpeningForm(forms.ModelForm):
    class Meta:
        model = OpeningPattern
        fields = [
            "organisation",
            "agent",
            "purpose",
            "mode",
            "place",
            "postal_code",
            "city",
            "phone",
            "weekday",
            "start_time",
            "end_time",
            "slot_minutes",
            "capacity",
            "valid_from",
            "valid_to",
        ]
        widgets = {
            "start_time": TIME,
            "end_time": TIME,
            "valid_from": DATE,
            "valid_to": DATE,
        }
        field_classes = {"agent": _AgentField}

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["agent"].queryset = _agents(organisations)
        self.fields["agent"].empty_label = "— toute l'organisation —"
        self.fields["mode"].initial = Mode.PLACE
        for name, field in self.fields.items():
            if name not in self.Meta.widgets:
                css = SELECT if isinstance(field.widget, forms.Select) else INPUT
                field.widget.attrs.update(css)

    def clean(self):
        data = super().clean()
        agent = data.get("agent")
        organisation = data.get("organisation")
        if agent and organisation and not agent.memberships.filter(organisation=organisation).exists():
            self.add_error("agent", "Cet agent n'appartient pas à l'organisation choisie.")
        return data


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["organisation", "agent", "starts_on", "ends_on", "reason"]
        widgets = {"starts_on": DATE, "ends_on": DATE}
        field_classes = {"agent": _AgentField}

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["agent"].queryset = _agents(organisations)
        self.fields["agent"].empty_label = "— toute l'organisation —"
        for name, field in self.fields.items():
            if name not in self.Meta.widgets:
                css = SELECT if isinstance(field.widget, forms.Select) else INPUT
                field.widget.attrs.update(css)

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "La fin de la fermeture doit suivre son début.")
        return data
