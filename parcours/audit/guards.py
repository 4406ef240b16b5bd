"""Garde du journal d'accès dans une base SQLite : les déclencheurs (migration 0003) refusent la
modification et la suppression, sauf vidage d'une base jetable en mémoire (suite de tests).

La suppression n'est permise que si la fonction ``parcours_audit_disposable()``, enregistrée par
l'application sur chacune de ses connexions, renvoie 1 : c'est le cas pour une base en mémoire seulement.
Depuis un autre programme (``sqlite3`` en ligne de commande), la fonction n'existe pas et la suppression
échoue. ``STRICT`` (tests) : refuser même en mémoire.
"""

STRICT = False
FUNCTION = "parcours_audit_disposable"


def register_sqlite_guard(sender, connection, **kwargs):
    """Reçoit ``connection_created`` : déclare la fonction de garde sur une connexion SQLite."""
    if connection.vendor != "sqlite":
        return
    disposable = connection.is_in_memory_db()
    connection.connection.create_function(
        FUNCTION, 0, lambda: int(disposable and not STRICT), deterministic=False
    )
