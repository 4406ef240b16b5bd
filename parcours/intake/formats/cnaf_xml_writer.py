"""Écriture d'un flux XML « bénéficiaires RSA » CNAF/MSA (vrsb0801) à partir de dictionnaires simples.

Sert aux tests, à la démonstration et aux bancs d'essai : le fichier produit est conforme au schéma
``data/vrsb0801.xsd``, encodé en windows-1252 comme les flux réels, avec la même structure que les
exemples de carnet-de-bord. L'écriture est en flux (``foyers`` peut être un générateur) : la mémoire ne
dépend pas du nombre de foyers.

Un foyer est un ``dict`` (seules les clés marquées * sont obligatoires) ::

    {
        "organism": "CAF",                    # FONORG (CAF ou MSA)
        "numorg": "521",                      # NUMORG
        "matricule": "208956400000000",       # * MATRICULE
        "department": "052",                  # IDEPARTE (code du Département partenaire)
        "rsa_number": "01024041052",          # NUMDEMRSA
        "requested_on": date(2018, 8, 6),     # * DTDEMRSA
        "opened_on": date(2018, 8, 1),        # DDNATDRO du détail de calcul (RSA socle) ; omis si absent
        "right_state": "2",                   # ETATDOSRSA
        "suspension_reason": "06",            # MOTISUSVERSRSA / DDSUSVERSRSA (suspension du versement)
        "suspended_since": date(2021, 11, 1),
        "right_suspension_reason": "DB",      # MOTISUSDRORSA / DDSUSDRORSA (suspension du droit)
        "right_suspended_since": date(...),
        "closure_reason": "PCG",              # MOTICLORSA / DTCLORSA (FinDroit, ou FinDroitMoisAnterieur
        "closed_on": date(2021, 11, 30),      #   si right_state vaut "6")
        "refusal_reason": "PCG", "refused_on": date(...),   # MOTIREFURSA / DTREFURSA
        "homeless": False,                    # TOPSANSDOMFIXE
        "dependants": 2,                      # NBENFAUTCHA (enfants et autres personnes à charge) ; omis si None
        "origin": "DEM", "origin_date": date(...),          # ORIDEMRSA / DTORIDEMRSA
        "family_situation": "CEL",            # SITFAM
        "address": {"street_number": "25", "street_type": "RUE", "street_name": "HENRI BARBUSSE",
                    "complement": "", "building": "", "locality": "",    # COMPLIDEADR, COMPLADR, LIEUDIST
                    "insee_code": "92044", "postal_code": "92300", "city": "LEVALLOIS PERRET"},
        "anomalies": ["libellé d'anomalie", ...],            # LIBANO
        "persons": [                          # * au moins une personne
            {"role": "DEM",                   # ROLEPERS de la prestation RSA
             "civility": "MME",               # M / MME (QUAL MR / MME)
             "last_name": "BULLOCK", "birth_name": "BULLOCK", "first_name": "ETA",
             "birth_place": "GRATTON", "birth_date": date(1973, 7, 21),
             "nir": "2730799404078",          # 13 ou 15 caractères, écrit tel quel
             "france_travail_id": "1253359X", # IDASSEDIC
             "sdd": True,                     # TOPPERSDRODEVORSA (None : bloc absent)
             "cnaf_new_entrant": None,        # TOPPERSENTDRODEVORSA (None : élément absent)
             "activities": [{"code": "SAL", "start": date(2021, 11, 1), "end": None, "regime": "GE"}]},
        ],
    }

Les dates s'écrivent en ``datetime.date`` ou en texte ISO ``AAAA-MM-JJ``.
"""

import datetime
from xml.sax.saxutils import escape

ENCODING = "windows-1252"

_CIVILITY_TO_QUAL = {"M": "MR", "MR": "MR", "MME": "MME", "MLE": "MLE"}


def _date(value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _bool(value):
    return "1" if value else "0"


class _Out:
    """Petit écrivain indenté (tabulations, comme les flux de la CNAF)."""

    def __init__(self, handle):
        self.handle = handle
        self.depth = 0

    def open(self, tag):
        self.handle.write("\t" * self.depth + f"<{tag}>\n")
        self.depth += 1

    def close(self, tag):
        self.depth -= 1
        self.handle.write("\t" * self.depth + f"</{tag}>\n")

    def leaf(self, tag, value, *, required=False):
        """Élément texte ; omis si la valeur est vide, sauf s'il est obligatoire (écrit vide)."""
        text = "" if value is None else str(value)
        if not text and not required:
            return
        indent = "\t" * self.depth
        if text:
            self.handle.write(f"{indent}<{tag}>{escape(text)}</{tag}>\n")
        else:
            self.handle.write(f"{indent}<{tag} />\n")


def _write_person(out, person, foyer):
    role = person.get("role") or "DEM"
    civility = (person.get("civility") or "").upper()
    nir = person.get("nir")
    sex = person.get("sex") or ("1" if civility in ("M", "MR") else "2")
    out.open("Personne")
    out.open("Identification")
    out.leaf("QUAL", _CIVILITY_TO_QUAL.get(civility))
    out.leaf("NOM", person.get("last_name"), required=True)
    out.leaf("NOMNAI", person.get("birth_name") or person.get("last_name"), required=True)
    out.leaf("PRENOM", person.get("first_name"), required=True)
    out.leaf("NOMCOMNAI", person.get("birth_place") or "", required=True)
    out.leaf("DTNAI", _date(person["birth_date"]), required=True)
    out.leaf("TYPEDTNAI", "N")
    out.leaf("NIR", nir)
    out.leaf("TOPVALIEC", "1" if nir else None)
    out.leaf("SEXE", sex, required=True)
    out.close("Identification")
    out.open("DossierCAF")
    out.leaf("TOPRESPDOS", _bool(role == "DEM"), required=True)
    out.leaf("DDRATDOS", _date(person.get("linked_since") or foyer["requested_on"]), required=True)
    out.close("DossierCAF")
    # Deux blocs Prestations exactement (le schéma l'impose) : prestations familiales puis RSA.
    for nature in ("PFA", "RSA"):
        out.open("Prestations")
        out.leaf("NATPREST", nature, required=True)
        out.leaf("ROLEPERS", role, required=True)
        out.leaf("TOPCHAPERS", _bool(nature == "RSA"), required=True)
        out.close("Prestations")
    if person.get("france_travail_id"):
        out.open("DossierPoleEmploi")
        out.leaf("IDASSEDIC", person["france_travail_id"])
        out.close("DossierPoleEmploi")
    if person.get("sdd") is not None:
        out.open("MontantCalculDroitRSAPersonne")
        out.leaf("TOPPERSDRODEVORSA", _bool(person["sdd"]), required=True)
        if person.get("cnaf_new_entrant") is not None:
            out.leaf("TOPPERSENTDRODEVORSA", _bool(person["cnaf_new_entrant"]))
        out.close("MontantCalculDroitRSAPersonne")
    for activity in person.get("activities") or ():
        out.open("Activite")
        out.leaf("REG", activity.get("regime") or "GE")
        out.leaf("ACT", activity["code"], required=True)
        out.leaf("DDACT", _date(activity["start"]), required=True)
        out.leaf("DFACT", _date(activity.get("end")))
        out.close("Activite")
    out.close("Personne")


def _write_foyer(out, foyer):
    persons = foyer.get("persons") or []
    if not persons:
        raise ValueError(f"foyer {foyer.get('matricule')} sans personne")
    requested_on = _date(foyer["requested_on"])
    out.open("InfosFoyerRSA")
    out.open("IdentificationRSA")
    out.open("Organisme")
    out.leaf("FONORG", foyer.get("organism") or "CAF", required=True)
    out.leaf("NUMORG", foyer.get("numorg") or "000", required=True)
    out.leaf("MATRICULE", foyer["matricule"], required=True)
    out.close("Organisme")
    out.open("Partenaire")
    out.leaf("TYPEPARTE", foyer.get("partner_type") or "CG", required=True)
    out.leaf("IDEPARTE", foyer.get("department") or "000", required=True)
    out.close("Partenaire")
    out.open("DemandeRSA")
    out.leaf("DTDEMRSA", requested_on, required=True)
    out.leaf("NUMDEMRSA", foyer.get("rsa_number") or str(foyer["matricule"])[-11:], required=True)
    out.close("DemandeRSA")
    out.close("IdentificationRSA")
    for person in persons:
        _write_person(out, person, foyer)

    address = foyer.get("address") or {}
    out.open("DonneesAdministratives")
    out.open("SituationFamille")
    out.leaf("SITFAM", foyer.get("family_situation") or "CEL", required=True)
    out.leaf("DDSITFAM", _date(foyer.get("family_situation_since")) or requested_on, required=True)
    out.close("SituationFamille")
    out.open("Adresse")
    out.open("TroncCommunAdresse")
    out.leaf("RGADR", "01", required=True)
    out.leaf("DTEMM", _date(address.get("moved_in_on")))
    out.leaf("PAYS", "FRA", required=True)
    out.leaf("TYPEADR", "D", required=True)
    out.leaf("ETATADR", "CO", required=True)
    out.close("TroncCommunAdresse")
    if address:
        out.open("AdresseDetailleeFrance")
        out.leaf("COMPLIDEADR", address.get("complement"), required=True)
        out.leaf("COMPLADR", address.get("building"), required=True)
        out.leaf("NUMVOIE", address.get("street_number"), required=True)
        out.leaf("LIBTYPEVOIE", address.get("street_type"), required=True)
        out.leaf("NOMVOIE", address.get("street_name"), required=True)
        out.leaf("LIEUDIST", address.get("locality"), required=True)
        out.leaf("NUMCOM", address.get("insee_code"), required=True)
        out.leaf("CODEPOS", address.get("postal_code") or "00000", required=True)
        out.leaf("NOMCOM", address.get("city"), required=True)
        out.close("AdresseDetailleeFrance")
    out.close("Adresse")
    out.close("DonneesAdministratives")

    state = str(foyer.get("right_state") or "2")
    out.open("PrestationRSA")
    out.open("SituationDossierRSA")
    out.open("EtatDossierRSA")
    out.leaf("ETATDOSRSA", state, required=True)
    out.close("EtatDossierRSA")
    if foyer.get("refusal_reason"):
        out.open("Refus")
        out.leaf("DTREFURSA", _date(foyer.get("refused_on")) or requested_on, required=True)
        out.leaf("MOTIREFURSA", foyer["refusal_reason"], required=True)
        out.close("Refus")
    if foyer.get("right_suspension_reason"):
        out.open("SuspensionDroit")
        out.leaf("MOTISUSDRORSA", foyer["right_suspension_reason"], required=True)
        out.leaf("DDSUSDRORSA", _date(foyer.get("right_suspended_since")) or requested_on, required=True)
        out.close("SuspensionDroit")
    if foyer.get("suspension_reason"):
        out.open("SuspensionVersement")
        out.leaf("MOTISUSVERSRSA", foyer["suspension_reason"], required=True)
        out.leaf("DDSUSVERSRSA", _date(foyer.get("suspended_since")) or requested_on, required=True)
        out.close("SuspensionVersement")
    if foyer.get("closure_reason"):
        block = "FinDroitMoisAnterieur" if state == "6" else "FinDroit"
        out.open(block)
        out.leaf("MOTICLORSA", foyer["closure_reason"], required=True)
        out.leaf("DTCLORSA", _date(foyer.get("closed_on")) or requested_on, required=True)
        out.close(block)
    out.close("SituationDossierRSA")
    out.open("DetailDroitRSA")
    out.open("TroncCommunDroitRSA")
    out.leaf("TOPSANSDOMFIXE", _bool(foyer.get("homeless")), required=True)
    dependants = foyer.get("dependants")
    out.leaf("NBENFAUTCHA", None if dependants is None else str(int(dependants)))
    out.leaf("ORIDEMRSA", foyer.get("origin") or "DEM", required=True)
    out.leaf("DTORIDEMRSA", _date(foyer.get("origin_date")))
    out.close("TroncCommunDroitRSA")
    if foyer.get("opened_on"):
        out.open("DetailCalculDroitRSA")
        out.leaf("NATPF", "RSD", required=True)
        out.leaf("SOUSNATPF", "RSDN2", required=True)
        out.leaf("DDNATDRO", _date(foyer["opened_on"]), required=True)
        out.close("DetailCalculDroitRSA")
    out.close("DetailDroitRSA")
    out.close("PrestationRSA")
    for anomaly in foyer.get("anomalies") or ():
        out.open("Anomalie")
        out.leaf("LIBANO", anomaly, required=True)
        out.close("Anomalie")
    out.close("InfosFoyerRSA")


def write_cnaf_xml(
    path, foyers, *, dtref, dtcreaflux, typeflux="M", natflux="D", application="CRI", version="6200"
):
    """Écrit le flux dans ``path`` (windows-1252) et renvoie le nombre de foyers écrits.

    ``foyers`` : itérable de dictionnaires décrits en tête de module, consommé au fil de l'écriture.
    Les caractères hors windows-1252 sont écrits en références de caractère XML (``&#...;``).
    """
    count = 0
    with open(path, "w", encoding=ENCODING, errors="xmlcharrefreplace", newline="\n") as handle:
        handle.write(f'<?xml version="1.0" encoding="{ENCODING}"?>\n')
        handle.write('<Racine xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n')
        out = _Out(handle)
        out.depth = 1
        out.open("IdentificationFlux")
        out.leaf("APPLIEME", application, required=True)
        out.leaf("NUMVERSIONAPPLIEME", version, required=True)
        out.leaf("TYPEFLUX", typeflux, required=True)
        out.leaf("NATFLUX", natflux, required=True)
        out.leaf("DTCREAFLUX", _date(dtcreaflux), required=True)
        out.leaf("HEUCREAFLUX", "01:00:00.0000", required=True)
        out.leaf("DTREF", _date(dtref), required=True)
        out.close("IdentificationFlux")
        for foyer in foyers:
            _write_foyer(out, foyer)
            count += 1
        out.open("TransmissionFlux")
        out.leaf("NBTOTDOSRSATRANSM", f"{count:08d}", required=True)
        out.leaf("NBTOTDOSRSATRANSMANO", "00000000", required=True)
        out.close("TransmissionFlux")
        handle.write("</Racine>\n")
    return count
