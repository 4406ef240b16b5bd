"""Présentation des services (champ ``description`` du schéma data·inclusion, en Markdown) rendue sans risque.

Le rendu passe par ``markdown-it-py`` réglé au plus juste : aucune balise HTML de la source n'est
recopiée (elle s'affiche comme du texte), seules les constructions de la liste ci-dessous sont
reconnues, et un lien ne garde son adresse que pour les protocoles ``http``, ``https``, ``mailto`` et
``tel`` (un lien ``javascript:`` ou ``data:`` reste du texte). Les balises produites sont donc
exactement celles de ``ALLOWED_TAGS``. Les titres de la source descendent sous le titre de la section
qui les contient (``#`` devient ``<h3>``).
"""

from functools import cache
from urllib.parse import urlsplit

from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

# Balises que le rendu peut produire (vérifié par les tests).
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "blockquote", "code", "hr"}
)
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
HEADING_SHIFT = 2  # « # Titre » devient un <h3> dans la page


def _validate_link(url):
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in ALLOWED_SCHEMES


def _heading_open(self, tokens, idx, options, env):
    token = tokens[idx]
    level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
    token.tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


def _heading_close(self, tokens, idx, options, env):
    return _heading_open(self, tokens, idx, options, env)


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    token.attrs = {"href": token.attrGet("href") or "", "rel": "noopener noreferrer nofollow"}
    if str(token.attrs["href"]).startswith(("http://", "https://")):
        token.attrs["target"] = "_blank"
    return self.renderToken(tokens, idx, options, env)


@cache
def _renderer():
    md = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["heading", "lheading", "list", "blockquote", "hr", "newline", "escape", "entity"])
    md.enable(["emphasis", "link", "autolink", "backticks"])
    md.validateLink = _validate_link
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("link_open", _link_open)
    return md


def render_markdown(text):
    """HTML sûr d'un texte Markdown (chaîne vide pour un texte vide)."""
    if not text or not str(text).strip():
        return ""
    return mark_safe(
        _renderer().render(str(text))
    )  # HTML de la source échappé, balises de ALLOWED_TAGS seulement


def plain_excerpt(text, length=220):
    """Extrait en texte brut (sans marques Markdown) pour les cartes de résultats."""
    if not text:
        return ""
    tokens = _renderer().parse(str(text))
    words = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or []:
                if child.type in {"text", "code_inline"}:
                    words.append(child.content)
                elif child.type in {"softbreak", "hardbreak"}:
                    words.append(" ")
            words.append(" ")
    plain = " ".join("".join(words).split())
    if len(plain) <= length:
        return plain
    return plain[: length - 1].rsplit(" ", 1)[0] + "…"
