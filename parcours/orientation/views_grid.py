"""Pages de la grille d'orientation d'un Département : liste, ajout, modification, ordre, activation, aperçu.

Réservées aux administrateurs du Département (capacité ``DEPARTEMENT_ADMIN``) ; un administrateur n'ouvre que
la grille des Départements qu'il administre (``administered_departements`` ; 403 sinon). Les règles et leur
vérification sont dans ``grid.py`` ; ces vues lisent le formulaire et appellent une fonction.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from parcours.accounts.roles import DEPARTEMENT_ADMIN, administered_departements
from parcours.core.access import Level, access
from parcours.core.text import lower_first

from . import grid
from .models import Pathway, ProposalRule
from .proposal import CRITERIA, DEFAULT_PROPOSAL_RULES, Labels, reason_rank

TRI_STATE = [("", "Indifférent"), ("oui", "Oui"), ("non", "Non")]
TRI_VALUES = {"oui": True, "non": False}
BOOLEAN_FIELDS = ("available_now", "has_project", "france_travail_registered")
INTEGER_FIELDS = ("barriers_min", "weekly_hours_min", "age_min", "age_max")


class RuleForm(forms.Form):
    """Une règle de la grille : ce qui est proposé, puis les conditions (toutes doivent être vraies)."""

    label = forms.CharField(
        label="Libellé de la règle",
        max_length=200,
        help_text="Affiché avec chaque proposition, ex. « Freins sociaux multiples ».",
    )
    pathway = forms.ChoiceField(label="Parcours proposé", choices=Pathway.choices)
    organisation_kind = forms.ChoiceField(
        label="Organisme proposé",
        choices=grid.ORGANISATION_KINDS,
        help_text="L'organisme de ce type du territoire de la personne est préféré.",
    )
    is_active = forms.BooleanField(label="Règle active", required=False, initial=True)
    barriers_min = forms.IntegerField(
        label=CRITERIA["barriers_min"].label,
        required=False,
        help_text="Thèmes de freins où au moins une situation est un frein (diagnostic partagé).",
    )
    barriers_any = forms.MultipleChoiceField(
        label=CRITERIA["barriers_any"].label, required=False, widget=forms.CheckboxSelectMultiple
    )
    situations_any = forms.MultipleChoiceField(
        label=CRITERIA["situations_any"].label,
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "fr-select", "size": 10}),
        help_text="Ctrl ou Cmd + clic pour en choisir plusieurs.",
    )
    available_now = forms.ChoiceField(
        label=CRITERIA["available_now"].label, choices=TRI_STATE, required=False
    )
    weekly_hours_min = forms.IntegerField(label=CRITERIA["weekly_hours_min"].label, required=False)
    has_project = forms.ChoiceField(label=CRITERIA["has_project"].label, choices=TRI_STATE, required=False)
    rome_any = forms.CharField(
        label=CRITERIA["rome_any"].label,
        required=False,
        help_text="Séparés par des virgules, ex. K21, N1105 (le métier du diagnostic commence par l'un d'eux).",
    )
    age_min = forms.IntegerField(label=CRITERIA["age_min"].label, required=False)
    age_max = forms.IntegerField(label=CRITERIA["age_max"].label, required=False)
    rqth = forms.BooleanField(
        label="RQTH reconnue",
        required=False,
        help_text="Situation « RQTH » retenue au diagnostic (à ajouter au référentiel du Département).",
    )
    france_travail_registered = forms.ChoiceField(
        label=CRITERIA["france_travail_registered"].label, choices=TRI_STATE, required=False
    )

    def __init__(self, *args, rule=None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_of(rule.label, rule.criteria, rule.pathway, rule.organisation_kind)
            kwargs["initial"]["is_active"] = rule.is_active
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():  # classes du DSFR
            widget = bound.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "fr-select")
            elif isinstance(widget, forms.TextInput | forms.NumberInput):
                widget.attrs.setdefault("class", "fr-input")
        self.fields["barriers_any"].choices = grid.barrier_themes()
        self.fields["situations_any"].choices = grid.situation_choices()

    def criteria(self):
        data = self.cleaned_data
        criteria = {key: data.get(key) for key in INTEGER_FIELDS}
        criteria.update({key: TRI_VALUES.get(data.get(key) or "") for key in BOOLEAN_FIELDS})
        criteria["rqth"] = True if data.get("rqth") else None
        criteria["barriers_any"] = data.get("barriers_any") or []
        criteria["situations_any"] = data.get("situations_any") or []
        criteria["rome_any"] = [
            c for c in (data.get("rome_any") or "").replace(";", ",").split(",") if c.strip()
        ]
        return criteria


def initial_of(label, criteria, pathway, organisation_kind):
    initial = {"label": label, "pathway": pathway, "organisation_kind": organisation_kind or "departement"}
    for key, value in criteria.items():
        if key in BOOLEAN_FIELDS:
            initial[key] = "oui" if value else "non"
        elif key == "rome_any":
            initial[key] = ", ".join(value)
        else:
            initial[key] = value
    return initial


def describe(criteria, labels):
    """Les conditions d'une règle en français : [« au moins 3 thèmes de freins », …] ; vide : « tout le monde »."""
    parts = []
    for key, value in sorted(criteria.items(), key=lambda item: reason_rank(item[0])):
        if key == "barriers_min":
            parts.append(f"au moins {value} thème{'s' if value > 1 else ''} de freins")
        elif key == "barriers_any":
            parts.append("un frein parmi : " + ", ".join(labels.theme(v) for v in value))
        elif key == "situations_any":
            parts.append("une situation parmi : " + ", ".join(labels.situation(v) for v in value))
        elif key == "age_min":
            parts.append(f"{value} ans ou plus")
        elif key == "age_max":
            parts.append(f"{value} ans ou moins")
        elif key == "weekly_hours_min":
            parts.append(f"disponible au moins {value} h par semaine")
        elif key == "rome_any":
            parts.append("métier recherché : " + ", ".join(value))
        elif key in CRITERIA:
            parts.append(f"{lower_first(CRITERIA[key].label)} : {'oui' if value else 'non'}")
        else:
            parts.append(f"condition inconnue « {key} » (jamais vraie)")
    return parts or ["tout le monde (règle par défaut)"]


def _departement(request, departement_pk):
    for departement in administered_departements(request.user):
        if departement.pk == departement_pk:
            return departement
    raise PermissionDenied(
        "Vous n'administrez pas ce Département : sa grille d'orientation ne vous est pas ouverte."
    )


def _rule(request, pk):
    rule = get_object_or_404(ProposalRule.objects.select_related("departement"), pk=pk)
    _departement(request, rule.departement_id)
    return rule


def _grid_url(departement_pk):
    return reverse("orientation:grid_of", args=[departement_pk])


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Grille d'orientation du Département")
@require_http_methods(["GET"])
def grid_view(request, departement_pk=None):
    """La grille d'orientation du Département : règles dans l'ordre, conditions, parcours et organisme."""
    if departement_pk is None:
        departements = administered_departements(request.user)
        if len(departements) == 1:
            return redirect(_grid_url(departements[0].pk))
        return render(
            request,
            "orientation/grid/choose.html",
            {"title": "Grille d'orientation", "departements": departements},
        )
    departement = _departement(request, departement_pk)
    labels = Labels()
    rules = list(grid.rules_of(departement).select_related("updated_by"))
    kinds = dict(grid.ORGANISATION_KINDS)
    rows = [
        (rule, describe(rule.criteria, labels), kinds.get(rule.organisation_kind, "Département"))
        for rule in rules
    ]
    defaults = [(rule, describe(rule["criteria"], labels)) for rule in DEFAULT_PROPOSAL_RULES]
    active = [rule for rule in rules if rule.is_active]
    context = {
        "title": f"Grille d'orientation — {departement.name}",
        "departement": departement,
        "rows": rows,
        "defaults": defaults,
        "uses_defaults": not active,
        "has_catch_all": any(not rule.criteria for rule in active) if active else True,
    }
    return render(request, "orientation/grid/list.html", context)


def _save(request, departement, rule=None):
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved, warnings = grid.save_rule(
                departement,
                author=request.user,
                rule=rule,
                label=form.cleaned_data["label"],
                criteria=form.criteria(),
                pathway=form.cleaned_data["pathway"],
                organisation_kind=form.cleaned_data["organisation_kind"],
                is_active=form.cleaned_data["is_active"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
        else:
            messages.success(request, f"Règle « {saved.label} » enregistrée.")
            for warning in warnings:
                messages.warning(request, warning)
            return redirect(_grid_url(departement.pk))
    context = {
        "title": f"Modifier la règle « {rule.label} »" if rule else "Ajouter une règle à la grille",
        "departement": departement,
        "form": form,
        "rule": rule,
    }
    return render(request, "orientation/grid/form.html", context)


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Ajouter une règle à la grille d'orientation")
@require_http_methods(["GET", "POST"])
def rule_create(request, departement_pk):
    return _save(request, _departement(request, departement_pk))


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Modifier une règle de la grille d'orientation")
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk):
    rule = _rule(request, pk)
    return _save(request, rule.departement, rule)


RULE_ACTIONS = ("monter", "descendre", "activer", "desactiver", "supprimer")


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Ordre et activation des règles de la grille")
@require_POST
def rule_action(request, pk, action):
    rule = _rule(request, pk)
    if action not in RULE_ACTIONS:
        raise PermissionDenied("Action inconnue.")
    if action in ("monter", "descendre"):
        grid.move_rule(rule, -1 if action == "monter" else 1, author=request.user)
        messages.success(request, f"Règle « {rule.label} » déplacée.")
    elif action in ("activer", "desactiver"):
        grid.set_active(rule, action == "activer", author=request.user)
        state = "activée" if rule.is_active else "désactivée"
        messages.success(request, f"Règle « {rule.label} » {state}.")
    else:
        grid.delete_rule(rule)
        messages.success(request, f"Règle « {rule.label} » supprimée.")
    return redirect(_grid_url(rule.departement_id))


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Reprendre la grille d'orientation par défaut")
@require_POST
def adopt_defaults(request, departement_pk):
    departement = _departement(request, departement_pk)
    try:
        grid.adopt_defaults(departement, author=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, "La grille par défaut est copiée : modifiez, ordonnez ou désactivez ses règles."
        )
    return redirect(_grid_url(departement.pk))


@access(Level.AGENT, requires=DEPARTEMENT_ADMIN, description="Aperçu de la grille d'orientation")
@require_http_methods(["GET"])
def preview(request, departement_pk):
    """Combien de personnes d'un échantillon du Département chaque règle active retiendrait (aucun nom)."""
    departement = _departement(request, departement_pk)
    result = grid.preview(departement)
    context = {
        "title": f"Aperçu de la grille d'orientation — {departement.name}",
        "departement": departement,
        "preview": result,
    }
    return render(request, "orientation/grid/preview.html", context)
