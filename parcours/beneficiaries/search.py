"""Recherche des personnes par leur nom : sans accents ni casse, début de mot, fautes de frappe.

Le texte cherché est le nom d'usage, le prénom et le nom de naissance, passés par ``parcours_fold``
(minuscules sans accents, voir ``parcours.core.dbfunctions``) : « gerard » trouve « GÉRARD », « lefevre »
trouve « Lefèvre ». Sur PostgreSQL un index trigramme (GIN, ``pg_trgm``) porte exactement cette expression
(migration ``0008_search_fold_index``) : la recherche ne parcourt plus les noms de tout le Département.

Chaque mot saisi doit se retrouver dans la personne (ET entre les mots, comme avant) ; traits d'union et
apostrophes séparent les mots (« jean pierre » trouve « Jean-Pierre », « n'diaye » trouve « N’Diaye ») :

- un mot de trois lettres ou plus est cherché n'importe où dans les noms (« artin » trouve « Martin ») ;
- un mot d'une ou deux lettres, au début d'un des mots des noms (« du » trouve « Dupont » et « Zoé Dumas »,
  pas « Mendoza ») : un contenu si court ne discrimine rien et ne peut pas se servir de l'index ;
- sur PostgreSQL, un mot de quatre lettres ou plus qui ne se trouve tel quel chez aucune personne du
  périmètre est cherché avec une faute de frappe : « dupnot » trouve « Dupont », « lefebre » trouve
  « Lefebvre ». Les candidats ont un mot qui commence par les trois premières lettres du mot saisi ou finit
  par ses trois dernières (servis par l'index) et lui ressemblent assez (``word_similarity`` de ``pg_trgm``
  d'au moins ``FUZZY_THRESHOLD``). Tant qu'une personne du périmètre porte le mot exact, aucune
  approximation ne s'ajoute aux résultats.

Ordre : sur PostgreSQL, par pertinence — le mot au début des noms (le nom d'usage), puis au début d'un autre
mot (prénom, nom de naissance), puis dans un mot ou approché (ressemblance) —, puis par nom ; sur SQLite,
l'ordre de la liste. La pertinence ne suit aucun index : la base lit les personnes trouvées par l'index
trigramme (un seul parcours de la table, les mots approchés ajoutés au même parcours par leurs identifiants)
et ne trie que celles-là ; la liste compte les personnes trouvées dans la même requête
(``queries.list_page``).

Une seule requête SQL, quel que soit le nombre de mots (la décision « exact ou approché » est une
sous-requête de la même requête).
"""

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    Expression,
    F,
    FloatField,
    Func,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import StrIndex

from parcours.core.dbfunctions import FOLD_FUNCTION, fold

SHORT_WORD = 3  # en dessous : début d'un mot des noms
FUZZY_MIN_LENGTH = 4  # à partir de : fautes de frappe tolérées (PostgreSQL)
FUZZY_THRESHOLD = 0.4  # « dupnot » / « dupont » : 0,43 ; « lefebre » / « lefebvre » : 0,75
FUZZY_ANCHOR = 3  # les candidats approchés gardent les 3 premières ou les 3 dernières lettres du mot
NAME_DOC = "_search_name"  # alias de l'expression indexée dans les requêtes


class NameDocument(Func):
    """``parcours_fold(' ' || nom d'usage || ' ' || prénom || ' ' || nom de naissance || ' ')`` : l'expression de
    l'index trigramme, écrite à l'identique (les littéraux dans le gabarit, pas en paramètres) pour que
    PostgreSQL reconnaisse l'index. Bornée d'espaces : « début d'un mot » s'écrit ``LIKE '% du%'``, « fin
    d'un mot » ``LIKE '%ont %'``."""

    function = FOLD_FUNCTION
    template = "%(function)s(' ' || %(expressions)s || ' ')"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(F("last_name"), F("first_name"), F("birth_name"))


class WordSimilarity(Func):
    """``word_similarity(mot, texte)`` de ``pg_trgm`` : ressemblance du mot avec le passage le plus proche."""

    function = "word_similarity"
    output_field = FloatField()


class InArray(Expression):
    """``pk = ANY(ARRAY(sous-requête))`` : comme ``pk__in``, mais PostgreSQL calcule la sous-requête une fois et
    s'en sert comme d'une liste de valeurs d'index (combinable avec l'index trigramme dans un même parcours),
    là où ``IN (sous-requête)`` le force à joindre."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, lhs, queryset):
        super().__init__()
        self.lhs = lhs
        self.subquery = Subquery(queryset)

    def get_source_expressions(self):
        return [self.lhs, self.subquery]

    def set_source_expressions(self, exprs):
        self.lhs, self.subquery = exprs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        sub, sub_params = compiler.compile(self.subquery)
        return f"{lhs} = ANY(ARRAY{sub})", (*lhs_params, *sub_params)


def words_of(text):
    return fold(text or "").split()


def _exact_q(word):
    if len(word) < SHORT_WORD:
        return Q(**{f"{NAME_DOC}__contains": f" {word}"})
    return Q(**{f"{NAME_DOC}__contains": word})


def _fuzzy_candidates_q(word):
    """Candidats d'un mot approché : un mot des noms qui commence par ses 3 premières lettres ou finit par ses
    3 dernières (servi par l'index trigramme) ; une faute de frappe laisse presque toujours l'un des deux."""
    return Q(**{f"{NAME_DOC}__contains": f" {word[:FUZZY_ANCHOR]}"}) | Q(
        **{f"{NAME_DOC}__contains": f"{word[-FUZZY_ANCHOR:]} "}
    )


def _with_doc(queryset):
    return queryset.alias(**{NAME_DOC: NameDocument()})


def search_names(queryset, text):
    """Les personnes de ``queryset`` dont les noms contiennent chaque mot de ``text`` (voir le module)."""
    words = words_of(text)
    if not words:
        return queryset
    if connections[queryset.db].vendor != "postgresql":
        # SQLite : chaque mot tel quel (sans approximation), dans l'ordre de la liste.
        result = _with_doc(queryset)
        for word in words:
            result = result.filter(_exact_q(word))
        return result
    base = _with_doc(queryset.order_by())
    result = _with_doc(queryset)
    rank = Value(0.0, output_field=FloatField())
    # Chaque mot filtre directement la liste (index trigramme, un seul parcours de la table) ; ses personnes
    # approchées s'y ajoutent par identifiant (``pk = ANY(ARRAY(…))`` : un « OU » d'index, sans jointure).
    # Mesuré à 150 000 personnes (« lopez », territoire de 66 000 personnes, 777 trouvées) : l'ancienne
    # sous-requête de tous les identifiants relus ensuite un par un coûtait le double de lectures.
    for index, word in enumerate(words):
        exact = _exact_q(word)
        # Pertinence : 1 pour un mot au début des noms (le nom d'usage), 0,95 au début d'un autre mot ; dans un
        # mot, 0,9 (mot court) ou la ressemblance réduite, comme un mot approché (les deux ne se mêlent pas : un
        # mot n'est approché que si personne ne le porte tel quel).
        position = f"_search_position_{index}"
        result = result.alias(
            **{position: StrIndex(F(NAME_DOC), Value(f" {word}", output_field=TextField()))}
        )
        found = [When(**{position: 1}, then=Value(1.0)), When(**{f"{position}__gt": 0}, then=Value(0.95))]
        if len(word) < FUZZY_MIN_LENGTH:
            rank += Case(*found, default=Value(0.9), output_field=FloatField())
            result = result.filter(exact)
            continue
        similarity = WordSimilarity(Value(word, output_field=TextField()), F(NAME_DOC))
        approached = (
            base.filter(_fuzzy_candidates_q(word))
            .alias(_similarity=similarity)
            .filter(_similarity__gte=FUZZY_THRESHOLD)
            # Approximation seulement si personne du périmètre ne porte le mot exact (sous-requête évaluée
            # une fois : le parcours des candidats approchés n'a pas lieu sinon).
            .filter(~Exists(base.filter(exact)))
            .values("pk")
        )
        rank += Case(
            *found,
            # La ressemblance, un peu plus quand le nom d'usage commence comme le mot saisi.
            default=similarity * 0.8
            + Case(
                When(**{f"{NAME_DOC}__startswith": f" {word[:FUZZY_ANCHOR]}"}, then=Value(0.05)),
                default=Value(0.0),
                output_field=FloatField(),
            ),
            output_field=FloatField(),
        )
        result = result.filter(exact | InArray(F("pk"), approached))
    return result.alias(search_rank=rank).order_by("-search_rank", "last_name", "first_name", "pk")
