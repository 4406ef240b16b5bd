"""Textes en français : accord en nombre.

En français, 0 et 1 s'accordent au singulier (« 0 ligne lue », « 1 ligne lue », « 2 lignes lues ») : c'est ce
que fait ``plural``, au lieu des « ligne(s) lue(s) » que les agents lisent mal. Dans les gabarits : le filtre
``{{ n|accord:"ligne lue,lignes lues" }}`` (``{% load parcours_text %}``).
"""


def plural_form(count, singular, plural=None):
    """La forme qui s'accorde avec ``count`` : le singulier pour 0 et 1 (règle française), sinon le pluriel
    (par défaut le singulier suivi d'un « s »)."""
    if plural is None:
        plural = singular + "s"
    try:
        many = abs(count) >= 2
    except TypeError:
        many = False
    return plural if many else singular


def _number(count):
    """« 12 345 » : séparateur des milliers français (espace insécable fine)."""
    if isinstance(count, int):
        return f"{count:,}".replace(",", "\u202f")
    return str(count)


def plural(count, singular, plural=None):
    """« 3 lignes lues », « 1 ligne lue », « 0 ligne lue » : le nombre et la forme accordée."""
    return f"{_number(count)} {plural_form(count, singular, plural)}"


def lower_first(text):
    """« Courriel » → « courriel » au milieu d'une phrase ; les sigles (« SMS », « RQTH », « CV ») restent :
    deux majuscules de suite."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
