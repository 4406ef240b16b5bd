from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "parcours.accounts"
    label = "accounts"
    verbose_name = "Comptes et organisations"

    def ready(self):
        from . import roles  # noqa: F401  (oubli des appartenances gardées quand une appartenance change)
