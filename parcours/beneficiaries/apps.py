from django.apps import AppConfig


class BeneficiariesConfig(AppConfig):
    name = "parcours.beneficiaries"
    label = "beneficiaries"
    verbose_name = "Bénéficiaires"
