"""Retrouver une personne du Département à partir de ce qu'un partenaire transmet.

Même ordre que les imports de flux : NIR, puis identifiant du Département (ou France Travail), puis
nom + prénom + date de naissance. Un NIR fourni qui ne correspond à personne n'est pas « complété » par
les autres critères s'ils désignent une personne au NIR différent : deux personnes distinctes ne sont
jamais confondues. Les personnes anonymisées (durée de conservation échue) ne sont jamais retrouvées.
"""

import unicodedata

from parcours.beneficiaries.models import Beneficiary


class PersonNotFound(Exception):
    """Personne introuvable ou ambiguë ; ``message`` en français, ``field`` = critère en cause."""

    def __init__(self, message, field=""):
        super().__init__(message)
        self.message = message
        self.field = field


def _norm(text):
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return "".join(c for c in text if c.isalnum())


class PersonFinder:
    def __init__(self, departement):
        self.departement = departement
        self.people = Beneficiary.objects.filter(departement=departement, anonymised_on__isnull=True)

    def find(
        self,
        *,
        nir=None,
        departement_id=None,
        france_travail_id=None,
        last_name=None,
        first_name=None,
        birth_date=None,
    ):
        """La personne désignée (``Beneficiary``) ; lève ``PersonNotFound`` sinon."""
        if nir:
            person = self.people.filter(nir=nir).first()
            if person is not None:
                return person

        def compatible(candidates):
            return [p for p in candidates if not (nir and p.nir and p.nir != nir)]

        for field, value, label in (
            ("departement_internal_id", departement_id, "identifiant Département"),
            ("france_travail_id", france_travail_id, "identifiant France Travail"),
        ):
            if not value:
                continue
            candidates = list(self.people.filter(**{f"{field}__iexact": value}))
            kept = compatible(candidates)
            if len(kept) == 1:
                return kept[0]
            if len(kept) > 1:
                raise PersonNotFound(
                    f"{len(kept)} personnes portent l'{label} « {value} » : rapprochement impossible.", field
                )
            if candidates:
                raise PersonNotFound(
                    f"L'{label} « {value} » désigne une personne dont le NIR est différent : à vérifier.",
                    "nir",
                )
        if last_name and first_name and birth_date:
            wanted_last, wanted_first = _norm(last_name), _norm(first_name)
            candidates = [
                p
                for p in self.people.filter(birth_date=birth_date)
                if _norm(p.first_name) == wanted_first
                and wanted_last in {_norm(p.last_name), _norm(p.birth_name)}
            ]
            kept = compatible(candidates)
            if len(kept) == 1:
                return kept[0]
            if len(kept) > 1:
                raise PersonNotFound(
                    f"{len(kept)} personnes s'appellent {first_name} {last_name}, nées le "
                    f"{birth_date:%d/%m/%Y} : précisez le NIR ou l'identifiant Département.",
                    "nom",
                )
        given = [
            label
            for label, value in (
                ("NIR", nir),
                ("identifiant Département", departement_id),
                ("identifiant France Travail", france_travail_id),
                ("nom, prénom et date de naissance", last_name and first_name and birth_date),
            )
            if value
        ]
        if not given:
            raise PersonNotFound(
                "Personne non identifiée : NIR, identifiant Département, ou nom + prénom + date de naissance "
                "attendus.",
                "nir",
            )
        first = next(
            name
            for name, value in (
                ("nir", nir),
                ("departement_internal_id", departement_id),
                ("france_travail_id", france_travail_id),
                ("nom", True),
            )
            if value
        )
        raise PersonNotFound(f"Aucune personne du Département ne correspond ({', '.join(given)}).", first)
