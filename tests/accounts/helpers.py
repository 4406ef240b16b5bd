"""Fichiers des organisations construits à la main pour les tests."""

HEADER = "structure;type;siret;code;departement;agent_email;agent_nom;agent_prenom;role;territoire"

# SIRET valides (clé de Luhn du SIREN et du SIRET).
SIRET_DEPARTEMENT = "22350001800013"
SIRET_FT_REDON = "13000548100010"
SIRET_FT_STMALO = "13000548100028"
SIRET_CCAS = "26350234600012"
SIRET_ASSOCIATION = "41234567000019"

ROWS = [
    f"Département d'Ille-et-Vilaine;departement;{SIRET_DEPARTEMENT};35;;claire.lebihan@ille-et-vilaine.fr;"
    "Le Bihan;Claire;admin;",
    "Département d'Ille-et-Vilaine;departement;;35;;nolwenn.tanguy@ille-et-vilaine.fr;Tanguy;Nolwenn;referent;"
    "Pays de Redon",
    f"France Travail Redon;france_travail;{SIRET_FT_REDON};;35;sophie.hamon@francetravail.fr;Hamon;Sophie;"
    "referent;Pays de Redon",
    f"France Travail Saint-Malo;france_travail;{SIRET_FT_STMALO};;35;julien.riou@francetravail.fr;Riou;Julien;"
    "referent;",
    f"CCAS de Redon;ccas;{SIRET_CCAS};;35;;;;;Pays de Redon",
    "Mission locale de Bretagne romantique;mission_locale;;ML-EMERAUDE;35;maelle.jegou@ml-emeraude.fr;Jégou;"
    "Maëlle;referent;",
]


def csv_text(*rows, header=HEADER):
    return "\n".join([header, *rows]) + "\n"


def write_csv(tmp_path, *rows, header=HEADER, name="organisations.csv", bom=False, newline="\n"):
    path = tmp_path / name
    text = csv_text(*rows, header=header).replace("\n", newline)
    path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8"))
    return path
