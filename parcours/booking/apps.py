from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "parcours.booking"
    label = "booking"
    verbose_name = "Rendez-vous en ligne : plages d'ouverture, fermetures, réservations par lien"
