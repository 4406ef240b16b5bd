"""Rapprochement des lignes d'un flux avec les personnes connues (un sujet de l'import, à part du moteur).

Ordre fixe : NIR, identifiant du Département, foyer (matricule) + rôle, puis adresse électronique ou téléphone
+ prénom. Deux NIR différents ne sont jamais fusionnés ; un rapprochement ambigu n'importe pas la ligne et le
dit dans le rapport.
"""

import unicodedata


def norm(text):
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(text.lower().replace("-", " ").split())


class PersonMatcher:
    """Rapproche les lignes d'un fichier ; ``warn(ligne, champ, message)`` écrit dans le rapport. Retient les
    NIR déjà vus dans le fichier (un NIR porté par deux personnes différentes est ignoré la seconde fois)."""

    def __init__(self, warn):
        self.warn = warn
        self.seen_nirs = {}  # NIR -> (ligne, prénom normalisé, date de naissance)

    def match(self, row, index, household):
        """Rapproche la ligne d'une personne connue : NIR, identifiant Département, matricule + rôle,
        puis e-mail ou téléphone + prénom. Ne fusionne jamais deux NIR différents."""
        if row.nir:
            other_row = self.seen_nirs.get(row.nir)
            first_seen = other_row is None
            if first_seen:
                self.seen_nirs[row.nir] = (row.row, norm(row.first_name), row.birth_date)
            elif other_row[1] != norm(row.first_name) and not row.contact_only:
                self.warn(
                    row.row,
                    "NIR",
                    f"NIR déjà porté par une autre personne du fichier (ligne {other_row[0]}) : NIR ignoré pour "
                    "cette ligne, rapprochement sur les autres critères.",
                )
                row.nir = None
            if row.nir:
                person = index.by_nir.get(row.nir)
                if person is not None:
                    return person, "nir"

        def compatible(person):
            return not (row.nir and person.nir and person.nir != row.nir)

        def pick(candidates, label):
            candidates = [p for p in candidates if compatible(p)]
            if len(candidates) > 1 and row.first_name:
                same_first = [p for p in candidates if norm(p.first_name) == norm(row.first_name)]
                if same_first:
                    candidates = same_first
            if len(candidates) > 1 and row.birth_date:
                same_birth = [p for p in candidates if p.birth_date == row.birth_date]
                if same_birth:
                    candidates = same_birth
            unique = {id(p): p for p in candidates}
            if len(unique) == 1:
                return next(iter(unique.values())), label
            if len(unique) > 1:
                names = ", ".join(sorted(p.full_name for p in unique.values()))
                self.warn(
                    row.row,
                    label,
                    f"Rapprochement ambigu : plusieurs personnes correspondent ({names}). Ligne non importée, "
                    "à traiter à la main.",
                )
                return None, "ambiguous"
            return None, None

        if row.departement_internal_id:
            person, how = pick(index.by_dep_id.get(row.departement_internal_id, []), "id_departement")
            if person or how:
                return person, how
        if household is not None and row.role:
            members = [p for p in index.by_household.get(id(household), []) if p.role == row.role]
            if household.pk:
                members += [p for p in index.by_household_pk.get(household.pk, []) if p.role == row.role]
            person, how = pick(members, "matricule")
            if person or how:
                return person, how
        if row.first_name and (row.email or row.phone) and not row.contact_only:
            if index.load_weak is not None:
                index.load_weak(row)
            found = []
            if row.email:
                found += index.by_email.get(row.email.lower(), [])
            if row.phone:
                found += index.by_phone.get(row.phone, [])
            found = [p for p in found if norm(p.first_name) == norm(row.first_name)]
            person, how = pick(found, "email")
            if person or how:
                return person, how
        if row.nir and not row.contact_only:
            # NIR inconnu et aucun autre critère : nouvelle personne. Si un autre critère désignait une
            # personne au NIR différent, on ne fusionne pas : on le signale.
            conflicting = [
                p
                for p in index.by_dep_id.get(row.departement_internal_id or "", [])
                + [
                    p
                    for p in (
                        index.by_household_pk.get(household.pk, []) if household and household.pk else []
                    )
                    if p.role == row.role
                ]
                if p.nir and p.nir != row.nir
            ]
            if conflicting:
                self.warn(
                    row.row,
                    "NIR",
                    f"Même identifiant que {conflicting[0].full_name} mais NIR différent : deux personnes "
                    "distinctes, une nouvelle fiche est créée.",
                )
        return None, None


def strongly_known(row, index, households):
    """La ligne désigne-t-elle déjà une personne connue par NIR, identifiant Département ou foyer + rôle ?"""
    if row.nir and row.nir in index.by_nir:
        return True
    if row.departement_internal_id and row.departement_internal_id in index.by_dep_id:
        return True
    household = households.get((row.organism or "CAF", row.matricule)) if row.matricule else None
    if household is not None and household.pk and row.role:
        return any(p.role == row.role for p in index.by_household_pk.get(household.pk, []))
    return False


class PeopleIndex:
    """Index en mémoire des personnes candidates d'un paquet (et de celles qu'il crée)."""

    def __init__(self, people):
        self.by_nir = {}
        self.by_dep_id = {}
        self.by_household = {}
        self.by_household_pk = {}
        self.by_email = {}
        self.by_phone = {}
        self.entries = {}  # id(personne) -> [(index, clé)] : pour la retirer quand ses identifiants changent
        self.load_weak = (
            None  # load_weak(ligne) : candidats par courriel ou téléphone lus en base à la demande
        )
        for person in people:
            self.add(person)

    def add(self, person):
        """Indexe la personne sous ses identifiants actuels (à appeler une fois ceux-ci posés)."""
        if person.nir:
            self.by_nir[person.nir] = person
            self._entry(person, self.by_nir, person.nir)
        if person.departement_internal_id:
            self._append(self.by_dep_id, person.departement_internal_id, person)
        if person.household_id:
            self._append(self.by_household_pk, person.household_id, person)
        elif person.household is not None:
            self._append(self.by_household, id(person.household), person)
        if person.email:
            self._append(self.by_email, person.email.lower(), person)
        if person.phone:
            self._append(self.by_phone, person.phone, person)

    def reindex(self, person):
        """Identifiants de la personne modifiés par une ligne : l'index reflète ce que la base contiendra, pour
        les lignes suivantes du paquet comme pour celles des paquets suivants (relues en base)."""
        for mapping, key in self.entries.pop(id(person), []):
            if mapping is self.by_nir:
                if mapping.get(key) is person:
                    del mapping[key]
                continue
            bucket = mapping.get(key, [])
            bucket[:] = [p for p in bucket if p is not person]
            if not bucket:
                mapping.pop(key, None)
        self.add(person)

    def _entry(self, person, mapping, key):
        self.entries.setdefault(id(person), []).append((mapping, key))

    def _append(self, mapping, key, person):
        bucket = mapping.setdefault(key, [])
        if all(p is not person for p in bucket):
            bucket.append(person)
            self._entry(person, mapping, key)
