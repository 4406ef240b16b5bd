"""Import des flux en ensembles : table de transit, rapprochement et écritures en SQL.

Les lignes valides et normalisées d'un fichier sont versées, au fil de la lecture, dans une table temporaire
de la transaction (``COPY`` sur PostgreSQL, insertions groupées sur SQLite) : la mémoire ne dépend pas de la
taille du fichier. La base fait ensuite le travail par ensembles :

1. **Rapprochement** par le NIR (index unique ``departement, nir``) ; une ligne est « simple » si son NIR
   n'apparaît qu'une fois dans le fichier, désigne une personne connue déjà rattachée au même foyer avec le
   même rôle, qu'aucune autre ligne du fichier ne peut désigner (identifiant Département, courriel,
   téléphone, NIR en double), que toutes les lignes de son foyer sont simples, et que le flux n'est pas plus
   ancien que le dernier connu pour elle ou son foyer. Une ligne au NIR unique et inconnu, qu'aucun autre
   critère ne rapproche d'une personne connue ni d'une autre ligne, est une personne nouvelle, créée en SQL.
   Ces lignes ne peuvent donner lieu à aucun avertissement ni aucune ambiguïté : tout se décide en SQL.
2. **Droit du foyer** (première ligne du foyer dans le fichier), **historique** (``RightSnapshot``),
   **état courant** des personnes, **nouvel entrant** et **clôture des suivis**, par quelques requêtes
   ``UPDATE … FROM`` / ``INSERT … SELECT``.
3. Les autres lignes (à rapprocher sur d'autres critères que le NIR, NIR en double, fichier de contacts, flux
   antérieur…) sont relues de la table, dans l'ordre du fichier, et passent par le chemin ligne à ligne du
   moteur (``services._Importer._process_rows``, ``matching.py``, ``rights.py``), qui garde les règles de
   rapprochement et les avertissements. Dans chaque paquet elles passent avant les lignes simples : elles voient
   la base telle qu'elle était avant le paquet, comme l'ancien moteur ; les deux ensembles ne touchent ni les
   mêmes personnes ni les mêmes foyers.

La règle du nouvel entrant reste écrite une fois (``rules.evaluate_new_entrant``, ``rules.next_suspended_since``) :
ses entrées forment un domaine fini (état, top SDD, état précédent, suspension de plus de N mois, suivi en
cours) ; la table de vérité est calculée par ces fonctions Python à chaque import et jointe en SQL.
"""

import datetime
import itertools
from operator import attrgetter
from types import SimpleNamespace

from django.db import DatabaseError, connections, router, transaction

from parcours.beneficiaries.fields import decrypt_nir, encrypt_nir
from parcours.beneficiaries.models import (
    CLOSED_STATES,
    Beneficiary,
    FollowUp,
    FollowUpEnd,
    Household,
    HouseholdComposition,
    RightSnapshot,
    RightState,
    RsaRight,
)
from parcours.core.bulk import tune_batch_transaction
from parcours.journal.models import EventKind
from parcours.journal.payload import Payload

from .records import IDENTITY_FIELDS, FluxRow
from .rules import PreviousState, add_months, evaluate_new_entrant, next_suspended_since, suspension_exceeds

STAGE = "intake_stage"
RULE = "intake_stage_rule"
CUTOFF = "intake_stage_cutoff"
FIRST = "intake_stage_first"
FLUSH_ROWS = 2000
WORK_MEM = "64MB"
TEMP_BUFFERS = "256MB"
# Échantillon d'ANALYZE de la table de transit : 300 × 20 lignes suffisent aux plans (jointures de hachage), cinq fois
# moins cher que la valeur par défaut (100).
STATISTICS_TARGET = 20

# (colonne, type SQL, champ de FluxRow) : les valeurs normalisées d'une ligne, telles que le lecteur les donne.
ROW_COLUMNS = (
    ("row_no", "integer", "row"),
    ("organism", "varchar(3)", "organism"),
    ("matricule", "varchar(30)", "matricule"),
    ("role", "varchar(3)", "role"),
    ("nir", "varchar(64)", "nir"),  # chiffré (comme en base) : jamais de NIR en clair dans la table
    ("civility", "varchar(3)", "civility"),
    ("last_name", "varchar(150)", "last_name"),
    ("birth_name", "varchar(150)", "birth_name"),
    ("first_name", "varchar(150)", "first_name"),
    ("birth_date", "date", "birth_date"),
    ("email", "varchar(254)", "email"),
    ("phone", "varchar(20)", "phone"),
    ("address", "varchar(300)", "address"),
    ("postal_code", "varchar(5)", "postal_code"),
    ("city", "varchar(150)", "city"),
    ("insee_code", "varchar(5)", "insee_code"),
    ("departement_internal_id", "varchar(50)", "departement_internal_id"),
    ("france_travail_id", "varchar(30)", "france_travail_id"),
    ("rsa_number", "varchar(30)", "rsa_number"),
    ("requested_on", "date", "requested_on"),
    ("opened_on", "date", "opened_on"),
    ("right_state", "varchar(1)", "right_state"),
    ("sdd", "boolean", "sdd"),
    ("cnaf_new_entrant", "boolean", "cnaf_new_entrant"),
    ("activity_income", "boolean", "activity_income"),
    ("suspension_reason", "varchar(10)", "suspension_reason"),
    ("suspended_since", "date", "suspended_since"),
    ("closure_reason", "varchar(10)", "closure_reason"),
    ("closed_on", "date", "closed_on"),
    ("reference_date", "date", "reference_date"),
    ("contact_only", "boolean", "contact_only"),
    # Composition du foyer dite par la ligne (``beneficiaries.household``) : écrite par foyer, voir ``compositions``.
    ("hh_stated", "boolean", "household_stated"),
    ("hh_children", "smallint", "household_children"),
    ("hh_dependants", "smallint", "household_dependants"),
)
# Colonnes calculées au versement : clés de rapprochement et date de référence effective.
DERIVED_COLUMNS = (
    ("seq", "integer"),  # rang de la ligne valide dans le fichier (0, 1, 2…) : découpe en paquets
    ("organism_key", "varchar(3)"),  # organisme, CAF par défaut
    ("email_key", "varchar(254)"),  # courriel en minuscules
    ("ref_date", "date"),
    ("month_start", "date"),
    ("month_end", "date"),  # premier jour du mois suivant
    ("has_right", "boolean"),
)
# Colonnes remplies par le rapprochement.
MATCH_COLUMNS = (
    ("person_id", "bigint"),
    ("household_id", "bigint"),
    ("simple", "boolean"),
    ("created", "boolean"),  # personne nouvelle, créée en SQL
    ("nir_dup", "boolean"),  # NIR présent plusieurs fois dans le fichier
    # personne connue dont l'historique à la date du flux et l'identité sont déjà ceux de la ligne : rien à écrire
    ("same", "boolean"),
)
# Colonnes lues par les jointures et les filtres : les seules dont ANALYZE calcule les statistiques.
ANALYZED_COLUMNS = (
    "seq",
    "row_no",
    "nir",
    "nir_dup",
    "person_id",
    "household_id",
    "simple",
    "created",
    "same",
    "organism_key",
    "matricule",
    "role",
    "email_key",
    "phone",
    "departement_internal_id",
    "ref_date",
    "has_right",
    "contact_only",
)
# Les valeurs d'une ligne, dans l'ordre des colonnes, en un seul appel ; rang de la colonne du NIR (à chiffrer).
ROW_VALUES = attrgetter(*(attr for *_, attr in ROW_COLUMNS))
NIR_INDEX = [name for name, *_ in ROW_COLUMNS].index("nir")
DATE_FIELDS = {name for name, kind, _ in ROW_COLUMNS if kind == "date"}
BOOL_FIELDS = {name for name, kind, _ in ROW_COLUMNS if kind == "boolean"}


def _month_bounds(day):
    start = day.replace(day=1)
    return start, add_months(start, 1)


class Staging:
    """La table de transit d'un import (temporaire, propre à la connexion) et le traitement en ensembles."""

    def __init__(
        self,
        *,
        batch,
        departement,
        report,
        initial_stock,
        suspension_limit,
        event,
        communes_by_insee,
        communes_by_postal,
    ):
        self.connection = connections[router.db_for_write(Beneficiary)]
        self.pg = self.connection.vendor == "postgresql"
        self.batch = batch
        self.departement = departement
        self.report = report
        self.initial_stock = initial_stock
        self.suspension_limit = suspension_limit
        self.event = event
        self.communes_by_insee = communes_by_insee
        self.communes_by_postal = communes_by_postal
        self.pending = []
        self.count = 0
        self.q = self.connection.ops.quote_name
        self.same = "IS NOT DISTINCT FROM" if self.pg else "IS"
        self.month_bounds = {}  # date de référence → (début du mois, début du mois suivant) : peu de dates par fichier

    # ---- table

    def _execute(self, sql, params=()):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _fetch(self, sql, params=()):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def create(self):
        self._tune()
        self.drop()
        columns = ", ".join(
            f"{name} {kind}" for name, kind, *_ in (*ROW_COLUMNS, *DERIVED_COLUMNS, *MATCH_COLUMNS)
        )
        # PostgreSQL : place libre dans chaque page, les mises à jour des drapeaux restent « HOT » (sans index).
        self._execute(
            f"CREATE TEMPORARY TABLE {STAGE} ({columns})" + (" WITH (fillfactor = 50)" if self.pg else "")
        )

    def _tune(self):
        """PostgreSQL : réglages de la transaction d'import (``SET LOCAL`` : rien ne reste sur la connexion). Les
        tables temporaires vivent dans ``temp_buffers`` (8 Mo par défaut, réglable seulement avant la première table
        temporaire de la session) ; les jointures et tris par ensembles dans ``work_mem``. Sans compilation JIT : le
        coût estimé des requêtes par ensembles (sur des statistiques souvent en retard juste après un gros import)
        la déclenche, et elle coûte plus (jusqu'à 3 s par requête) qu'elle ne fait gagner."""
        if not self.pg:
            return
        with self.connection.cursor() as cursor:
            tune_batch_transaction(cursor, work_mem=WORK_MEM)
        self._execute(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
        try:
            with transaction.atomic():
                self._execute(f"SET LOCAL temp_buffers = '{TEMP_BUFFERS}'")
        except DatabaseError:
            pass  # la session a déjà utilisé des tables temporaires : réglage inchangé

    def drop(self):
        for table in (
            STAGE,
            RULE,
            CUTOFF,
            FIRST,
            "intake_stage_decide",
            "intake_stage_outcome",
            "intake_stage_people",
            "intake_stage_household",
            "intake_stage_composition",
        ):
            self._execute(f"DROP TABLE IF EXISTS {table}")

    def add(self, row, ref_date):
        values = list(ROW_VALUES(row))
        if values[NIR_INDEX]:
            values[NIR_INDEX] = encrypt_nir(values[NIR_INDEX])
        bounds = self.month_bounds.get(ref_date)
        if bounds is None:
            bounds = self.month_bounds[ref_date] = _month_bounds(ref_date)
        start, end = bounds
        values += [
            self.count + len(self.pending),
            row.organism or "CAF",
            row.email.lower() if row.email else None,
            ref_date,
            start,
            end,
            row.has_right,
            None,
            None,
            False,
            False,
            False,
            False,
        ]
        self.pending.append(values)
        if len(self.pending) >= FLUSH_ROWS:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        names = [name for name, *_ in (*ROW_COLUMNS, *DERIVED_COLUMNS, *MATCH_COLUMNS)]
        with self.connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f"COPY {STAGE} ({', '.join(names)}) FROM STDIN") as copy:
                    for values in self.pending:
                        copy.write_row(values)
            else:
                adapt = self.connection.ops.adapt_datefield_value
                rows = [
                    [adapt(v) if isinstance(v, datetime.date) else v for v in values]
                    for values in self.pending
                ]
                cursor.executemany(
                    f"INSERT INTO {STAGE} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",  # noqa: S608
                    rows,
                )
        self.count += len(self.pending)
        self.pending = []

    def _index(self):
        # PostgreSQL rapproche par jointures de hachage : deux index suffisent (découpe et relecture) ; chaque index
        # de plus alourdirait les mises à jour des drapeaux. SQLite, sans jointure de hachage, en veut davantage.
        columns = ["seq", "row_no"]
        if not self.pg:
            columns += [
                "nir",
                "organism_key, matricule, role",
                "departement_internal_id",
                "email_key",
                "phone",
            ]
            columns += ["household_id", "person_id"]
        for i, cols in enumerate(columns):
            self._execute(f"CREATE INDEX {STAGE}_i{i} ON {STAGE} ({cols})")
        self._analyze()

    def _analyze(self):
        # Statistiques de la table temporaire (l'autovacuum ne la voit pas), pour les seules colonnes des jointures
        # et des filtres : les autres (noms, adresses…) coûteraient sans servir à aucun plan.
        if self.pg:
            self._execute(f"ANALYZE {STAGE} ({', '.join(ANALYZED_COLUMNS)})")

    def _ident_changed(self, alias="b"):
        """SQL : la ligne ``s`` change un champ d'identité de la personne ``alias`` (valeur non vide différente)."""
        changed = []
        for name in IDENTITY_FIELDS:
            col = Beneficiary._meta.get_field(name).column
            value = "s.email_key" if name == "email" else f"s.{name}"
            if name in DATE_FIELDS:
                changed.append(f"({value} IS NOT NULL AND NOT ({value} {self.same} {alias}.{col}))")
            else:
                changed.append(f"({value} IS NOT NULL AND {value} <> '' AND {value} <> {alias}.{col})")
        return "(" + " OR ".join(changed) + ")"

    def _snapshot_equal(self, alias):
        """SQL : l'historique ``alias`` porte déjà les valeurs de la ligne ``s``."""
        same = self.same
        return " AND ".join(
            [
                f"{alias}.state = s.right_state",
                f"{alias}.sdd = s.sdd",
                f"{alias}.cnaf_new_entrant {same} s.cnaf_new_entrant",
                f"{alias}.activity_income {same} s.activity_income",
                f"{alias}.requested_on {same} s.requested_on",
                f"{alias}.opened_on {same} s.opened_on",
                f"{alias}.suspension_reason = COALESCE(s.suspension_reason, '')",
                f"{alias}.suspended_since {same} s.suspended_since",
                f"{alias}.closure_reason = COALESCE(s.closure_reason, '')",
                f"{alias}.closed_on {same} s.closed_on",
            ]
        )

    # ---- rapprochement

    def match(self, contacts):
        """Marque les lignes simples (voir le module). ``contacts`` : fichier de contacts, tout passe ligne à ligne."""
        self.flush()
        self._index()
        if contacts:
            return
        q = self.q
        person = q(Beneficiary._meta.db_table)
        household = q(Household._meta.db_table)
        right = q(RsaRight._meta.db_table)
        dep = self.departement.pk
        self._execute(
            f"""UPDATE {STAGE} SET nir_dup = TRUE WHERE nir IN (
                    SELECT nir FROM {STAGE} WHERE nir IS NOT NULL GROUP BY nir HAVING COUNT(*) > 1)"""  # noqa: S608
        )
        # En une seule passe sur la table (chaque mise à jour d'une ligne en écrit une nouvelle version, que la
        # transaction garde) : la personne (NIR présent une seule fois dans le fichier et connu), le foyer connu, et
        # les conditions propres à la ligne (même foyer et même rôle, flux pas plus ancien que le dernier connu pour
        # la personne ou son droit, même commune). ``same`` : déjà importée (historique identique à la date du flux,
        # identité inchangée) ; une telle ligne simple n'écrit rien et compte « inchangée » (cas A de ``_decide``) :
        # le ré-import d'un même fichier se réduit à cette lecture.
        snap = q(RightSnapshot._meta.db_table)
        simple = """(b.id IS NOT NULL AND h.id IS NOT NULL AND s.has_right
            AND NOT s.contact_only AND s.role IS NOT NULL AND s.role <> ''
            AND b.household_id = h.id AND b.role = s.role
            AND (b.last_flux_on IS NULL OR b.last_flux_on <= s.ref_date)
            AND (r.last_reference_date IS NULL OR r.last_reference_date <= s.ref_date)
            AND (s.postal_code IS NULL OR s.postal_code = '' OR s.postal_code = b.postal_code)
            AND (s.insee_code IS NULL OR s.insee_code = '' OR s.insee_code = b.insee_code))"""
        self._execute(
            f"""UPDATE {STAGE} AS t SET person_id = m.person_id, household_id = m.household_id, simple = m.simple,
                same = m.same
            FROM (SELECT s.row_no, b.id AS person_id, h.id AS household_id, COALESCE({simple}, FALSE) AS simple,
                    COALESCE({simple} AND NOT {self._ident_changed()} AND EXISTS (
                        SELECT 1 FROM {snap} x WHERE x.beneficiary_id = b.id AND x.reference_date = s.ref_date
                        AND {self._snapshot_equal("x")}), FALSE) AS same
                FROM {STAGE} s
                LEFT JOIN {person} b ON b.departement_id = %(dep)s AND b.nir = s.nir AND s.nir IS NOT NULL
                    AND NOT s.nir_dup
                LEFT JOIN {household} h ON h.departement_id = %(dep)s AND h.organism = s.organism_key
                    AND h.matricule = s.matricule
                LEFT JOIN {right} r ON r.household_id = h.id
                WHERE b.id IS NOT NULL OR h.id IS NOT NULL) m
            WHERE t.row_no = m.row_no""",  # noqa: S608
            {"dep": dep},
        )
        # Personne que d'autres lignes du fichier pourraient désigner (identifiant Département, courriel,
        # téléphone, NIR en double) : ligne à ligne.
        # Personne nouvelle (NIR unique dans le fichier et inconnu) qu'aucun autre critère ne rapproche d'une
        # personne connue ni d'une autre ligne : créée en SQL.
        self._execute(
            f"""UPDATE {STAGE} SET simple = TRUE, created = TRUE
                WHERE person_id IS NULL AND nir IS NOT NULL AND NOT nir_dup AND has_right AND NOT contact_only
                AND matricule IS NOT NULL AND matricule <> '' AND role IS NOT NULL AND role <> ''"""  # noqa: S608
        )
        self._analyze()
        knockouts = (
            # même identifiant Département qu'une personne connue ou qu'une autre ligne
            f"""departement_internal_id <> '' AND departement_internal_id IN (
                SELECT b.departement_internal_id FROM {person} b WHERE b.departement_id = %(dep)s)""",  # noqa: S608
            f"""departement_internal_id IN (SELECT departement_internal_id FROM {STAGE} WHERE departement_internal_id <> ''
                GROUP BY departement_internal_id HAVING COUNT(*) > 1)""",  # noqa: S608
            # foyer connu ayant déjà une personne de ce rôle, ou deux lignes du même foyer et du même rôle
            f"""household_id IS NOT NULL AND (household_id, role) IN (
                SELECT b.household_id, b.role FROM {person} b WHERE b.departement_id = %(dep)s)""",  # noqa: S608
            f"""(organism_key, matricule, role) IN (SELECT organism_key, matricule, role FROM {STAGE}
                GROUP BY organism_key, matricule, role HAVING COUNT(*) > 1)""",  # noqa: S608
            # courriel ou téléphone d'une personne connue sans NIR
            f"""email_key <> '' AND email_key IN (
                SELECT LOWER(b.email) FROM {person} b WHERE b.nir IS NULL AND b.departement_id = %(dep)s)""",  # noqa: S608
            f"""phone <> '' AND phone IN (
                SELECT b.phone FROM {person} b WHERE b.nir IS NULL AND b.departement_id = %(dep)s)""",  # noqa: S608
            # courriel ou téléphone d'une ligne sans NIR (ou au NIR en double), qui pourrait la désigner
            f"email_key <> '' AND email_key IN (SELECT email_key FROM {STAGE} WHERE nir IS NULL OR nir_dup)",  # noqa: S608
            f"phone <> '' AND phone IN (SELECT phone FROM {STAGE} WHERE nir IS NULL OR nir_dup)",  # noqa: S608
        )
        # Critères tirés des autres lignes du fichier (identifiant Département en double, foyer et rôle en double,
        # courriel ou téléphone d'une ligne sans NIR) : ils valent aussi pour une personne connue, car sa ligne
        # simple lui donne ces valeurs (une ligne sans NIR plus loin dans le fichier la trouverait par elles).
        in_file = {1, 3, 6, 7}
        for i, knockout in enumerate(knockouts):
            self._execute(
                f"UPDATE {STAGE} SET simple = FALSE, created = FALSE WHERE {'simple' if i in in_file else 'created'} "  # noqa: S608
                f"AND {knockout}",
                {"dep": dep},
            )
        # Personne connue que d'autres lignes du fichier pourraient désigner (NIR en double, identifiant
        # Département, courriel ou téléphone d'une ligne sans NIR) : ligne à ligne.
        claims = (
            "l.nir = b.nir",
            "l.departement_internal_id <> '' AND l.departement_internal_id = b.departement_internal_id",
            "(l.nir IS NULL OR l.nir_dup) AND l.email_key <> '' AND l.email_key = LOWER(b.email)",
            "(l.nir IS NULL OR l.nir_dup) AND l.phone <> '' AND l.phone = b.phone",
        )
        for claim in claims:
            self._execute(
                f"""UPDATE {STAGE} SET simple = FALSE WHERE simple AND NOT created AND person_id IN (
                    SELECT b.id FROM {person} b JOIN {STAGE} l ON l.person_id IS NULL AND {claim}
                    WHERE b.departement_id = %s)""",  # noqa: S608
                [dep],
            )
        # Un foyer dont une ligne n'est pas simple : tout le foyer ligne à ligne.
        self._execute(
            f"""UPDATE {STAGE} SET simple = FALSE, created = FALSE WHERE simple AND (organism_key, matricule) IN (
                SELECT organism_key, matricule FROM {STAGE} WHERE NOT simple AND matricule IS NOT NULL)"""  # noqa: S608
        )
        self._analyze()

    # ---- composition des foyers (toutes les lignes, quel que soit leur chemin)

    def compositions(self):
        """Composition de chaque foyer du fichier (``beneficiaries.household``), écrite en SQL une fois toutes les
        lignes appliquées : elle se calcule sur **toutes** les lignes du foyer dans la table de transit, qu'elles
        soient passées par le chemin par ensembles ou ligne à ligne (même résultat par construction), et ne dépend
        pas du découpage en paquets.

        Par foyer et date de référence : adultes (une ligne DEM, une ligne CJT au plus chacune), conjoint, enfants
        (lignes ENF du flux XML, ou nombre déclaré par le fichier canonique, le plus grand des deux), autres
        personnes (AUT), enfants et autres personnes à charge (NBENFAUTCHA). Seuls comptent les foyers dont une
        ligne dit la composition (``hh_stated`` : toujours pour le flux XML ; pour un tableur, une colonne de
        composition renseignée sur une de ses lignes) : un fichier qui ne la dit pas ne change pas la composition
        connue.

        Historique **seulement quand la composition change** : rien n'est écrit si la composition en vigueur à la
        date du flux est la même ; même date (ré-import d'un fichier corrigé) : elle est corrigée ; sinon une ligne
        datée de la date de référence est ajoutée. Un flux plus ancien (chargement de stock) peut rendre superflue la
        composition suivante du foyer : elle est retirée si elle ne change plus rien."""
        q, same = self.q, self.same
        dep = self.departement.pk
        household = q(Household._meta.db_table)
        comp = q(HouseholdComposition._meta.db_table)
        self._execute("DROP TABLE IF EXISTS intake_stage_household")
        self._execute(
            f"""CREATE TEMPORARY TABLE intake_stage_household AS
            SELECT h.id AS household_id, g.ref_date, g.dem + g.cjt AS adults, (g.cjt > 0) AS partner,
                CASE WHEN g.enf > COALESCE(g.declared, 0) THEN g.enf ELSE COALESCE(g.declared, 0) END AS children,
                g.aut AS others, g.dependants
            FROM (SELECT organism_key, matricule, ref_date,
                    MAX(CASE WHEN role = 'DEM' THEN 1 ELSE 0 END) AS dem,
                    MAX(CASE WHEN role = 'CJT' THEN 1 ELSE 0 END) AS cjt,
                    SUM(CASE WHEN role = 'ENF' THEN 1 ELSE 0 END) AS enf,
                    SUM(CASE WHEN role = 'AUT' THEN 1 ELSE 0 END) AS aut,
                    MAX(hh_children) AS declared, MAX(hh_dependants) AS dependants
                FROM {STAGE} WHERE NOT contact_only AND matricule IS NOT NULL AND matricule <> ''
                GROUP BY organism_key, matricule, ref_date
                HAVING MAX(CASE WHEN hh_stated THEN 1 ELSE 0 END) = 1) g
            JOIN {household} h ON h.departement_id = %s AND h.organism = g.organism_key
                AND h.matricule = g.matricule""",  # noqa: S608
            [dep],
        )
        dates = self._fetch("SELECT COUNT(DISTINCT ref_date) FROM intake_stage_household")[0][0]
        if not dates:
            return
        if dates > 1:
            # Lignes d'un foyer à plusieurs dates de référence dans un même fichier : la plus récente décide.
            self._execute(
                """DELETE FROM intake_stage_household WHERE EXISTS (SELECT 1 FROM intake_stage_household l
                    WHERE l.household_id = intake_stage_household.household_id
                    AND l.ref_date > intake_stage_household.ref_date)"""
            )
        equal = " AND ".join(
            [f"c.{name} = n.{name}" for name in ("adults", "partner", "children", "others")]
            + [f"c.dependants {same} n.dependants"]
        )
        self._execute("DROP TABLE IF EXISTS intake_stage_composition")
        self._execute(
            f"""CREATE TEMPORARY TABLE intake_stage_composition AS
            SELECT n.household_id, n.ref_date, n.adults, n.partner, n.children, n.others, n.dependants,
                c.id AS prev_id, c.valid_from AS prev_from, (c.id IS NOT NULL AND {equal}) AS prev_equal
            FROM intake_stage_household n LEFT JOIN {comp} c ON c.household_id = n.household_id
                AND c.valid_from = (SELECT MAX(x.valid_from) FROM {comp} x
                    WHERE x.household_id = n.household_id AND x.valid_from <= n.ref_date)"""  # noqa: S608
        )
        values = ("adults", "partner", "children", "others", "dependants")
        sets = ", ".join(f"{name} = p.{name}" for name in values)
        self._execute(
            f"""UPDATE {comp} AS c SET {sets}, batch_id = %s FROM intake_stage_composition p
                WHERE c.id = p.prev_id AND NOT p.prev_equal AND p.prev_from = p.ref_date""",  # noqa: S608
            [self.batch.pk],
        )
        self._insert_select(
            HouseholdComposition,
            {
                "household": "p.household_id",
                "valid_from": "p.ref_date",
                "batch": str(int(self.batch.pk)),
                **{name: f"p.{name}" for name in values},
                "created_at": ("%s", self._now()),
            },
            """FROM intake_stage_composition p WHERE NOT p.prev_equal
                AND (p.prev_id IS NULL OR p.prev_from < p.ref_date) ORDER BY p.household_id""",
        )
        # Le droit du foyer « change » pour la synchronisation des partenaires (API, ``updated_after``) ; les droits
        # déjà écrits par cet import (créés ou modifiés depuis son début) ne sont pas réécrits.
        started = self.batch.started_at
        self._execute(
            f"""UPDATE {q(RsaRight._meta.db_table)} SET updated_at = %s WHERE household_id IN (
                SELECT p.household_id FROM intake_stage_composition p WHERE NOT p.prev_equal)"""  # noqa: S608
            + (" AND updated_at < %s" if started else ""),
            [self._now(), *([self._datetime(started)] if started else [])],
        )
        # Une composition qui redit celle qui la précède ne change rien : retirée (flux ancien d'un chargement de
        # stock, ou composition corrigée à la même date).
        touched = "NOT p.prev_equal" + ("" if self.initial_stock else " AND p.prev_from = p.ref_date")
        previous_equal = " AND ".join(
            [f"e.{name} = {comp}.{name}" for name in ("adults", "partner", "children", "others")]
            + [f"e.dependants {same} {comp}.dependants"]
        )
        self._execute(
            f"""DELETE FROM {comp} WHERE household_id IN (
                    SELECT p.household_id FROM intake_stage_composition p WHERE {touched})
                AND EXISTS (SELECT 1 FROM {comp} e WHERE e.household_id = {comp}.household_id AND e.valid_from = (
                    SELECT MAX(f.valid_from) FROM {comp} f WHERE f.household_id = {comp}.household_id
                    AND f.valid_from < {comp}.valid_from) AND {previous_equal})"""  # noqa: S608
        )

    # ---- lignes relues pour le chemin ligne à ligne

    def other_rows(self, start, stop, size):
        names = [name for name, *_ in ROW_COLUMNS]
        attrs = [attr for *_, attr in ROW_COLUMNS]
        last = -1
        while True:
            rows = self._fetch(
                f"SELECT {', '.join(names)} FROM {STAGE} WHERE NOT simple AND seq >= %s AND seq < %s "  # noqa: S608
                f"AND row_no > %s ORDER BY row_no LIMIT {int(size)}",
                [start, stop, last],
            )
            if not rows:
                return
            chunk = []
            for values in rows:
                data = {}
                for name, attr, value in zip(names, attrs, values, strict=True):
                    if value is not None:
                        if name in DATE_FIELDS and isinstance(value, str):
                            value = datetime.date.fromisoformat(value)
                        elif name in BOOL_FIELDS:
                            value = bool(value)
                        elif name == "nir":
                            value = decrypt_nir(value)
                    data[attr] = value
                chunk.append(FluxRow(**data))
            last = chunk[-1].row
            yield chunk

    # ---- écritures des lignes simples

    def prepare(self):
        """Avant les paquets : table de vérité de la règle, foyers nouveaux des lignes simples."""
        self.any_simple = bool(self._fetch(f"SELECT 1 FROM {STAGE} WHERE simple LIMIT 1"))  # noqa: S608
        if self.any_simple:
            self._rule_tables()
            self._create_households()

    def apply(self, start, stop, write_events):
        """Écrit les lignes simples du paquet (rangs ``start`` à ``stop`` exclu) ; ``write_events(événements)``
        écrit les événements du journal. Renvoie les suivis à clore ``(personne, date, motif, cause)``."""
        if not self.any_simple:
            return []
        self.slice = f"s.seq >= {int(start)} AND s.seq < {int(stop)}"
        self._create_people()
        self._write_rights()
        self._decide()
        self._write_snapshots()
        self._write_people()
        return self._report_and_events(write_events)

    def _rule_tables(self):
        """Table de vérité de la règle du nouvel entrant et de la date de suspension, calculée par ``rules``."""
        states = [""] + list(RightState.values)
        rows = []
        for state, sdd, prev_state, prev_sdd, exceeds, follow_up, prev_susp, row_susp in itertools.product(
            RightState.values,
            (False, True),
            states,
            (False, True),
            (False, True),
            (False, True),
            (False, True),
            (False, True),
        ):
            ref = datetime.date(2000, 6, 15)
            prev_since, row_since = datetime.date(2000, 1, 1), datetime.date(2000, 2, 2)
            prev_since_rule = datetime.date(1900, 1, 1) if exceeds else ref
            previous = PreviousState(prev_state, prev_sdd, prev_since_rule) if prev_state else None
            decision = evaluate_new_entrant(
                state=state,
                sdd=sdd,
                previous=previous,
                follow_up_in_progress=follow_up,
                reference_date=ref,
                suspension_limit_months=self.suspension_limit,
            )
            since = next_suspended_since(
                state=state,
                previous=PreviousState(prev_state, prev_sdd, prev_since if prev_susp else None)
                if prev_state
                else None,
                row_suspended_since=row_since if row_susp else None,
                reference_date=ref,
            )
            source = {None: "none", prev_since: "prev", row_since: "row", ref: "ref"}[since]
            rows.append(
                (
                    state,
                    sdd,
                    prev_state,
                    prev_sdd,
                    exceeds,
                    follow_up,
                    prev_susp,
                    row_susp,
                    decision.is_new_entrant,
                    decision.reason,
                    decision.close_follow_up_reason,
                    source,
                )
            )
        self._execute(
            f"""CREATE TEMPORARY TABLE {RULE} (state varchar(1), sdd boolean, prev_state varchar(1),
                prev_sdd boolean, exceeds boolean, follow_up boolean, prev_susp boolean, row_susp boolean,
                is_new boolean, reason varchar(200), close_reason varchar(200), susp_source varchar(4))"""
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {RULE} VALUES ({', '.join(['%s'] * 12)})", rows)  # noqa: S608
        # Suspension de plus de N mois à la date de référence r : début de suspension <= cutoff(r).
        cutoffs = []
        for (ref,) in self._fetch(f"SELECT DISTINCT ref_date FROM {STAGE} WHERE simple"):  # noqa: S608
            if isinstance(ref, str):
                ref = datetime.date.fromisoformat(ref)
            day = add_months(ref, -self.suspension_limit)
            while suspension_exceeds(day + datetime.timedelta(days=1), ref, self.suspension_limit):
                day += datetime.timedelta(days=1)
            while not suspension_exceeds(day, ref, self.suspension_limit):
                day -= datetime.timedelta(days=1)
            cutoffs.append((self._date(ref), self._date(day)))
        self._execute(f"CREATE TEMPORARY TABLE {CUTOFF} (ref_date date, cutoff date)")
        with self.connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {CUTOFF} VALUES (%s, %s)", cutoffs)  # noqa: S608
        if self.pg:
            # Sans statistiques, PostgreSQL estime à une ligne la part de la table de vérité jointe aux personnes
            # nouvelles (il y en a des dizaines) et relit alors le paquet de la table de transit une fois par ligne
            # de la règle (boucles imbriquées), au lieu d'une jointure de hachage.
            self._execute(f"ANALYZE {RULE}")
            self._execute(f"ANALYZE {CUTOFF}")

    def _date(self, value):
        return value if self.pg else self.connection.ops.adapt_datefield_value(value)

    def _now(self):
        from django.utils import timezone

        return self._datetime(timezone.now())

    def _datetime(self, value):
        return value if self.pg else self.connection.ops.adapt_datetimefield_value(value)

    def _insert_select(self, model, exprs, source, source_params=()):
        """``INSERT INTO table (…) SELECT … FROM source`` : ``exprs`` donne l'expression SQL de chaque champ ;
        les autres champs concrets reçoivent leur valeur par défaut Python (paramètres)."""
        q = self.q
        columns, values, params = [], [], []
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(q(field.column))
            expr = exprs.get(field.name)
            if isinstance(expr, tuple):  # (SQL, paramètre)
                values.append(expr[0])
                params.append(expr[1])
            elif expr is not None:
                values.append(expr)
            else:
                values.append("%s")
                default = field.get_default()
                if default is None and not field.null:
                    default = ""
                params.append(field.get_db_prep_save(default, self.connection))
        self._execute(
            f"INSERT INTO {q(model._meta.db_table)} ({', '.join(columns)}) SELECT {', '.join(values)} {source}",  # noqa: S608
            [*params, *source_params],
        )

    def _create_households(self):
        """Foyers nouveaux des lignes simples."""
        q = self.q
        dep = self.departement.pk
        now = self._now()
        household = q(Household._meta.db_table)
        self._insert_select(
            Household,
            {
                "departement": str(int(dep)),
                "organism": "n.organism_key",
                "matricule": "n.matricule",
                "created_at": ("%s", now),
                "updated_at": ("%s", now),
            },
            f"""FROM (SELECT organism_key, matricule, MIN(row_no) AS row_no FROM {STAGE}
                WHERE simple AND created AND household_id IS NULL GROUP BY organism_key, matricule) n
                ORDER BY n.row_no""",  # noqa: S608
        )
        self._execute(
            f"""UPDATE {STAGE} AS s SET household_id = h.id FROM {household} h
                WHERE s.simple AND s.created AND s.household_id IS NULL
                AND h.departement_id = %s AND h.organism = s.organism_key AND h.matricule = s.matricule""",  # noqa: S608
            [dep],
        )
        # Première ligne simple de chaque foyer : elle donne le droit du foyer (table à part, plutôt qu'une passe de
        # plus sur la table de transit).
        self._execute(f"DROP TABLE IF EXISTS {FIRST}")
        self._execute(
            f"""CREATE TEMPORARY TABLE {FIRST} AS
                SELECT MIN(row_no) AS row_no FROM {STAGE} WHERE simple GROUP BY household_id"""  # noqa: S608
        )
        self._execute(f"CREATE INDEX {FIRST}_i ON {FIRST} (row_no)")
        self._analyze()
        if self.pg:
            self._execute(f"ANALYZE {FIRST}")
        self._execute("DROP TABLE IF EXISTS intake_stage_commune")
        self._execute(
            "CREATE TEMPORARY TABLE intake_stage_commune (kind varchar(1), code varchar(5), territory_id bigint)"
        )
        communes = [("i", code, territory) for code, territory in self.communes_by_insee.items()] + [
            ("p", code, territory) for code, territory in self.communes_by_postal.items()
        ]
        if communes:
            with self.connection.cursor() as cursor:
                cursor.executemany("INSERT INTO intake_stage_commune VALUES (%s, %s, %s)", communes)

    def _create_people(self):
        """Personnes nouvelles des lignes simples du paquet (identité seule ; le droit et l'état suivent)."""
        q = self.q
        dep = self.departement.pk
        now = self._now()
        person = q(Beneficiary._meta.db_table)
        exprs = {
            "departement": str(int(dep)),
            "household": "s.household_id",
            "role": "s.role",
            "nir": "s.nir",
            "territory": """COALESCE(
                (SELECT c.territory_id FROM intake_stage_commune c WHERE c.kind = 'i' AND c.code = s.insee_code),
                (SELECT c.territory_id FROM intake_stage_commune c WHERE c.kind = 'p' AND c.code = s.postal_code))""",
            # État courant d'après le flux : pour une personne nouvelle, pas d'état précédent ni de suivi en cours
            # (la même table de vérité que pour les autres, voir _decide).
            "rsa_state": "s.right_state",
            "is_sdd": "s.sdd",
            "new_entrant_t0": (
                f"CASE WHEN u.is_new AND NOT {'TRUE' if self.initial_stock else 'FALSE'} THEN %s ELSE NULL END",
                self._date(self.batch.received_on),
            ),
            "last_flux_on": "s.ref_date",
            "suspended_since": """CASE WHEN u.susp_source = 'row' THEN s.suspended_since
                WHEN u.susp_source = 'ref' THEN s.ref_date ELSE NULL END""",
            "created_at": ("%s", now),
            "updated_at": ("%s", now),
        }
        for name in IDENTITY_FIELDS:
            value = "s.email_key" if name == "email" else f"s.{name}"
            exprs[name] = value if name in DATE_FIELDS else f"COALESCE({value}, '')"
        self._insert_select(
            Beneficiary,
            exprs,
            f"""FROM {STAGE} s JOIN {RULE} u ON u.state = s.right_state AND u.sdd = s.sdd AND u.prev_state = ''
                AND NOT u.prev_sdd AND NOT u.exceeds AND NOT u.follow_up AND NOT u.prev_susp
                AND u.row_susp = (s.suspended_since IS NOT NULL)
            WHERE s.simple AND s.created AND {self.slice} ORDER BY s.row_no""",  # noqa: S608
        )
        self._execute(
            f"""UPDATE {STAGE} AS s SET person_id = b.id FROM {person} b
                WHERE s.simple AND s.created AND s.person_id IS NULL AND {self.slice}
                AND b.departement_id = %s AND b.nir = s.nir""",  # noqa: S608
            [dep],
        )

    def _write_rights(self):
        """Droit de chaque foyer simple, d'après sa première ligne dans le fichier (``rights.collect_right``)."""
        q, same = self.q, self.same
        right = q(RsaRight._meta.db_table)
        first = f"""(SELECT s.* FROM {STAGE} s WHERE s.simple AND {self.slice}
            AND s.row_no IN (SELECT row_no FROM {FIRST}))"""  # noqa: S608
        now = self._now()
        changed = f"""(COALESCE(NULLIF(f.rsa_number, ''), r.rsa_number) <> r.rsa_number
            OR NOT (COALESCE(f.requested_on, r.requested_on) {same} r.requested_on)
            OR NOT (COALESCE(f.opened_on, r.opened_on) {same} r.opened_on)
            OR f.right_state <> r.state
            OR COALESCE(f.suspension_reason, '') <> r.suspension_reason
            OR COALESCE(f.closure_reason, '') <> r.closure_reason
            OR NOT (f.closed_on {same} r.closed_on))"""
        sets = """rsa_number = COALESCE(NULLIF(f.rsa_number, ''), r.rsa_number),
            requested_on = COALESCE(f.requested_on, r.requested_on),
            opened_on = COALESCE(f.opened_on, r.opened_on),
            state_since = CASE WHEN r.state <> f.right_state THEN f.ref_date ELSE r.state_since END,
            state = f.right_state,
            suspension_reason = COALESCE(f.suspension_reason, ''),
            closure_reason = COALESCE(f.closure_reason, ''),
            closed_on = f.closed_on,
            last_reference_date = f.ref_date"""
        where_changed = f"({changed} OR NOT (f.ref_date {same} r.last_reference_date))"
        # Deux temps : d'abord les droits dont un champ autre que la date de référence change (updated_at).
        self._execute(
            f"""UPDATE {right} AS r SET {sets}, updated_at = CASE WHEN {changed} THEN %s ELSE r.updated_at END
                FROM {first} f WHERE f.household_id = r.household_id AND {where_changed}""",  # noqa: S608
            [now],
        )
        self._insert_select(
            RsaRight,
            {
                "household": "f.household_id",
                "rsa_number": "COALESCE(f.rsa_number, '')",
                "requested_on": "f.requested_on",
                "opened_on": "f.opened_on",
                "state": "f.right_state",
                "state_since": "f.ref_date",
                "suspension_reason": "COALESCE(f.suspension_reason, '')",
                "closure_reason": "COALESCE(f.closure_reason, '')",
                "closed_on": "f.closed_on",
                "last_reference_date": "f.ref_date",
                "updated_at": ("%s", now),
            },
            f"FROM {first} f WHERE NOT EXISTS (SELECT 1 FROM {right} r WHERE r.household_id = f.household_id)",  # noqa: S608
        )

    def _decide(self):
        """Pour chaque ligne simple : l'historique à la date, l'état précédent et la décision de la règle."""
        q = self.q
        person = q(Beneficiary._meta.db_table)
        snap = q(RightSnapshot._meta.db_table)
        follow_up = q(FollowUp._meta.db_table)
        values_equal = self._snapshot_equal
        self._execute("DROP TABLE IF EXISTS intake_stage_decide")
        self._execute(
            f"""CREATE TEMPORARY TABLE intake_stage_decide AS
            SELECT s.row_no, s.person_id, s.right_state, s.sdd, s.created,
                x.id AS snap_id,
                (x.id IS NOT NULL AND {values_equal("x")}) AS snap_equal,
                (y.id IS NOT NULL AND b.rsa_state <> '' AND y.reference_date >= s.month_start
                    AND y.reference_date < s.month_end AND {values_equal("y")}) AS latest_equal,
                CASE WHEN NOT s.created AND b.last_flux_on IS NOT NULL AND b.rsa_state <> '' THEN b.rsa_state ELSE ''
                    END AS prev_state,
                (NOT s.created AND COALESCE(b.is_sdd, FALSE)) AS prev_sdd,
                (NOT s.created AND b.suspended_since IS NOT NULL AND b.suspended_since <= c.cutoff) AS exceeds,
                (u.beneficiary_id IS NOT NULL) AS follow_up,
                (NOT s.created AND b.suspended_since IS NOT NULL) AS prev_susp,
                (s.suspended_since IS NOT NULL) AS row_susp
            FROM {STAGE} s JOIN {person} b ON b.id = s.person_id JOIN {CUTOFF} c ON c.ref_date = s.ref_date
            LEFT JOIN {snap} x ON x.beneficiary_id = s.person_id AND x.reference_date = s.ref_date
            LEFT JOIN {snap} y ON y.beneficiary_id = s.person_id AND y.reference_date = b.last_flux_on
            LEFT JOIN (SELECT DISTINCT beneficiary_id FROM {follow_up} WHERE ended_on IS NULL) u
                ON u.beneficiary_id = s.person_id
            WHERE s.simple AND NOT s.same AND {self.slice}"""  # noqa: S608
        )
        # Les lignes ``same`` (voir ``match``) sont des cas A sans changement d'identité : rien à écrire.
        # Cas : A historique identique à la date (rien) ; B historique à la date modifié ; C même mois, même
        # contenu que le dernier flux (rien) ; D nouvelle situation : règle du nouvel entrant.
        self._execute("DROP TABLE IF EXISTS intake_stage_outcome")
        initial_stock = "TRUE" if self.initial_stock else "FALSE"
        self._execute(
            f"""CREATE TEMPORARY TABLE intake_stage_outcome AS
            SELECT d.row_no, d.person_id, d.created, d.snap_id, d.prev_state, d.prev_sdd, d.follow_up,
                CASE WHEN d.snap_id IS NOT NULL THEN (CASE WHEN d.snap_equal THEN 'A' ELSE 'B' END)
                     WHEN d.prev_state <> '' AND d.latest_equal THEN 'C' ELSE 'D' END AS kase,
                (u.is_new AND NOT {initial_stock}) AS is_new, u.reason, u.close_reason, u.susp_source
            FROM intake_stage_decide d
            JOIN {RULE} u ON u.state = d.right_state AND u.sdd = d.sdd AND u.prev_state = d.prev_state
                AND u.prev_sdd = d.prev_sdd AND u.exceeds = d.exceeds AND u.follow_up = d.follow_up
                AND u.prev_susp = d.prev_susp AND u.row_susp = d.row_susp"""  # noqa: S608
        )

    def _write_snapshots(self):
        q = self.q
        snap = q(RightSnapshot._meta.db_table)
        fields = [RightSnapshot._meta.get_field(name).column for name in RightSnapshot.COMPARED_FIELDS]
        source = {
            "state": "s.right_state",
            "sdd": "s.sdd",
            "cnaf_new_entrant": "s.cnaf_new_entrant",
            "activity_income": "s.activity_income",
            "requested_on": "s.requested_on",
            "opened_on": "s.opened_on",
            "suspension_reason": "COALESCE(s.suspension_reason, '')",
            "suspended_since": "s.suspended_since",
            "closure_reason": "COALESCE(s.closure_reason, '')",
            "closed_on": "s.closed_on",
        }
        exprs = [source[name] for name in RightSnapshot.COMPARED_FIELDS]
        sets = ", ".join(f"{col} = {expr}" for col, expr in zip(fields, exprs, strict=True))
        self._execute(
            f"""UPDATE {snap} AS x SET {sets}, batch_id = %s, received_on = %s
                FROM intake_stage_outcome o JOIN {STAGE} s ON s.row_no = o.row_no
                WHERE o.kase = 'B' AND x.id = o.snap_id""",  # noqa: S608
            [self.batch.pk, self._date(self.batch.received_on)],
        )
        self._execute(
            f"""INSERT INTO {snap} (beneficiary_id, batch_id, reference_date, received_on, {", ".join(fields)}, created_at)
                SELECT o.person_id, %s, s.ref_date, %s, {", ".join(exprs)}, %s
                FROM intake_stage_outcome o JOIN {STAGE} s ON s.row_no = o.row_no
                WHERE o.kase = 'D' ORDER BY s.row_no""",  # noqa: S608
            [self.batch.pk, self._date(self.batch.received_on), self._now()],
        )

    def _write_people(self):
        q, same = self.q, self.same
        person = q(Beneficiary._meta.db_table)
        received = self._date(self.batch.received_on)
        ident = []
        for name in IDENTITY_FIELDS:
            col = Beneficiary._meta.get_field(name).column
            value = "s.email_key" if name == "email" else f"s.{name}"
            if name in DATE_FIELDS:
                present = f"{value} IS NOT NULL"
            else:
                present = f"{value} IS NOT NULL AND {value} <> ''"
            ident.append((col, f"CASE WHEN {present} THEN {value} ELSE b.{col} END"))
        self._execute("DROP TABLE IF EXISTS intake_stage_people")
        self._execute(
            f"""CREATE TEMPORARY TABLE intake_stage_people AS
            SELECT o.person_id, o.row_no, o.kase, o.is_new, o.created,
                {self._ident_changed()} AS ident_changed,
                {", ".join(f"{expr} AS n_{col}" for col, expr in ident)},
                CASE WHEN o.kase IN ('B', 'D') THEN s.right_state ELSE b.rsa_state END AS n_rsa_state,
                CASE WHEN o.kase IN ('B', 'D') THEN s.sdd ELSE b.is_sdd END AS n_is_sdd,
                CASE WHEN o.kase = 'D' AND o.is_new THEN %s ELSE b.new_entrant_t0 END AS n_new_entrant_t0,
                CASE WHEN o.kase = 'D' THEN s.ref_date ELSE b.last_flux_on END AS n_last_flux_on,
                CASE WHEN o.kase <> 'D' THEN b.suspended_since
                     WHEN o.susp_source = 'prev' THEN b.suspended_since
                     WHEN o.susp_source = 'row' THEN s.suspended_since
                     WHEN o.susp_source = 'ref' THEN s.ref_date END AS n_suspended_since,
                (o.kase = 'B' OR (o.kase = 'D' AND (o.prev_state = '' OR o.prev_state <> s.right_state
                    OR o.prev_sdd <> s.sdd OR o.is_new))) AS outcome_changed
            FROM intake_stage_outcome o JOIN {STAGE} s ON s.row_no = o.row_no JOIN {person} b ON b.id = o.person_id""",  # noqa: S608
            [received],
        )
        loud = " OR ".join(
            [
                "p.ident_changed",
                f"NOT (p.n_rsa_state {same} b.rsa_state)",
                f"NOT (p.n_is_sdd {same} b.is_sdd)",
                f"NOT (p.n_new_entrant_t0 {same} b.new_entrant_t0)",
                f"NOT (p.n_suspended_since {same} b.suspended_since)",
            ]
        )
        sets = ", ".join(
            [f"{col} = p.n_{col}" for col, _ in ident]
            + [
                "rsa_state = p.n_rsa_state",
                "is_sdd = p.n_is_sdd",
                "new_entrant_t0 = p.n_new_entrant_t0",
                "last_flux_on = p.n_last_flux_on",
                "suspended_since = p.n_suspended_since",
            ]
        )
        now = self._now()
        # Les personnes créées par ce paquet ont déjà leur état ; updated_at change seulement si un champ autre que
        # la date du dernier flux change (les expressions lisent les valeurs d'avant la mise à jour).
        self._execute(
            f"""UPDATE {person} AS b SET {sets}, updated_at = CASE WHEN {loud} THEN %s ELSE b.updated_at END
                FROM intake_stage_people p
                WHERE p.person_id = b.id AND NOT p.created
                AND (({loud}) OR NOT (p.n_last_flux_on {same} b.last_flux_on))""",  # noqa: S608
            [now],
        )

    def _changed_outcomes(self, size=5000):
        """Les lignes du paquet qui donnent un événement, une clôture ou un désaccord, dans l'ordre du fichier, par
        tranches de ``size`` : une seule requête, lue par un curseur côté serveur (mémoire bornée)."""
        with self.connection.chunked_cursor() as cursor:
            cursor.execute(
                f"""SELECT o.row_no, o.person_id, s.right_state, o.prev_state, s.sdd, o.prev_sdd, o.is_new, o.reason,
                        o.close_reason, o.follow_up, s.suspension_reason, s.closure_reason, s.opened_on, s.ref_date,
                        s.cnaf_new_entrant, s.first_name, s.last_name, s.matricule, s.created
                    FROM intake_stage_outcome o JOIN {STAGE} s ON s.row_no = o.row_no
                    WHERE o.kase = 'D' AND (s.created OR o.prev_state = ''
                        OR o.prev_state <> s.right_state OR o.prev_sdd <> s.sdd OR o.is_new
                        OR (o.close_reason IS NOT NULL AND o.follow_up) OR s.cnaf_new_entrant IS NOT NULL)
                    ORDER BY o.row_no"""  # noqa: S608
            )
            while rows := cursor.fetchmany(size):
                yield rows

    def _report_and_events(self, write_events):
        rows = self._fetch(
            f"""SELECT SUM(CASE WHEN s.created THEN 1 ELSE 0 END),
                      SUM(CASE WHEN NOT s.created AND (p.ident_changed OR p.outcome_changed) THEN 1 ELSE 0 END),
                      SUM(CASE WHEN NOT s.created AND NOT (p.ident_changed OR p.outcome_changed) THEN 1 ELSE 0 END),
                      SUM(CASE WHEN p.kase = 'D' AND p.is_new THEN 1 ELSE 0 END),
                      (SELECT COUNT(*) FROM {STAGE} s WHERE s.simple AND s.same AND {self.slice})
               FROM intake_stage_people p JOIN {STAGE} s ON s.row_no = p.row_no"""  # noqa: S608
        )
        created, updated, unchanged, new_entrants, same = (int(v or 0) for v in rows[0])
        self.report.created += created
        self.report.updated += updated
        self.report.unchanged += unchanged + same
        self.report.new_entrants += new_entrants
        # Événements, désaccords avec le top CNAF et clôtures : seules les lignes concernées sont relues, par paquets.
        closings = []
        received_on = self.batch.received_on
        for chunk in self._changed_outcomes():
            events = []
            for (
                row_no,
                person_id,
                state,
                prev_state,
                sdd,
                prev_sdd,
                is_new,
                reason,
                close_reason,
                follow_up,
                suspension_reason,
                closure_reason,
                opened_on,
                ref_date,
                cnaf,
                first_name,
                last_name,
                matricule,
                created,
            ) in chunk:
                if isinstance(ref_date, str):
                    ref_date = datetime.date.fromisoformat(ref_date)
                if isinstance(opened_on, str):
                    opened_on = datetime.date.fromisoformat(opened_on)
                sdd, prev_sdd, is_new, follow_up = bool(sdd), bool(prev_sdd), bool(is_new), bool(follow_up)
                cnaf = None if cnaf is None else bool(cnaf)
                ref = SimpleNamespace(pk=person_id)
                prev_state = prev_state or None
                if created:
                    events.append(self.event(ref, EventKind.PERSON_CREATED, received_on, {}))
                if close_reason and follow_up:
                    cause = FollowUpEnd.RADIATION if state in CLOSED_STATES else FollowUpEnd.SUSPENSION
                    closings.append((ref, ref_date, close_reason, cause))
                if prev_state != state:
                    if state in CLOSED_STATES:
                        kind = EventKind.RIGHT_CLOSED
                    elif prev_state is None or prev_state in CLOSED_STATES:
                        kind = EventKind.RIGHT_OPENED
                    else:
                        kind = EventKind.RIGHT_STATE_CHANGED
                    payload = {
                        Payload.STATE: state,
                        Payload.PREVIOUS_STATE: prev_state,
                        Payload.SUSPENSION_REASON: suspension_reason,
                        Payload.CLOSURE_REASON: closure_reason,
                        Payload.OPENED_ON: opened_on,
                    }
                    events.append(self.event(ref, kind, ref_date, payload))
                previous_sdd = prev_sdd if prev_state else None
                if sdd and not previous_sdd:
                    events.append(self.event(ref, EventKind.BECAME_SDD, ref_date, {}))
                elif not sdd and previous_sdd:
                    events.append(self.event(ref, EventKind.LEFT_SDD, ref_date, {}))
                if is_new:
                    events.append(
                        self.event(
                            ref,
                            EventKind.NEW_ENTRANT,
                            received_on,
                            {
                                Payload.T0: received_on,
                                Payload.REFERENCE_DATE: ref_date,
                                Payload.REASON: reason,
                                Payload.CNAF_NEW_ENTRANT: cnaf,
                            },
                        )
                    )
                if cnaf is not None and not self.initial_stock and cnaf != is_new:
                    self.report.disagreements.append(
                        {
                            "row": row_no,
                            "person": f"{first_name or ''} {last_name or ''}".strip(),
                            "matricule": matricule,
                            "cnaf": cnaf,
                            "regle": is_new,
                            "message": (
                                f"TOPPERSENTDRODEVORSA = {int(cnaf)} mais la règle de l'annexe 4 dit "
                                f"{'nouvel entrant' if is_new else 'pas nouvel entrant'} : {reason}."
                            ),
                        }
                    )
            write_events(events)
        return closings
