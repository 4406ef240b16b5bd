"""Banc d'essai de la recherche de personnes : latence p50/p95 et nombre de requêtes SQL, par forme de recherche.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_copie \\
    PARCOURS_SECRET_KEY=… PARCOURS_NIR_KEY=… PARCOURS_AUDIT_KEY=… \\
        python bench/search.py [--runs 20] [--agent equipe0@banc.parcours.fr] [--realistic-people]

Mesure sur la base désignée par DATABASE_URL (une copie jetable de la base du banc de charge
``bench/load.py``, avec ses clés fixes) :

- « recherche » : la fonction des vues (``filter_beneficiaries`` sur le périmètre de l'agent), première page de
  50 personnes et nombre de résultats, comme la liste les demande ;
- « page » : la liste des personnes ``/beneficiaires/?q=…`` par le client de test de Django (agent connecté,
  DEBUG désactivé), réponse complète.

Formes mesurées : nom courant, nom saisi sans ses accents, nom et prénom, début de nom, faute de frappe,
NIR (15 chiffres) et matricule du foyer.

La base du banc de charge nomme ses personnes « Nom123 Prénom123 » (un chiffre : la recherche y verrait un
identifiant) et ne leur donne pas de NIR. ``--realistic-people`` réécrit d'abord les noms, prénoms, noms de
naissance et NIR de toutes les personnes de la base (listes de la démonstration, noms fréquents plus
fréquents, un tiers de noms composés de syllabes pour la variété ; NIR chiffrés comme par l'application) :
seulement sur une copie jetable — le banc refuse la base ``parcours_load``.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.development")
os.environ.setdefault("PARCOURS_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

PROTECTED_DATABASES = {"parcours_load"}  # base partagée du banc de charge : jamais réécrite
SYLLABLES = [
    "ba", "bel", "ber", "bou", "ca", "cha", "chau", "co", "da", "del", "dou", "fa", "fer", "fon", "ga",
    "gau", "gui", "la", "lam", "le", "li", "lou", "ma", "mar", "mo", "mou", "na", "ne", "pa", "per",
    "pi", "pou", "ra", "ré", "ri", "ro", "sa", "sé", "ta", "te", "tho", "va", "vi", "zé",
]  # fmt: skip
ENDINGS = ["ard", "aud", "et", "ier", "in", "ot", "eau", "on", "ac", "ec", "y", "ès", "oux", "ez"]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def realistic_names(seed=2026):
    """Réécrit noms et NIR de toutes les personnes (une requête) ; renvoie le nombre de personnes."""
    from django.db import connection

    from parcours.beneficiaries.fields import encrypt_nir
    from parcours.beneficiaries.nir import compute_key
    from parcours.demo import data

    name = connection.settings_dict["NAME"]
    if name in PROTECTED_DATABASES:
        raise SystemExit(f"--realistic-people refusé sur la base partagée {name} : faites-en une copie.")
    rng = random.Random(seed)
    weights = [1 / (rank + 8) for rank in range(len(data.LAST_NAMES))]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, civility FROM beneficiaries_beneficiary ORDER BY id")
        rows = cursor.fetchall()
        ids, lasts, firsts, births, nirs = [], [], [], [], []
        for index, (pk, civility) in enumerate(rows):
            if rng.random() < 0.35:
                last = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 2))) + rng.choice(ENDINGS)
                last = last.capitalize()
            else:
                last = rng.choices(data.LAST_NAMES, weights)[0]
            female = civility == "MME" or (not civility and rng.random() < 0.58)
            first = rng.choice(data.FEMALE_FIRST_NAMES if female else data.MALE_FIRST_NAMES)
            birth = rng.choices(data.LAST_NAMES, weights)[0] if female and rng.random() < 0.25 else ""
            ids.append(pk)
            lasts.append(last)
            firsts.append(first)
            births.append(birth if birth != last else "")
            body = f"{2 if female else 1}{rng.randint(60, 99)}{rng.randint(1, 12):02d}93{index // 1000:03d}{index % 1000:03d}"
            nirs.append(encrypt_nir(f"{body}{compute_key(body):02d}"))
        cursor.execute(
            "UPDATE beneficiaries_beneficiary b SET last_name = v.l, first_name = v.f, birth_name = v.n, nir = v.r "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) AS v(id, l, f, n, r) "
            "WHERE b.id = v.id",
            [ids, lasts, firsts, births, nirs],
        )
        cursor.execute("ANALYZE beneficiaries_beneficiary")
    return len(ids)


def cases(user):
    """Les recherches mesurées : (libellé, texte saisi)."""
    from parcours.beneficiaries.models import Beneficiary

    scope = Beneficiary.objects.visible_to(user)
    with_nir = scope.exclude(nir=None).order_by("pk")[1000]
    with_household = scope.exclude(household=None).select_related("household").order_by("pk")[2000]
    return [
        ("nom courant « martin »", "martin"),
        ("sans accent « lefevre »", "lefevre"),
        ("sans accent « gerard »", "gerard"),
        ("nom et prénom « martin marie »", "martin marie"),
        ("début de nom « lef »", "lef"),
        ("début de nom « du »", "du"),
        ("faute de frappe « lefebre »", "lefebre"),
        ("faute de frappe « dupnot »", "dupnot"),
        ("NIR (15 chiffres)", with_nir.nir),
        ("matricule du foyer", with_household.household.matricule),
    ]


def legacy_search(queryset, text):
    """La recherche par nom d'avant (``icontains`` sur les trois colonnes, mots en ET), pour la comparer dans
    la même exécution, sous la même charge de la machine."""
    from django.db.models import Q

    q = Q()
    for word in text.split():
        q &= Q(last_name__icontains=word) | Q(first_name__icontains=word) | Q(birth_name__icontains=word)
    return queryset.filter(q)


def measure(runs, agent_email):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from parcours.accounts.models import User
    from parcours.beneficiaries.models import Beneficiary
    from parcours.beneficiaries.queries import filter_beneficiaries, for_list, list_page

    user = User.objects.get(email=agent_email)
    client = Client()
    client.force_login(user)
    total = Beneficiary.objects.visible_to(user).count()
    print(f"Agent : {agent_email} ; {total:_} personnes dans son périmètre".replace("_", " "))
    print(
        "« avant » : l'ancienne recherche par nom (icontains), total + première page de 50 ; « recherche » : la "
        "fonction des vues, première page et total plafonné (list_page) ;\n« page » : /beneficiaires/?q=… "
        "complète. Mesures entrelacées (même charge)."
    )
    header = (
        f"{'recherche':34} {'trouvées':>9} {'avant p50':>10} {'p95':>8} {'rech. p50':>10} {'p95':>8} {'req.':>5} "
        f"{'page p50':>9} {'p95':>8} {'req.':>5}"
    )
    print(header)
    for label, text in cases(user):
        is_name = not any(c.isdigit() for c in text)

        def legacy(text=text):
            qs = for_list(legacy_search(Beneficiary.objects.visible_to(user), text))
            return qs.count(), list(qs[:50])

        def service(text=text):
            # Comme la liste : première page et total plafonné (``list_page`` : compté avec la page quand la
            # recherche classe par pertinence).
            qs = for_list(filter_beneficiaries(Beneficiary.objects.visible_to(user), text=text))
            page = list_page(qs)
            return page.count, list(page)

        def page(text=text):
            response = client.get("/beneficiaires/", {"q": text})
            assert response.status_code == 200, response.status_code
            return response

        calls = {"service": service, "page": page} | ({"legacy": legacy} if is_name else {})
        service()  # échauffement
        found = filter_beneficiaries(Beneficiary.objects.visible_to(user), text=text).count()
        for call in calls.values():
            call()
        timings = {name: [] for name in calls}
        queries = {}
        for _ in range(runs):
            for name, call in calls.items():
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    call()
                    timings[name].append((time.perf_counter() - started) * 1000)
                queries[name] = len(captured.captured_queries)
        s, p = timings["service"], timings["page"]
        before = (
            "{:>8.1f}ms {:>6.1f}ms".format(
                statistics.median(timings["legacy"]), percentile(timings["legacy"], 0.95)
            )
            if is_name
            else f"{'(inchangée)':>19}"
        )
        print(
            f"{label:34} {found:>9_} {before} {statistics.median(s):>8.1f}ms {percentile(s, 0.95):>6.1f}ms "
            f"{queries['service']:>5} {statistics.median(p):>7.1f}ms {percentile(p, 0.95):>6.1f}ms "
            f"{queries['page']:>5}".replace("_", " ")
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--agent", default="equipe0@banc.parcours.fr")
    parser.add_argument("--realistic-people", action="store_true")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("DATABASE_URL : la base à mesurer (copie de la base du banc de charge).")
    import django

    django.setup()
    print(f"Base : {urlparse(os.environ['DATABASE_URL']).path.lstrip('/')}")
    if args.realistic_people:
        started = time.perf_counter()
        count = realistic_names()
        print(
            f"Noms réécrits : {count:_} personnes en {time.perf_counter() - started:.1f} s".replace("_", " ")
        )
    measure(args.runs, args.agent)


if __name__ == "__main__":
    main()
