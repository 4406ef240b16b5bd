"""Tournée des rôles dans un vrai navigateur : chaque compte de démonstration ouvre ses pages, qui doivent
s'afficher (aucun 403, 404 ni 500), sans erreur JavaScript, sans violation d'accessibilité grave ou
critique (axe-core) et sans défilement horizontal sur un écran de téléphone (390 px).

Le territoire de démonstration (``parcours demo``, 150 personnes) est créé sur le serveur de test. Pour
chaque compte (``parcours.demo.territory.AGENTS`` et l'espace de la personne accompagnée), le test se
connecte par le formulaire de connexion, relève les liens du menu principal et de la page d'accueil (même
origine, hors déconnexion et téléchargements) et visite chacun, puis les liens de ces pages-là (fiche d'une
personne, file d'orientation, fiche d'un service…) et ceux d'un niveau de plus (``DEPTH``). Une page par
forme de chemin (``/imports/3/`` et ``/imports/4/`` ne comptent qu'une fois), ``MAX_PAGES`` au plus par
rôle, niveau par niveau.

Les problèmes connus, dans des pages que d'autres chantiers modifient, sont listés dans ``KNOWN`` avec leur
raison : le test échoue sur tout problème NOUVEAU. Un résumé (pages par rôle, violations axe par impact)
est affiché à la fin.

axe-core est celui que livre le paquet ``axe-playwright-python`` (licence MIT ; axe-core, MPL-2.0) : le
script est dans le paquet, aucun accès au réseau. Navigateur : ``tests/browser/conftest.py``.
"""

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment.demo import PERSON_EMAIL
from parcours.demo.territory import AGENTS
from tests.browser.conftest import BROWSER_MARKS, REQUIRED, new_page

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect
except ImportError:
    if REQUIRED:
        raise
    pytest.skip(
        "Playwright ou axe-playwright-python n'est pas installé (requirements-dev.txt)",
        allow_module_level=True,
    )

pytestmark = BROWSER_MARKS

PASSWORD = "parcours-demo-2026"  # mot de passe des comptes de démonstration
ROLES = [email for email, *_ in AGENTS] + [PERSON_EMAIL]
# Tournée de quelques rôles seulement, à la main : PARCOURS_WALK_ROLES=orientation@demo.parcours.fr,…
if os.environ.get("PARCOURS_WALK_ROLES"):
    ROLES = [role for role in ROLES if role in os.environ["PARCOURS_WALK_ROLES"].split(",")]
# Séances de l'équipe pluridisciplinaire (``/accompagnement/equipes/…`` : calendrier, séance, modification,
# nouvelle séance, convocations, synthèse) : ouvertes aux agents du Département qui conduisent les procédures
# de sanction (``TEAM_SESSION_MANAGER``) ; le chargé d'orientation de démonstration les parcourt toujours, hors
# plafond ``MAX_PAGES`` (le calendrier est une page d'entrée ; le territoire de démonstration a une séance passée
# et une à venir).
EP_ROLE = "orientation@demo.parcours.fr"
EP_PAGES = re.compile(r"/accompagnement/equipes/.*")
# Le même rôle ouvre aussi les listes d'impression en nombre (notifications d'orientation, contrats).
PRINT_LISTS = ["orientation:notification_list", "accompaniment:contract_index"]
# Pages de la mission (issues 17 à 19) que la tournée visite toujours, hors plafond, pour le rôle qui les tient :
# rendez-vous et convocations, campagnes du stock (chargé d'orientation) ; grille d'orientation, cartographie de
# l'offre, transmissions des sanctions, comités (administrateur) ; employeurs, offres et questionnaire des
# professionnels (référent).
ADMIN_ROLE = "admin@demo.parcours.fr"
REFERENT_ROLE = "referent.redon@demo.parcours.fr"
ALWAYS = {
    EP_ROLE: re.compile(
        r"/accompagnement/equipes/.*|/orientation/notifications/a-imprimer/|/accompagnement/contrats/"
        r"|/orientation/campagnes/.*|/orientation/convocations/|/rendez-vous/.*"
    ),
    ADMIN_ROLE: re.compile(
        r"/comites/.*|/orientation/grille/.*|/catalogue/cartographie/.*|/accompagnement/sanctions/transmissions/.*"
    ),
    REFERENT_ROLE: re.compile(r"/employeurs/.*|/accompagnement/questionnaire-professionnels/"),
}
# Pages d'entrée en plus de l'accueil : la personne accompagnée n'a pas de menu, son espace est là.
EXTRA_START = {
    PERSON_EMAIL: ["accompaniment:my_space"],
    EP_ROLE: [
        "accompaniment:session_list",
        *PRINT_LISTS,
        "orientation:campaign_list",
        "orientation:convocations",
        "booking:agenda",
        "booking:openings",
    ],
    ADMIN_ROLE: [
        "governance:list",
        "orientation:grid",
        "catalogue:offer_map",
        "accompaniment:sanction_transmissions",
    ],
    REFERENT_ROLE: ["employers:list", "employers:offers", "accompaniment:professional_survey"],
}
# Pages que chaque rôle doit avoir visitées (formes de chemin) : la tournée le vérifie.
MISSION_PAGES = {
    EP_ROLE: {
        "/orientation/campagnes/",
        "/orientation/campagnes/N/",
        "/orientation/convocations/",
        "/rendez-vous/agenda/",
    },
    ADMIN_ROLE: {
        "/comites/",
        "/comites/N/",
        "/comites/reunions/N/",
        "/orientation/grille/",
        "/catalogue/cartographie/",
    },
    REFERENT_ROLE: {"/employeurs/", "/employeurs/N/", "/employeurs/offres/", "/employeurs/offres/N/"},
}
# Formes de page par rôle : le test reste sous trois minutes environ (le résumé dit ce qui est « plafonné ») ;
# PARCOURS_WALK_MAX_PAGES=100 pour une tournée complète à la main.
MAX_PAGES = int(os.environ.get("PARCOURS_WALK_MAX_PAGES", "15"))
# Niveaux de liens : menu et accueil, leurs liens (fiche d'une personne…), puis un de plus (volets de la fiche).
DEPTH = 3
NARROW = 390  # largeur d'un téléphone courant (px)
WIDE = 1280
BLOCKING_IMPACTS = ("serious", "critical")
# Captures d'écran à 390 px de chaque page visitée, pour les regarder : PARCOURS_SHOTS=/un/dossier.
SHOTS = os.environ.get("PARCOURS_SHOTS")
DOWNLOAD = re.compile(r"(\.(csv|pdf|ics|xlsx|xls|zip|svg|json|ods)$)|/exports?(/|$)|/telecharger", re.I)

# Problèmes connus : (rôle ou « * », motif du chemin, problème) → raison. Le problème est l'identifiant de
# la règle axe (« color-contrast »…), ``http-403`` / ``http-404`` / ``http-500``…, ``console`` ou
# ``defilement-390``. Vide : tout problème fait échouer le test ; une entrée ajoutée ici doit dire pourquoi et
# ce qui reste à corriger.
KNOWN = {}


@dataclass
class Problem:
    role: str
    path: str
    kind: str
    detail: str

    def known(self):
        return self.known_as() is not None

    def known_as(self):
        for key in KNOWN:
            role, pattern, kind = key
            if (
                kind == self.kind
                and (role == "*" or re.fullmatch(role, self.role))
                and re.fullmatch(pattern, self.path)
            ):
                return key
        return None


def demo_month():
    return timezone.localdate().strftime("%Y-%m")


def login(page, base_url, email):
    page.goto(base_url + reverse("login"))
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def links_to_walk(page, base_url):
    """Chemins des liens du menu principal et du contenu de la page, même origine, en GET."""
    hrefs = page.eval_on_selector_all(
        "nav.fr-nav a[href], main a[href]",
        "links => links.filter(a => !a.hasAttribute('download')).map(a => a.getAttribute('href'))",
    )
    origin = urlsplit(base_url).netloc
    paths = []
    for href in hrefs:
        if href.startswith(("mailto:", "tel:", "javascript:")):
            continue
        url = urlsplit(urljoin(page.url, href))
        if url.netloc != origin or url.path.startswith(("/logout", "/deconnexion")):
            continue
        if DOWNLOAD.search(url.path) or "format=" in url.query:
            continue
        paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def shape(path):
    """Forme d'un chemin : ``/imports/3/`` et ``/imports/4/`` sont la même page pour la tournée."""
    return re.sub(r"\d+", "N", path)


# Parties chargées après la page (htmx, ``hx-trigger="load"`` : tableaux du pilotage…) : la tournée attend
# qu'elles soient arrivées et mises en place, puis deux images, le temps que les scripts de la page (conteneurs
# de tableaux qui défilent) aient vu leur taille finale, avant de passer axe.
HTMX_PENDING = '[hx-trigger="load"], .htmx-request, .htmx-settling, .htmx-swapping'


def settle(page):
    page.wait_for_function(f"() => !document.querySelector({HTMX_PENDING!r})", timeout=15_000)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def check_page(page, axe, role, target, problems, impacts, rules):
    """Ouvre ``target`` et relève ses problèmes ; renvoie les liens de la page (niveau suivant de la
    tournée), ou None si c'était un téléchargement."""
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.problems.clear()
    path = urlsplit(target).path
    try:
        response = page.goto(target, wait_until="load")
    except PlaywrightError as error:
        if "Download is starting" in str(error):
            return None
        raise
    if response is None or response.status >= 400:
        status = response.status if response else "sans réponse"
        problems.append(Problem(role, path, f"http-{status}", f"statut HTTP {status}"))
        return []
    links = links_to_walk(page, target)
    settle(page)
    results = axe.run(page).response
    for violation in results["violations"]:
        impacts[violation["impact"]] += 1
        rules[violation["impact"], violation["id"]].add(shape(path))
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            more = len(violation["nodes"]) - 3
            problems.append(
                Problem(
                    role,
                    path,
                    violation["id"],
                    f"axe {violation['impact']} : {violation['help']} — {targets}"
                    + (f" (et {more} autres)" if more > 0 else ""),
                )
            )
    page.set_viewport_size({"width": NARROW, "height": 844})
    if SHOTS:
        name = re.sub(r"[^a-z0-9]+", "-", f"{role.split('@')[0]}{path}".lower()).strip("-")
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{NARROW}.png"), full_page=True)
    width = page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth)))"
    )
    if width > NARROW:
        wide = page.evaluate(
            """limit => [...document.querySelectorAll('main *, header *, footer *')]
                .filter(e => e.getBoundingClientRect().right > limit + 1 && e.offsetParent !== null)
                .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= limit + 1)
                .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                    + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))""",
            NARROW,
        )
        problems.append(
            Problem(role, path, "defilement-390", f"largeur {width} px à {NARROW} px : {', '.join(wide)}")
        )
    for message in page.problems:
        problems.append(Problem(role, path, "console", message))
    return links


def test_every_role_walks_its_pages(live_server, browser, browser_settings, capsys):
    call_command("demo", "--beneficiaries", "150", "--months", "4", "--until", demo_month(), "--json")
    capsys.readouterr()
    base = live_server.url
    axe = Axe()
    problems = []
    walked = {}
    capped = {}
    impacts = defaultdict(Counter)
    rule_counts = defaultdict(lambda: defaultdict(set))  # rôle → (impact, règle) → formes de chemin
    for role in ROLES:
        page = new_page(browser, viewport={"width": WIDE, "height": 900})
        try:
            login(page, base, role)
            starts = [reverse("home")] + [reverse(name) for name in EXTRA_START.get(role, [])]
            queue = []
            for start in starts:
                page.goto(base + start)
                queue += [start] + links_to_walk(page, base)
            seen, next_level = {}, []
            for _level in range(DEPTH):
                for target in queue:
                    path = urlsplit(target).path
                    if shape(path) in seen:
                        continue
                    always = role in ALWAYS and ALWAYS[role].fullmatch(path)
                    if len(seen) >= MAX_PAGES and not always:
                        capped[role] = capped.get(role, 0) + 1
                        seen[shape(path)] = None  # compté une fois
                        continue
                    links = check_page(
                        page, axe, role, base + target, problems, impacts[role], rule_counts[role]
                    )
                    if links is not None:
                        seen[shape(path)] = path
                        next_level += links
                queue, next_level = next_level, []
            walked[role] = [path for path in seen.values() if path]
        finally:
            page.context.close()

    new = [p for p in problems if not p.known()]
    summary = ["", "Tournée des rôles : pages visitées et violations axe (toutes, par impact)"]
    for role in ROLES:
        counts = ", ".join(f"{impact} {n}" for impact, n in sorted(impacts[role].items())) or "aucune"
        cap = f" (plafonné : {capped[role]} de plus non visitées)" if role in capped else ""
        summary.append(f"  {role} : {len(walked.get(role, []))} pages{cap} ; axe : {counts}")
        summary.append(f"    {' '.join(walked.get(role, []))}")
    total = sum((impacts[r] for r in ROLES), Counter())
    summary.append(f"  total axe : {dict(total)} ; problèmes connus (KNOWN) : {len(problems) - len(new)}")
    rules = defaultdict(set)
    for role in ROLES:
        for key, paths in rule_counts[role].items():
            rules[key] |= paths
    summary.append(
        "  règles axe (impact règle : pages) : "
        + ("; ".join(f"{i} {r} : {' '.join(sorted(p))}" for (i, r), p in sorted(rules.items())) or "aucune")
    )
    unused = set(KNOWN) - {p.known_as() for p in problems}
    if unused:
        summary.append(f"  entrées KNOWN non rencontrées (tournée plafonnée ?) : {sorted(unused)}")
    for p in problems:
        summary.append(f"    {'connu' if p.known() else 'NOUVEAU'} {p.role} {p.path} {p.kind} : {p.detail}")
    with capsys.disabled():
        print("\n".join(summary))
    ep_pages = {shape(path) for path in walked.get(EP_ROLE, []) if EP_PAGES.fullmatch(path)}
    assert EP_ROLE not in ROLES or {"/accompagnement/equipes/", "/accompagnement/equipes/N/"} <= ep_pages, (
        f"Pages des séances de l'équipe pluridisciplinaire non visitées par {EP_ROLE} : {sorted(ep_pages)}"
    )
    for role, required in MISSION_PAGES.items():
        if role in ROLES:
            missing = required - {shape(path) for path in walked.get(role, [])}
            assert not missing, f"Pages de la mission non visitées par {role} : {sorted(missing)}"
    assert not new, "Problèmes nouveaux dans la tournée des rôles :\n" + "\n".join(
        f"- {p.role} — {p.path} — {p.kind} : {p.detail}" for p in new
    )
