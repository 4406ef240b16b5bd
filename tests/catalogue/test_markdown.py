"""Présentation des services en Markdown : rendu limité à une liste de balises, sans HTML ni lien dangereux."""

import re

import pytest
from django.urls import reverse

from parcours.catalogue.markdown import ALLOWED_TAGS, plain_excerpt, render_markdown

from .conftest import make_service

ATTACKS = """# Atelier
**Gras**, *italique* et [site](https://example.org/atelier).
<script>alert("x")</script>
<img src=x onerror="alert(1)">
[piège](javascript:alert(1)) [piège 2](JaVaScRiPt:alert(1)) [données](data:text/html;base64,PHNjcmlwdD4=)
[guillemets](https://example.org/" onmouseover="alert(1))
<a href="https://example.org" onclick="alert(1)">lien brut</a>

- un
- deux
"""


def tags(html):
    return set(re.findall(r"</?([a-z0-9]+)", html))


def test_markdown_is_rendered_with_allowed_tags_only():
    html = str(render_markdown(ATTACKS))
    assert tags(html) <= ALLOWED_TAGS
    assert "<h3>Atelier</h3>" in html  # les titres passent sous le titre de la section
    assert "<strong>Gras</strong>" in html and "<em>italique</em>" in html
    assert (
        '<a href="https://example.org/atelier" rel="noopener noreferrer nofollow" target="_blank">site</a>'
        in html
    )
    assert "<li>un</li>" in html


def test_raw_html_and_dangerous_links_are_neutralised():
    html = str(render_markdown(ATTACKS)).lower()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # affiché comme du texte
    assert 'href="javascript' not in html and 'href="data:' not in html
    assert not re.search(r"<a [^>]*on\w+=", html)
    assert not re.search(r"<[a-z0-9]+ [^>]*onmouseover", html)


def test_plain_excerpt_drops_markdown_marks():
    assert (
        plain_excerpt("**Atelier** *CV* : [inscription](https://example.org)") == "Atelier CV : inscription"
    )
    assert plain_excerpt("mot " * 100, 30).endswith("…")
    assert render_markdown("") == "" and plain_excerpt(None) == ""


@pytest.mark.django_db
def test_service_page_renders_the_description_safely(client, referent):
    service = make_service(description=ATTACKS)
    client.force_login(referent)
    html = client.get(reverse("catalogue:service_detail", args=[service.pk])).content.decode()
    assert "<strong>Gras</strong>" in html
    assert '<script>alert("x")</script>' not in html
    assert 'href="javascript:' not in html.lower()
    assert "**Gras**" not in html
