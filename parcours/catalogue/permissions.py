"""Permissions du catalogue, déclarées ici et vérifiées par les vues et l'API.

- consulter le catalogue : tout agent qui a une appartenance active ;
- prescrire : rôles administrateur, chargé d'orientation, référent (voir ``prescriptions``), et la
  personne doit être dans le périmètre de l'agent (``Beneficiary.objects.visible_to``) ;
- données internes du Département (financement, places, code interne) : agents d'un Département, les
  administrateurs du Département les modifient ;
- score de qualité data·inclusion : administrateurs du Département et éditeurs du service seulement ;
- espace structure : les agents de l'organisation rattachée à une structure modifient ses services saisis
  dans Parcours et répondent aux prescriptions reçues ; les administrateurs d'un Département gèrent les
  structures qu'il publie.
"""

from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.queries import active_memberships
from parcours.core.access import Level, access

from .models import Origin, Structure


def departement_memberships(user, roles=None):
    return [
        m
        for m in active_memberships(user)
        if m.organisation.kind == OrganisationKind.DEPARTEMENT and (roles is None or m.role in roles)
    ]


def can_view_local_data(user):
    return user.is_authenticated and (user.is_superuser or bool(departement_memberships(user)))


def local_data_departements(user):
    """Départements dont l'agent peut modifier les données internes (rôle administrateur)."""
    return [m.organisation for m in departement_memberships(user, roles={Role.ADMIN})]


def editable_structures(user):
    """Structures saisies dans Parcours que l'agent peut modifier (et auxquelles ajouter des services)."""
    qs = Structure.objects.filter(origin=Origin.LOCAL)
    if user.is_superuser:
        return qs
    orgs = [m.organisation_id for m in active_memberships(user)]
    admin_deps = [m.organisation_id for m in departement_memberships(user, roles={Role.ADMIN})]
    return qs.filter(organisation_id__in=orgs) | qs.filter(departement_id__in=admin_deps)


def space_structures(user):
    """Structures de l'espace structure de l'agent (rattachées à ses organisations), importées ou non."""
    if not user.is_authenticated:
        return Structure.objects.none()
    orgs = [m.organisation_id for m in active_memberships(user)]
    return Structure.objects.filter(organisation_id__in=orgs)


def departement_codes(user):
    """Codes des Départements dont relèvent les organisations de l'agent (communes ambiguës de la recherche)."""
    codes = set()
    for membership in active_memberships(user):
        home = membership.organisation.home_departement
        if home is not None and home.departement_code:
            codes.add(home.departement_code)
    return codes


def can_see_quality(user, service=None):
    """Score de qualité data·inclusion : une mesure interne de complétude de la fiche, utile à qui la publie
    ou l'administre (administrateurs du Département, éditeurs du service), pas aux agents qui cherchent une
    solution pour une personne."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or local_data_departements(user):
        return True
    return service is not None and can_edit_service(user, service)


def can_edit_service(user, service):
    return (
        service.origin == Origin.LOCAL and editable_structures(user).filter(pk=service.structure_id).exists()
    )


def catalogue_required(
    view=None, *, requires=None, description="Catalogue : agents rattachés à une organisation"
):
    """Connexion obligatoire et appartenance active à une organisation (niveau d'accès « agent ») ; ``requires`` :
    capacité exigée en plus (``parcours.accounts.roles``), vérifiée avant la vue (403)."""
    decorator = access(Level.AGENT, requires=requires, description=description)
    return decorator if view is None else decorator(view)
