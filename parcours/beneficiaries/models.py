"""Bénéficiaires, foyers, droits RSA et historique mensuel de ce qu'a dit chaque flux."""

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import models
from django.db.models import Q

from parcours.accounts.models import OrganisationKind, Role
from parcours.core.bulk import TracksLoadedValues
from parcours.core.delays import get_delay

from .fields import EncryptedNirField
from .household import household_size, is_capped, is_single_parent
from .nir import compute_key, format_nir, mask_nir
from .search import search_names


class Organism(models.TextChoices):
    CAF = "CAF", "CAF"
    MSA = "MSA", "MSA"


class HouseholdRole(models.TextChoices):
    DEM = "DEM", "Demandeur"
    CJT = "CJT", "Conjoint"
    ENF = "ENF", "Enfant"
    AUT = "AUT", "Autre personne"


class Civility(models.TextChoices):
    M = "M", "Monsieur"
    MME = "MME", "Madame"


class RightState(models.TextChoices):
    """États du dossier RSA (code CNAF ETATDOSRSA)."""

    NEW_DEMAND = "0", "Nouvelle demande en attente de décision du Département"
    REFUSED = "1", "Droit refusé"
    OPEN_PAYABLE = "2", "Droit ouvert et versable"
    OPEN_SUSPENDED = "3", "Droit ouvert et suspendu"
    PAYMENT_SUSPENDED = "4", "Droit ouvert, versement suspendu"
    CLOSED = "5", "Droit clos"
    CLOSED_PREVIOUS = "6", "Droit clos sur mois antérieur"


PAYABLE_STATES = {RightState.OPEN_PAYABLE}
SUSPENDED_STATES = {RightState.OPEN_SUSPENDED, RightState.PAYMENT_SUSPENDED}
CLOSED_STATES = {RightState.CLOSED, RightState.CLOSED_PREVIOUS, RightState.REFUSED}

# Coordonnées manquantes (canal d'une invitation impossible) : écrites une fois, pour les index partiels des
# personnes ci-dessous et les campagnes du stock (``orientation.campaigns``).
NO_EMAIL = Q(email="")
NO_PHONE = Q(phone="")
NO_POSTAL_ADDRESS = Q(address="") | Q(postal_code="") | Q(city="")


class Household(models.Model):
    """Foyer allocataire, identifié par l'organisme payeur et son matricule."""

    departement = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name="Département",
        db_index=False,  # couvert par l'index de la contrainte unique_household (departement, organisme, matricule)
    )
    organism = models.CharField("organisme", max_length=3, choices=Organism.choices)
    matricule = models.CharField("matricule", max_length=30)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "foyer"
        constraints = [
            models.UniqueConstraint(fields=["departement", "organism", "matricule"], name="unique_household")
        ]
        # Recherche d'une personne par le matricule de son foyer (tous organismes) : accès direct.
        indexes = [models.Index(fields=["matricule"], name="household_matricule_idx")]

    def __str__(self):
        return f"{self.organism} {self.matricule}"


class RsaRight(TracksLoadedValues):
    """Droit RSA du foyer : état courant (le détail mois par mois est dans RightSnapshot)."""

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="right")
    rsa_number = models.CharField("numéro de demande RSA", max_length=30, blank=True)
    requested_on = models.DateField("date de demande", null=True, blank=True)
    opened_on = models.DateField("date d'ouverture du droit", null=True, blank=True)
    state = models.CharField("état du droit", max_length=1, choices=RightState.choices, blank=True)
    state_since = models.DateField("état depuis", null=True, blank=True)
    suspension_reason = models.CharField("motif de suspension", max_length=10, blank=True)
    closure_reason = models.CharField("motif de clôture", max_length=10, blank=True)
    closed_on = models.DateField("date de clôture", null=True, blank=True)
    last_reference_date = models.DateField("date de référence du dernier flux", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "droit RSA"
        verbose_name_plural = "droits RSA"

    def __str__(self):
        return f"Droit RSA {self.household} ({self.get_state_display()})"


def scope_parts(user, *, state_aggregates=False):
    """Le périmètre d'un agent authentifié (hors super-utilisateur), écrit une fois : les conditions sur les
    personnes venues de ses Départements (limitées au territoire de l'appartenance) et, pour les agrégats,
    de l'État rattaché à un Département ; et ses organisations partenaires, qui couvrent les personnes
    qu'elles suivent. Le délégué à la protection des données contrôle le journal, pas les dossiers : son
    appartenance n'ouvre rien ; l'État ne voit personne, il compte (``state_aggregates``)."""
    from parcours.accounts.roles import memberships_of

    conditions, partners = [], []
    for membership in memberships_of(user):
        org = membership.organisation
        if membership.role == Role.DPO:
            continue
        if org.kind == OrganisationKind.DEPARTEMENT:
            part = Q(departement_id=org.pk)
            if membership.territory_id:
                part &= Q(territory_id=membership.territory_id)
            conditions.append(part)
        elif org.kind == OrganisationKind.ETAT:
            if state_aggregates and org.departement_id:
                conditions.append(Q(departement_id=org.departement_id))
        elif all(p.pk != org.pk for p in partners):
            partners.append(org)
    return conditions, partners


class BeneficiaryQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Les bénéficiaires que l'agent a le droit de voir (périmètre de ses organisations)."""
        return self._scoped(user, state_aggregates=False)

    def countable_by(self, user):
        """Les bénéficiaires que l'agent peut compter dans des agrégats (indicateurs, jamais de liste) :
        son périmètre, plus tout le Département pour les services de l'État qui lui sont rattachés."""
        return self._scoped(user, state_aggregates=True)

    def _scoped(self, user, *, state_aggregates):
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        conditions, partners = scope_parts(user, state_aggregates=state_aggregates)
        scope = Q(pk__in=[])
        for condition in conditions:
            scope |= condition
        if partners:
            followed = FollowUp.objects.following_any(partners).values("beneficiary")
            scope |= Q(pk__in=followed)
        return self.filter(scope)

    def search(self, text):
        """Recherche de la liste : un identifiant (matricule, NIR, identifiant France Travail ou du Département)
        ou des mots du nom et du prénom.

        Un texte qui contient un chiffre est un identifiant — aucun nom n'en contient : il est cherché par
        égalité, index par index (les foyers du matricule d'abord, puis une condition sur les seules colonnes
        indexées de la personne), sans parcourir les noms de tout le Département. Sinon, chaque mot est cherché
        dans le nom d'usage, le prénom et le nom de naissance, sans accents ni casse, par un index trigramme,
        avec tolérance aux fautes de frappe sur PostgreSQL et classement par pertinence (voir ``search.py``)."""
        text = (text or "").strip()
        if not text:
            return self
        compact = "".join(text.split())
        if any(c.isdigit() for c in compact):
            return self.filter(self._identifier_q(compact))
        return search_names(self, text)

    @staticmethod
    def _identifier_q(compact):
        variants = sorted({compact, compact.upper(), compact.lower()})
        households = list(Household.objects.filter(matricule__in=variants).values_list("pk", flat=True))
        q = Q(departement_internal_id__in=variants) | Q(france_travail_id__in=variants)
        if households:
            q |= Q(household_id__in=households)
        if compact[:13].isdigit() and len(compact) in (13, 15):
            # NIR chiffré : recherche exacte du numéro complet (la clé se déduit des 13 premiers caractères).
            q |= Q(nir=f"{compact[:13]}{compute_key(compact[:13]):02d}")
        return q


class Beneficiary(TracksLoadedValues):
    """Une personne du foyer (demandeur ou conjoint), suivie dans Parcours."""

    # Index : seulement ceux qu'une requête lit (voir Meta.indexes). Chaque index se paie à chaque création de
    # personne et à chaque mise à jour qui n'est pas « HOT » (l'import mensuel en fait des dizaines de milliers).
    departement = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="beneficiaries",
        verbose_name="Département",
        db_index=False,  # couvert par les index composés qui commencent par le Département
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
        verbose_name="foyer",
        db_index=False,  # couvert par benef_household_role_idx (foyer, rôle)
    )
    role = models.CharField("rôle dans le foyer", max_length=3, choices=HouseholdRole.choices, blank=True)
    civility = models.CharField("civilité", max_length=3, choices=Civility.choices, blank=True)
    last_name = models.CharField("nom d'usage", max_length=150)
    birth_name = models.CharField("nom de naissance", max_length=150, blank=True)
    first_name = models.CharField("prénom", max_length=150)
    birth_date = models.DateField("date de naissance", null=True, blank=True)
    nir = EncryptedNirField("NIR", null=True, blank=True)  # chiffré au repos (voir fields.py)
    # Identifiants, courriel et téléphone : cherchés par égalité (recherche, rapprochement des flux), index dans
    # Meta.indexes (``db_index`` ajouterait sur PostgreSQL un second index « _like », pour ``LIKE 'x%'``, que rien
    # ne lit).
    france_travail_id = models.CharField("identifiant France Travail", max_length=30, blank=True)
    departement_internal_id = models.CharField(
        "identifiant interne du Département", max_length=50, blank=True
    )
    email = models.EmailField("adresse électronique", blank=True)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    city = models.CharField("commune", max_length=150, blank=True)
    insee_code = models.CharField("code INSEE de la commune", max_length=5, blank=True)
    territory = models.ForeignKey(
        "accounts.Territory",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="beneficiaries",
        verbose_name="territoire",
        db_index=False,  # couvert par benef_territory_idx (territoire, nom)
    )
    # État courant, dérivé du dernier flux (les écrans lisent ces champs ; l'historique : RightSnapshot).
    rsa_state = models.CharField("état du droit", max_length=1, choices=RightState.choices, blank=True)
    is_sdd = models.BooleanField("soumis aux droits et devoirs", null=True)
    new_entrant_t0 = models.DateField("nouvel entrant — T0", null=True, blank=True)
    last_flux_on = models.DateField("date de référence du dernier flux", null=True, blank=True)
    suspended_since = models.DateField("droit suspendu depuis", null=True, blank=True)
    anonymised_on = models.DateField("anonymisé le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        verbose_name = "bénéficiaire"
        ordering = ["last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["departement", "nir"], name="unique_nir_per_departement"),
        ]
        indexes = [
            models.Index(fields=["departement", "last_name", "first_name"], name="benef_dep_name_idx"),
            models.Index(fields=["departement", "rsa_state"], name="benef_dep_state_idx"),
            models.Index(fields=["departement", "new_entrant_t0"], name="benef_dep_t0_idx"),
            models.Index(fields=["territory", "last_name"], name="benef_territory_idx"),
            models.Index(fields=["household", "role"], name="benef_household_role_idx"),
            # Recherche par identifiant (``BeneficiaryQuerySet.search``) et rapprochement des flux : égalité.
            models.Index(fields=["france_travail_id"], name="benef_france_travail_id_idx"),
            models.Index(fields=["departement_internal_id"], name="benef_internal_id_idx"),
            models.Index(fields=["email"], name="benef_email_idx"),
            models.Index(fields=["phone"], name="benef_phone_idx"),
            # Listes paginées par curseur : liste des personnes d'un partenaire (ordre du nom, sans
            # Département) et synchronisation de l'API des partenaires (date de modification, identifiant).
            models.Index(fields=["last_name", "first_name", "id"], name="benef_list_name_idx"),
            models.Index(fields=["updated_at", "id"], name="benef_updated_idx"),
            # Périmètre d'un agent (Département, territoire) lu par index seul : tableau de bord (table de la
            # cohorte), suivis, contrats et sorties filtrés par les personnes visibles.
            models.Index(fields=["departement", "territory", "id"], name="benef_scope_idx"),
            # Files d'orientation (à inviter, à orienter) : les nouveaux entrants dont l'orientation est à
            # mener, dans l'ordre des files (T0, nom, identifiant) ; le territoire inclus pour les équipes
            # d'un territoire. Mêmes conditions que ``orientation.queues._new_entrants``.
            models.Index(
                fields=["departement", "new_entrant_t0", "last_name", "id"],
                include=["territory"],
                condition=Q(new_entrant_t0__isnull=False)
                & ~Q(rsa_state__in=sorted(CLOSED_STATES))
                & ~Q(is_sdd=False),
                name="benef_queue_idx",
            ),
            # Personnes soumises aux droits et devoirs parmi celles que suit une organisation partenaire
            # (accueil, « Votre périmètre ») : lues par index seul, sans parcourir la table des personnes
            # (bench/pages.py, accueil France Travail à 150 000 personnes : 165 → 48 ms pour les trois totaux).
            models.Index(fields=["id"], condition=Q(is_sdd=True), name="benef_sdd_idx"),
            # Personnes sans courriel, sans téléphone, sans adresse postale complète (coordonnées manquantes
            # d'une campagne du stock) : lues par index seul, sans parcourir la table des personnes (230 Mo à
            # 150 000 personnes ; bench/pages.py, campagne de 62 000 personnes).
            models.Index(fields=["id"], condition=NO_EMAIL, name="benef_no_email_idx"),
            models.Index(fields=["id"], condition=NO_PHONE, name="benef_no_phone_idx"),
            models.Index(fields=["id"], condition=NO_POSTAL_ADDRESS, name="benef_no_address_idx"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name.upper()}".strip()

    @property
    def salutation(self):
        """Appel des courriers : « Monsieur », « Madame », ou « Madame, Monsieur » si la civilité est inconnue."""
        return {Civility.M: "Monsieur", Civility.MME: "Madame"}.get(self.civility, "Madame, Monsieur")

    @property
    def accorde(self):
        """Marque du féminin des courriers (« accompagné(e) ») : « e », « » ou « (e) » si la civilité est
        inconnue."""
        return {Civility.M: "", Civility.MME: "e"}.get(self.civility, "(e)")

    @property
    def nir_display(self):
        return format_nir(self.nir)

    @property
    def nir_masked(self):
        return mask_nir(self.nir)


class RightSnapshot(TracksLoadedValues):
    """Ce qu'un flux a dit d'une personne à une date de référence (historique daté par le flux)."""

    # Index de la personne : celui de la contrainte unique_snapshot_per_date (personne, date de référence).
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    batch = models.ForeignKey(
        "intake.ImportBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="snapshots"
    )
    reference_date = models.DateField("date de référence du flux")
    received_on = models.DateField("reçu par le Département le")
    state = models.CharField("ETATDOSRSA", max_length=1, choices=RightState.choices)
    sdd = models.BooleanField("TOPPERSDRODEVORSA (soumis droits et devoirs)")
    cnaf_new_entrant = models.BooleanField("TOPPERSENTDRODEVORSA (entrant selon la CNAF)", null=True)
    activity_income = models.BooleanField("revenus d'activité", null=True)
    requested_on = models.DateField("DTDEMRSA", null=True, blank=True)
    opened_on = models.DateField("date d'ouverture du droit", null=True, blank=True)
    suspension_reason = models.CharField("MOTISUSVERSRSA", max_length=10, blank=True)
    suspended_since = models.DateField("DDSUSVERSRSA", null=True, blank=True)
    closure_reason = models.CharField("MOTICLORSA", max_length=10, blank=True)
    closed_on = models.DateField("DTCLORSA", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "situation du droit (flux)"
        verbose_name_plural = "historique des flux"
        ordering = ["-reference_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "reference_date"], name="unique_snapshot_per_date"
            ),
        ]

    COMPARED_FIELDS = (
        "state",
        "sdd",
        "cnaf_new_entrant",
        "activity_income",
        "requested_on",
        "opened_on",
        "suspension_reason",
        "suspended_since",
        "closure_reason",
        "closed_on",
    )

    def __str__(self):
        return f"{self.beneficiary_id} au {self.reference_date:%d/%m/%Y} : état {self.state}"

    @property
    def payable(self):
        return self.state in PAYABLE_STATES


class HouseholdComposition(models.Model):
    """Composition du foyer selon un flux CAF/MSA, en vigueur à partir de la date de référence de ce flux.

    Une ligne par **changement** : un flux qui redit la même composition n'écrit rien (``intake.staging``). Les
    règles (taille du foyer, parent isolé, plafond des sanctions) sont dans ``household.py``."""

    # Index du foyer : celui de la contrainte unique_composition_per_date (foyer, date).
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="compositions", db_index=False
    )
    valid_from = models.DateField("en vigueur depuis (date de référence du flux)")
    batch = models.ForeignKey(
        "intake.ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="household_compositions",
    )
    adults = models.PositiveSmallIntegerField("adultes (demandeur et conjoint)")
    partner = models.BooleanField("conjoint (CJT)")
    children = models.PositiveSmallIntegerField("enfants (ENF)")
    others = models.PositiveSmallIntegerField("autres personnes (AUT)", default=0)
    dependants = models.PositiveSmallIntegerField(
        "enfants et autres personnes à charge (NBENFAUTCHA)", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    COMPARED_FIELDS = ("adults", "partner", "children", "others", "dependants")

    class Meta:
        verbose_name = "composition du foyer"
        verbose_name_plural = "compositions du foyer"
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["household", "valid_from"], name="unique_composition_per_date"),
        ]

    def __str__(self):
        return f"Foyer {self.household_id} au {self.valid_from:%d/%m/%Y} : {self.summary}"

    @property
    def persons(self):
        return household_size(self.adults, self.children, self.others, self.dependants)

    @property
    def single_parent(self):
        return is_single_parent(self.adults, self.partner, self.children)

    @property
    def capped(self):
        return is_capped(self.adults, self.partner, self.children, self.others, self.dependants)

    @property
    def summary(self):
        """« Parent isolé, 2 enfants ; 3 personnes » : la composition en une phrase (fiche, procédure)."""
        from parcours.core.text import plural

        if self.single_parent:
            head = "parent isolé"
        elif self.partner:
            head = "couple"
        else:
            head = plural(self.adults, "adulte")
        parts = [head, plural(self.children, "enfant")]
        if self.others:
            parts.append(plural(self.others, "autre personne", "autres personnes"))
        if self.dependants is not None:
            parts.append(plural(self.dependants, "personne à charge", "personnes à charge"))
        return f"{', '.join(parts)} ; {plural(self.persons, 'personne')} au foyer"


class FollowUpCause(models.TextChoices):
    """Ce qui a ouvert un suivi (annexe 4 : orientation connue ou référent désigné)."""

    ORIENTATION = "orientation", "Orientation notifiée"
    REFERENT = "referent", "Référent désigné"
    IMPORT = "import", "Reprise d'un autre logiciel"


class FollowUpEnd(models.TextChoices):
    """Ce qui a clos un suivi."""

    EXIT = "sortie", "Sortie de l'accompagnement"
    RADIATION = "radiation", "Radiation (droit clos)"
    SUSPENSION = "suspension", "Suspension de plus de 12 mois"
    EXPLICIT = "fin", "Fin de suivi décidée"
    TRANSFER = "transfert", "Prise en charge par une autre organisation"
    CANCELLED = "annulation", "Orientation annulée"


class FollowUpQuerySet(models.QuerySet):
    def following(self, organisation, on=None):
        """Les suivis qui donnent accès à une organisation : en cours, ou clos par une sortie depuis moins de
        ``employment_follow_up_months`` mois (suivi dans l'emploi, vérification de l'emploi durable)."""

        return self.following_any([organisation], on=on)

    def following_any(self, organisations, on=None):
        """``following`` pour plusieurs organisations à la fois (une seule requête) : la règle du périmètre des
        organisations partenaires, écrite ici une fois (``parcours.beneficiaries.scope``, ``visible_to``)."""
        from django.utils import timezone

        on = on or timezone.localdate()
        by_months = {}
        for organisation in organisations:
            months = get_delay("employment_follow_up_months", organisation.departement or organisation)
            by_months.setdefault(months, set()).add(organisation.pk)
        if not by_months:
            return self.none()
        ids = set().union(*by_months.values())
        recent_exit = Q(pk__in=[])
        for months, org_ids in by_months.items():
            recent_exit |= Q(
                organisation_id__in=sorted(org_ids),
                end_cause=FollowUpEnd.EXIT,
                ended_on__gte=on - relativedelta(months=months),
            )
        return self.filter(organisation_id__in=sorted(ids)).filter(Q(ended_on__isnull=True) | recent_exit)


class FollowUp(TracksLoadedValues):
    """Suivi d'une personne par une organisation (orientation connue ou référent désigné), daté ; écrit
    uniquement par ``parcours.pathway.services`` (au plus un suivi en cours par personne)."""

    beneficiary = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="follow_ups")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="follow_ups"
    )
    referent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    started_on = models.DateField("début")
    ended_on = models.DateField("fin", null=True, blank=True)
    end_reason = models.CharField("motif de fin", max_length=200, blank=True)
    cause = models.CharField(
        "ouvert par", max_length=20, choices=FollowUpCause.choices, default=FollowUpCause.IMPORT
    )
    end_cause = models.CharField("clos par", max_length=20, choices=FollowUpEnd.choices, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = "suivi"
        indexes = [models.Index(fields=["organisation", "ended_on"], name="followup_org_open_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"], condition=Q(ended_on__isnull=True), name="one_open_follow_up"
            ),
        ]

    def __str__(self):
        return f"Suivi de {self.beneficiary} par {self.organisation}"
