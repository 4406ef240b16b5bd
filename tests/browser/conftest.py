"""Navigateur des tests de bout en bout : Chromium de Debian piloté par Playwright.

Sans Chromium (``/usr/bin/chromium``), les modules de ce dossier sont ignorés, sauf si
``PARCOURS_BROWSER_TESTS=1`` : ils échouent alors (l'intégration continue le positionne, pour que les tests
tournent vraiment). Chaque module garde sa propre marque ``skipif`` (``BROWSER_MARKS``) et son import de
Playwright, ignoré s'il manque hors intégration continue.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("PARCOURS_BROWSER_TESTS") == "1"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason="Chromium de Debian absent (/usr/bin/chromium) : `apt-get install chromium`, ou "
        "PARCOURS_BROWSER_TESTS=1 pour rendre son absence bloquante.",
    ),
    # Serveur réel (``live_server``) : base transactionnelle, le référentiel du diagnostic chargé par
    # migration est restauré après le test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        pytest.fail(f"PARCOURS_BROWSER_TESTS=1 mais Chromium est introuvable : {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # L'API synchrone de Playwright fait tourner une boucle asyncio dans ce fil : Django refuserait alors
    # l'ORM (SynchronousOnlyOperation) aux vérifications du test, qui ne sont pourtant pas asynchrones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_settings(settings):
    # Le serveur de test parle HTTP : des cookies « Secure » (réglage hors DEBUG) n'y circuleraient pas.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return settings


def new_page(browser, **context_options):
    """Un onglet dans un contexte neuf (cookies à part) ; ``page.problems`` relève les erreurs JavaScript
    et les violations de la CSP (messages d'erreur de la console)."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"{page.url} : {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"{page.url} : {e} {e.stack}"))
    return page


@pytest.fixture
def page(browser, browser_settings):
    page = new_page(browser)
    yield page
    page.context.close()
