"""Lecture du flux XML « bénéficiaires RSA » de la CNAF et de la MSA (schéma vrsb0801).

Flux mensuel (RSABEM, TYPEFLUX=M), d'instruction (RSABEI, TYPEFLUX=I) ou quotidien : un élément
``Racine`` contenant ``IdentificationFlux``, un ``InfosFoyerRSA`` par dossier RSA (foyer), puis
``TransmissionFlux``. Les fichiers sont en windows-1252 avec une déclaration XML.

- ``sniff_cnaf_xml(head)`` reconnaît le flux à son contenu ;
- ``read_cnaf_xml(path)`` lit l'en-tête tout de suite (dates du flux, type) et renvoie un ``ParsedFile``
  dont les lignes (une ``FluxRow`` par ``Personne``) sont produites **au fil de la lecture** : la mémoire
  reste constante quelle que soit la taille du fichier (150 000 personnes et plus).

Validation : chaque bloc de premier niveau (``IdentificationFlux``, chaque ``InfosFoyerRSA``,
``TransmissionFlux``) est validé contre le XSD embarqué (``data/vrsb0801.xsd``) dès qu'il est lu, avant
de produire la moindre ligne, et l'ordre des blocs sous ``Racine`` est contrôlé : c'est la validation
du document entier, en flux. On ne passe pas le schéma à ``iterparse`` : la validation en flux de
libxml2 ne donne pas de numéro de ligne et signale l'erreur après avoir rendu l'élément fautif, alors
qu'ici l'agent lit « ligne 12, dossier 034614500000000 : il manque DonneesAdministratives ».
Une erreur découverte en cours de lecture lève ``FileRejected`` pendant l'itération : le moteur
d'import travaille dans une seule transaction et annule tout.
"""

import datetime
import re
from functools import cache
from pathlib import Path

from lxml import etree

from parcours.beneficiaries.nir import NirError, normalize_nir

from ..codes import label
from ..records import FileRejected, FluxRow, Issue, ParsedFile

FORMAT = "cnaf-xml"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "vrsb0801.xsd"

ROOT_TAG = "Racine"
TOP_LEVEL_TAGS = ("IdentificationFlux", "InfosFoyerRSA", "TransmissionFlux")

_CIVILITIES = {"MR": "M", "M": "M", "MME": "MME", "MLE": "MME"}
_ROLES = {"DEM", "CJT", "ENF", "AUT"}

# Codes ACT (liste « ACT » de la CNAF, libellés dans codes.py) qui désignent une activité rémunérée,
# salariée ou non salariée : salariés (contrats, intérim, saisonniers, apprentis, contrats aidés,
# ESAT), travailleurs indépendants (ETI, auto-entrepreneurs, exploitants agricoles, marins…) et
# chômeurs exerçant une activité réduite. Les codes de chômage sans activité, maladie, études,
# retraite, absence… n'en sont pas.
PAID_ACTIVITY_CODES = frozenset(
    {
        "AAP",  # activité en entreprise adaptée
        "AEN",  # auto-entrepreneur
        "AMA",  # assistante maternelle agréée
        "AMT",  # mi-temps suite plein temps
        "ANI",  # activité partielle + chômeur non indemnisé
        "APP",  # apprenti
        "CAP",  # chômeur et activité > 55 % du smic
        "CAT",  # activité centre d'aide par le travail
        "CDA",  # chômeur abattement + activité
        "CDD",
        "CDI",
        "CDN",  # chômeur neutralisation + activité
        "CES",  # contrat emploi solidarité
        "CHA",  # chômage + activité
        "CIS",  # CIA et activité salariée (DOM)
        "CJT",  # conjoint collaborateur d'ETI
        "CSA",  # CES et salarié
        "CUI",  # contrat unique d'insertion
        "DET",  # travailleur détaché
        "ETI",  # travailleur non salarié (régime général)
        "ETS",  # étudiant salarié
        "EXP",  # travailleur non salarié agricole
        "EXS",  # exploitant agricole en CES (DOM)
        "GSA",  # gérant salarié
        "INT",  # intérim, intermittent
        "MAR",  # marin pêcheur non salarié
        "MOA",  # membre d'une communauté, en activité
        "RMA",  # contrat CI-RMA / CAV
        "SAL",  # salarié
        "TSA",  # travailleur saisonnier
        "VDI",  # vendeur à domicile
        "VRP",  # voyageur représentant placier
    }
)


@cache
def vrsb0801_schema():
    """Le schéma XSD du flux (chargé une fois par processus)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


# --------------------------------------------------------------------------------------------------
# Reconnaissance


_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")


def sniff_cnaf_xml(head: bytes) -> bool:
    """Vrai si le début du fichier ressemble au flux bénéficiaires CNAF/MSA (XML, ``Racine``,
    ``IdentificationFlux``). ``head`` : les premiers octets du fichier (quelques Ko suffisent)."""
    if not head:
        return False
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    text = text.lstrip()
    return text.startswith(b"<") and b"<Racine" in text and b"<IdentificationFlux" in text


def _declared_encoding(head):
    match = _DECLARATION.match(head[3:] if head.startswith(b"\xef\xbb\xbf") else head)
    return match.group(1).decode("ascii") if match else None


# --------------------------------------------------------------------------------------------------
# Messages d'erreur en français


_ELEMENT = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: ")


def _schema_problem(message):
    """Traduit un message de validation XSD de libxml2 en une phrase française qui nomme l'élément."""
    match = _ELEMENT.match(message)
    element = f"élément « {match.group(1)} »" if match else "élément"
    detail = (message[match.end() :] if match else message).strip()
    expected = re.search(r"Expected is(?: one of)? \( ?([^)]*?) ?\)", detail)
    expected_list = ", ".join(name.strip() for name in expected.group(1).split(",")) if expected else ""
    value = _quoted_value(detail)
    if detail.startswith("Missing child element"):
        if expected and "," in expected_list:
            return f"{element} incomplet : il manque l'un des éléments {expected_list}"
        if expected:
            return f"{element} incomplet : il manque l'élément {expected_list}"
        return f"{element} incomplet : il manque un élément obligatoire"
    if detail.startswith("This element is not expected"):
        return f"{element} inattendu à cet endroit" + (f" (attendu : {expected_list})" if expected else "")
    if "atomic type 'xs:date'" in detail:
        return f"{element} : date {value} invalide, format AAAA-MM-JJ attendu"
    if "atomic type 'xs:time'" in detail:
        return f"{element} : heure {value} invalide"
    if "atomic type 'xs:boolean'" in detail:
        return f"{element} : valeur {value} invalide, 0 ou 1 attendu"
    if "atomic type 'xs:integer'" in detail or "atomic type 'xs:decimal'" in detail:
        return f"{element} : valeur {value} invalide, nombre attendu"
    if "[facet 'maxLength']" in detail:
        limit = re.search(r"maximum length of '(\d+)'", detail)
        return f"{element} : valeur {value} trop longue" + (
            f" ({limit.group(1)} caractères au plus)" if limit else ""
        )
    if "[facet 'totalDigits']" in detail:
        limit = re.search(r"number of digits of '(\d+)'", detail)
        return f"{element} : valeur {value} trop longue" + (
            f" ({limit.group(1)} chiffres au plus)" if limit else ""
        )
    if "Character content other than whitespace is not allowed" in detail:
        return f"{element} : texte inattendu (cet élément ne contient que des éléments)"
    if "No matching global declaration" in detail:
        return f"{element} inconnu du schéma vrsb0801"
    return f"{element} : {detail.rstrip('.')}"


def _quoted_value(detail):
    match = re.search(r"'([^']*)' is not a valid value", detail) or re.search(r"The value '([^']*)'", detail)
    return f"« {match.group(1)} »" if match else "donnée"


_POSITION = re.compile(r",? line (\d+), column (\d+)\s*$")


def _line_count(path):
    lines, last = 0, b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk
    return lines + (0 if last.endswith(b"\n") else 1)


def _syntax_rejection(error, path, declared_encoding):
    message = str(getattr(error, "msg", "") or error).strip()
    line, column = getattr(error, "lineno", None) or 0, getattr(error, "offset", None)
    position = _POSITION.search(message)
    if position:  # lxml recopie la position à la fin du message
        message = message[: position.start()].strip()
        line, column = int(position.group(1)), int(position.group(2))
    where = (f"ligne {line}" + (f", colonne {column}" if column else "")) if line else "au début du fichier"
    lowered = message.lower()
    if "encoding" in lowered or "not proper utf-8" in lowered or "char 0x" in lowered:
        declared = (
            f"l'encodage qu'il déclare ({declared_encoding})"
            if declared_encoding
            else "UTF-8 (aucun encodage n'est déclaré)"
        )
        return FileRejected(
            f"Le fichier contient des octets invalides pour {declared}, {where}. "
            "Les flux CNAF sont en windows-1252 avec la déclaration "
            '<?xml version="1.0" encoding="windows-1252"?> : le fichier a sans doute été réenregistré '
            f"dans un autre encodage. (Détail technique : {message})"
        )
    if "start tag expected" in lowered or "document is empty" in lowered:
        return FileRejected(f"Le fichier n'est pas un document XML ({where}) : ce n'est pas un flux CNAF.")
    if line and line >= _line_count(path) - 1:
        return FileRejected(
            f"Le fichier XML s'arrête avant la fin du document, {where} ({message}) : il est probablement "
            "tronqué (transfert interrompu). Demandez un nouvel envoi du flux."
        )
    return FileRejected(f"Le fichier XML est mal formé, {where} : {message}.")


def _invalid(elem, matricule=None):
    errors = list(vrsb0801_schema().error_log)
    entry = errors[0] if errors else None
    text = _schema_problem(entry.message) if entry else f"bloc « {elem.tag} » non conforme"
    line = (entry.line if entry and entry.line else None) or elem.sourceline
    dossier = f", dossier matricule {matricule}" if matricule else ""
    return FileRejected(f"Flux CNAF non conforme au schéma vrsb0801, ligne {line}{dossier} : {text}.")


# --------------------------------------------------------------------------------------------------
# Valeurs


def _text(node, path):
    value = node.findtext(path)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _date(value):
    if not value:
        return None
    try:  # xsd:date peut porter un fuseau (2021-11-30Z, 2021-11-30+01:00) : on garde la date.
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _flag(value):
    if value is None:
        return None
    return value in ("1", "true")


def _join(*parts, sep=" "):
    return sep.join(part for part in parts if part)


# --------------------------------------------------------------------------------------------------
# En-tête


def _read_header(path, declared_encoding):
    """Lit ``Racine`` et ``IdentificationFlux`` (en tête du fichier) et renvoie ses valeurs."""
    try:
        with open(path, "rb") as handle:
            depth = 0
            context = etree.iterparse(
                handle, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
            )
            for event, elem in context:
                if event == "start":
                    depth += 1
                    if depth == 1 and elem.tag != ROOT_TAG:
                        raise FileRejected(
                            f"Le document XML a pour racine « {_tag_name(elem)} » (ligne {elem.sourceline}) : "
                            "ce n'est pas un flux bénéficiaires RSA de la CNAF ou de la MSA "
                            f"(racine « {ROOT_TAG} » attendue)."
                        )
                    if depth == 2 and elem.tag != "IdentificationFlux":
                        raise FileRejected(
                            f"Flux CNAF non conforme au schéma vrsb0801, ligne {elem.sourceline} : "
                            f"le flux doit commencer par le bloc « IdentificationFlux », "
                            f"pas par « {_tag_name(elem)} »."
                        )
                    continue
                depth -= 1
                if elem.tag == "IdentificationFlux" and depth == 1:
                    if not vrsb0801_schema().validate(elem):
                        raise _invalid(elem)
                    return {tag: _text(elem, tag) for tag in _HEADER_TAGS}
    except etree.XMLSyntaxError as error:
        raise _syntax_rejection(error, path, declared_encoding) from None
    raise FileRejected("Le flux CNAF ne contient pas de bloc « IdentificationFlux ».")


_HEADER_TAGS = ("APPLIEME", "NUMVERSIONAPPLIEME", "TYPEFLUX", "NATFLUX", "DTCREAFLUX", "HEUCREAFLUX", "DTREF")


def _tag_name(elem):
    tag = elem.tag
    return tag if isinstance(tag, str) else str(tag)


def _declared_counts(path):
    """Compteurs de ``TransmissionFlux`` (fin du fichier), lus sans parcourir le fichier."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    counts = {}
    for key, tag in (
        ("households_declared", b"NBTOTDOSRSATRANSM"),
        ("anomalies_declared", b"NBTOTDOSRSATRANSMANO"),
    ):
        match = re.search(rb"<" + tag + rb">\s*(\d+)\s*</", tail)
        counts[key] = int(match.group(1)) if match else None
    return counts


# --------------------------------------------------------------------------------------------------
# Lecture


def read_cnaf_xml(path) -> ParsedFile:
    """Ouvre un flux XML bénéficiaires CNAF/MSA.

    L'en-tête est lu et validé tout de suite (``FileRejected`` si le fichier est vide, n'est pas du XML,
    n'a pas la bonne racine, est mal encodé ou a un en-tête non conforme). Les lignes sont produites au
    fil de la lecture ; une non-conformité plus loin dans le fichier lève ``FileRejected`` pendant
    l'itération. ``meta`` est complété à la fin de la lecture (``households_read``, ``persons_read``).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise FileRejected(f"Fichier illisible : {error.strerror or error}.") from None
    if size == 0:
        raise FileRejected("Le fichier est vide.")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise FileRejected("Le fichier est vide (il ne contient que des espaces).")
    declared_encoding = _declared_encoding(head)

    header = _read_header(path, declared_encoding)
    created_on = _date(header["DTCREAFLUX"])
    reference_date = _date(header["DTREF"]) or created_on
    flux_type = header["TYPEFLUX"] or ""
    meta = {
        "flux_type": flux_type,
        "flux_type_label": label("TYPEFLUX", flux_type),
        "flux_nature": header["NATFLUX"],
        "application": header["APPLIEME"],
        "application_label": label("APPLIEME", header["APPLIEME"]),
        "application_version": header["NUMVERSIONAPPLIEME"],
        "created_at_time": header["HEUCREAFLUX"],
        "encoding": declared_encoding,
        **_declared_counts(path),
        "households_read": 0,
        "persons_read": 0,
    }
    kind = meta["flux_type_label"] if meta["flux_type_label"] != flux_type else f"Flux {flux_type}".strip()
    description = f"{kind} CNAF/MSA"
    if reference_date:
        description += f" au {reference_date:%d/%m/%Y}"
    if created_on:
        description += f" (créé le {created_on:%d/%m/%Y}"
        description += f" par {meta['application_label']})" if header["APPLIEME"] else ")"
    return ParsedFile(
        format=FORMAT,
        rows=_iter_rows(path, declared_encoding, reference_date, flux_type, meta),
        reference_date=reference_date,
        flux_created_on=created_on,
        description=description,
        meta=meta,
    )


def _iter_rows(path, declared_encoding, reference_date, flux_type, meta):
    schema = vrsb0801_schema()
    position = 0  # 0 : IdentificationFlux attendu ; 1 : foyers ; 2 : TransmissionFlux lu
    root = None
    try:
        with open(path, "rb") as handle:
            context = etree.iterparse(
                handle,
                events=("end",),
                tag=TOP_LEVEL_TAGS,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
            )
            for _event, elem in context:
                parent = elem.getparent()
                if parent is None or parent.getparent() is not None:
                    # Un de ces blocs imbriqué plus profond : la validation du bloc englobant le signale.
                    continue
                root = parent
                unexpected = elem.getprevious()
                if unexpected is not None:
                    # Les blocs déjà traités sont retirés de l'arbre : ce qui précède est hors schéma.
                    raise FileRejected(
                        f"Flux CNAF non conforme au schéma vrsb0801, ligne {unexpected.sourceline} : "
                        f"élément « {_tag_name(unexpected)} » inattendu sous « {ROOT_TAG} »."
                    )
                tag = elem.tag
                if position == 2 or (position == 0 and tag != "IdentificationFlux"):
                    raise FileRejected(
                        f"Flux CNAF non conforme au schéma vrsb0801, ligne {elem.sourceline} : "
                        f"bloc « {tag} » inattendu à cet endroit (ordre attendu : IdentificationFlux, "
                        "InfosFoyerRSA, TransmissionFlux)."
                    )
                if tag == "IdentificationFlux":
                    if position != 0:
                        raise FileRejected(
                            f"Flux CNAF non conforme au schéma vrsb0801, ligne {elem.sourceline} : "
                            "second bloc « IdentificationFlux »."
                        )
                    position = 1  # déjà validé par la lecture de l'en-tête
                    rows = ()
                elif tag == "InfosFoyerRSA":
                    if not schema.validate(elem):
                        raise _invalid(elem, _text(elem, "IdentificationRSA/Organisme/MATRICULE"))
                    rows = _foyer_rows(elem, reference_date, flux_type)
                    meta["households_read"] += 1
                    meta["persons_read"] += len(rows)
                else:  # TransmissionFlux
                    if not schema.validate(elem):
                        raise _invalid(elem)
                    position = 2
                    rows = ()
                elem.clear()
                parent.remove(elem)
                yield from rows
    except etree.XMLSyntaxError as error:
        raise _syntax_rejection(error, path, declared_encoding) from None
    if root is not None and len(root):
        extra = root[0]
        raise FileRejected(
            f"Flux CNAF non conforme au schéma vrsb0801, ligne {extra.sourceline} : "
            f"élément « {_tag_name(extra)} » inattendu sous « {ROOT_TAG} »."
        )
    if position != 2:
        raise FileRejected(
            "Flux CNAF non conforme au schéma vrsb0801 : le bloc final « TransmissionFlux » est absent "
            "(fichier incomplet ?)."
        )


# --------------------------------------------------------------------------------------------------
# Un foyer
#
# Le foyer a déjà été validé contre le schéma : sa structure est connue. On le parcourt bloc par bloc
# (une passe sur les enfants directs, plutôt que des recherches par chemin, dix fois plus lentes).


def _leaves(node):
    """Textes des enfants directs d'un bloc : {élément: texte sans espaces autour, ou None si vide}."""
    if node is None:
        return {}
    values = {}
    for child in node:
        text = child.text
        values[child.tag] = (text.strip() or None) if text else None
    return values


def _blocks(node, repeated=()):
    """Enfants directs d'un bloc : {élément: nœud}, ou {élément: [nœuds]} pour les blocs répétables."""
    found = {tag: [] for tag in repeated}
    for child in node:
        if child.tag in found and isinstance(found[child.tag], list):
            found[child.tag].append(child)
        else:
            found[child.tag] = child
    return found


def _opening_date(calculation_details, requested_on):
    """Date d'ouverture du droit et élément dont elle vient.

    Le flux n'a pas d'élément « date d'ouverture du droit ». Le plus proche est ``DDNATDRO`` (date de
    début de droit d'une nature de prestation) des blocs ``PrestationRSA/DetailDroitRSA/
    DetailCalculDroitRSA`` : on prend le plus ancien des natures RSA socle (NATPF RSD, RSI, RSU, RSB,
    RSJ), sinon de toute nature. ``DTORIDEMRSA`` n'est pas retenu : c'est la date d'origine de la
    demande (``ORIDEMRSA`` : demande de RSA, ou conversion d'un droit RMI/API en 2009), pas l'ouverture
    du droit actuel. Sans détail de calcul (les flux d'exemple n'en ont pas), on prend la date de
    demande ``DTDEMRSA`` : le RSA est dû à compter du mois de la demande.
    """
    socle, others = [], []
    for detail in calculation_details:
        values = _leaves(detail)
        start = _date(values.get("DDNATDRO"))
        if start:
            (socle if (values.get("NATPF") or "").startswith("RS") else others).append(start)
    if socle or others:
        return min(socle or others), "DDNATDRO"
    return requested_on, ("DTDEMRSA" if requested_on else None)


def _current_address(addresses):
    """Adresse de rang 01 (« dernière adresse ») du foyer, sinon la première donnée."""
    parsed = []
    for node in addresses:
        parts = _blocks(node)
        parsed.append((_leaves(parts.get("TroncCommunAdresse")), parts))
    parsed.sort(key=lambda item: item[0].get("RGADR") or "99")
    for common, parts in parsed:
        country = common.get("PAYS")
        if parts.get("AdresseDetailleeFrance") is not None:
            france = _leaves(parts["AdresseDetailleeFrance"])
            street = _join(france.get("NUMVOIE"), france.get("LIBTYPEVOIE"), france.get("NOMVOIE"))
            lines = _join(
                france.get("COMPLIDEADR"), france.get("COMPLADR"), street, france.get("LIEUDIST"), sep=", "
            )
            return {
                "address": lines or None,
                "postal_code": france.get("CODEPOS"),
                "city": france.get("NOMCOM"),
                # NUMCOM est le code INSEE de la commune (92044 = Levallois-Perret, code postal 92300).
                "insee_code": france.get("NUMCOM"),
                "country": country,
            }
        if parts.get("AdresseHorsFrance") is not None:
            abroad = _leaves(parts["AdresseHorsFrance"])
            lines = _join(*(abroad.get(f"LIBLIG{number}ADR") for number in range(2, 8)), sep=", ")
            return {"address": lines or None, "country": country}
    return {}


def _suspensions(situation):
    """Toutes les suspensions en cours du dossier (versement et droit)."""
    suspensions = []
    for node in situation["SuspensionVersement"]:
        values = _leaves(node)
        suspensions.append(
            {
                "kind": "versement",
                "reason": values.get("MOTISUSVERSRSA"),
                "since": _date(values.get("DDSUSVERSRSA")),
            }
        )
    for node in situation["SuspensionDroit"]:
        values = _leaves(node)
        suspensions.append(
            {
                "kind": "droit",
                "reason": values.get("MOTISUSDRORSA"),
                "since": _date(values.get("DDSUSDRORSA")),
                "group": values.get("NATGROUPFSUS"),
            }
        )
    return suspensions


def _pick_suspension(suspensions, state):
    """L'état 3 correspond à une suspension du droit, l'état 4 à une suspension du versement ; parmi
    plusieurs suspensions en cours, la plus ancienne date le début de la suspension."""
    if not suspensions:
        return None, None
    preferred = {"3": "droit", "4": "versement"}.get(state)
    pool = [item for item in suspensions if item["kind"] == preferred] or suspensions
    dated = [item for item in pool if item["since"]]
    chosen = min(dated, key=lambda item: item["since"]) if dated else pool[0]
    return chosen["reason"], chosen["since"]


def _has_paid_activity(activities, on_date):
    """Vrai si une activité rémunérée (``PAID_ACTIVITY_CODES``) couvre la date de référence."""
    if on_date is None:
        return None
    for node in activities:
        activity = _leaves(node)
        if (activity.get("ACT") or "").upper() not in PAID_ACTIVITY_CODES:
            continue
        start, end = _date(activity.get("DDACT")), _date(activity.get("DFACT"))
        if (start is None or start <= on_date) and (end is None or end >= on_date):
            return True
    return False


def _foyer_rows(foyer, reference_date, flux_type):
    """Une ``FluxRow`` par ``Personne`` du foyer (déjà validé contre le schéma)."""
    parts = _blocks(foyer, repeated=("Personne", "Anomalie"))
    identification = _blocks(parts["IdentificationRSA"])
    organisation = _leaves(identification.get("Organisme"))
    demand = _leaves(identification.get("DemandeRSA"))
    partner = _leaves(identification.get("Partenaire"))
    organism = (organisation.get("FONORG") or "").upper() or None
    matricule = organisation.get("MATRICULE")
    requested_on = _date(demand.get("DTDEMRSA"))

    benefit = _blocks(parts["PrestationRSA"])
    situation = _blocks(benefit["SituationDossierRSA"], repeated=("SuspensionVersement", "SuspensionDroit"))
    state = _leaves(situation.get("EtatDossierRSA")).get("ETATDOSRSA")
    suspensions = _suspensions(situation)
    suspension_reason, suspended_since = _pick_suspension(suspensions, state)
    end_node = situation.get("FinDroit")
    if end_node is None:
        end_node = situation.get("FinDroitMoisAnterieur")
    end = _leaves(end_node)
    refusal = situation.get("Refus")
    detail = _blocks(benefit["DetailDroitRSA"], repeated=("DetailCalculDroitRSA",))
    common = _leaves(detail.get("TroncCommunDroitRSA"))
    opened_on, opened_on_source = _opening_date(detail["DetailCalculDroitRSA"], requested_on)
    # Enfants et autres personnes à charge du foyer (facultatif, deux chiffres) : composition du foyer, avec le
    # rôle de chaque personne (``beneficiaries.household``).
    dependants = common.get("NBENFAUTCHA")
    dependants = int(dependants) if dependants and dependants.isdigit() else None

    administrative = _blocks(parts["DonneesAdministratives"], repeated=("Adresse",))
    address = _current_address(administrative["Adresse"])
    anomalies = [text for text in (_leaves(node).get("LIBANO") for node in parts["Anomalie"]) if text]

    household_extra = {
        "flux_type": flux_type,
        "numorg": organisation.get("NUMORG"),
        "department": partner.get("IDEPARTE"),
        "homeless": _flag(common.get("TOPSANSDOMFIXE")),
        "family_situation": _leaves(administrative.get("SituationFamille")).get("SITFAM"),
        "rsa_origin": common.get("ORIDEMRSA"),
        "rsa_origin_date": common.get("DTORIDEMRSA"),
        "household_sdd": _flag(common.get("TOPFOYDRODEVORSA")),
        "opened_on_source": opened_on_source,
    }
    if address.get("country") and address["country"] != "FRA":
        household_extra["country"] = address["country"]
    if len(suspensions) > 1:
        household_extra["suspensions"] = [
            {**item, "since": item["since"].isoformat() if item["since"] else None} for item in suspensions
        ]
    if refusal is not None:
        values = _leaves(refusal)
        household_extra["refusal_reason"] = values.get("MOTIREFURSA")
        household_extra["refused_on"] = values.get("DTREFURSA")
    if anomalies:
        household_extra["anomalies"] = anomalies

    rows = []
    for person in parts["Personne"]:
        line = person.sourceline
        blocks = _blocks(person, repeated=("Prestations", "Activite"))
        identity = _leaves(blocks["Identification"])
        row = FluxRow(
            row=line,
            organism=organism,
            matricule=matricule,
            rsa_number=demand.get("NUMDEMRSA"),
            requested_on=requested_on,
            opened_on=opened_on,
            civility=_CIVILITIES.get((identity.get("QUAL") or "").upper())
            or {"1": "M", "2": "MME"}.get(identity.get("SEXE") or ""),
            last_name=identity.get("NOM"),
            birth_name=identity.get("NOMNAI"),
            first_name=identity.get("PRENOM"),
            birth_date=_date(identity.get("DTNAI")),
            france_travail_id=_leaves(blocks.get("DossierPoleEmploi")).get("IDASSEDIC"),
            right_state=state,
            suspension_reason=suspension_reason,
            suspended_since=suspended_since,
            closure_reason=end.get("MOTICLORSA"),
            closed_on=_date(end.get("DTCLORSA")),
            address=address.get("address"),
            postal_code=address.get("postal_code"),
            city=address.get("city"),
            insee_code=address.get("insee_code"),
            activity_income=_has_paid_activity(blocks["Activite"], reference_date),
            household_stated=True,
            household_dependants=dependants,
            extra=dict(household_extra),
        )

        roles = {}
        for node in blocks["Prestations"]:
            values = _leaves(node)
            roles[(values.get("NATPREST") or "").upper()] = (values.get("ROLEPERS") or "").upper()
        role = roles.get("RSA")
        if not role:
            row.warnings.append(
                Issue(
                    line, "ROLEPERS", "Pas de prestation RSA pour cette personne : rôle dans le foyer inconnu"
                )
            )
        elif role in _ROLES:
            row.role = role
        else:  # RDO (responsable du dossier) ou code inconnu
            row.role = "AUT"
            row.extra["cnaf_role"] = role

        if identity.get("NIR"):
            try:
                row.nir = normalize_nir(identity["NIR"])
            except NirError as error:
                row.errors.append(Issue(line, "NIR", str(error)))
        certified = _flag(identity.get("TOPVALIEC"))
        if certified is not None:
            row.extra["nir_certified"] = certified

        if blocks.get("MontantCalculDroitRSAPersonne") is not None:
            amounts = _leaves(blocks["MontantCalculDroitRSAPersonne"])
            row.sdd = _flag(amounts.get("TOPPERSDRODEVORSA"))
            row.cnaf_new_entrant = _flag(amounts.get("TOPPERSENTDRODEVORSA"))
        else:
            # Bloc absent (enfants, personnes hors calcul) : le top « droits et devoirs » ne vaut 1 que
            # pour les personnes soumises, son absence vaut « non soumis ».
            row.sdd = False
            row.extra["sdd_flag_missing"] = True
        rows.append(row)
    return rows
