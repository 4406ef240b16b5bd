"""Aide des formulaires des pages : une erreur de validation levée par un service, reportée sur le formulaire."""


def add_validation_errors(form, error):
    """Reporte ``error`` (``ValidationError`` d'un service) sur ``form`` : chaque message sous son champ quand le
    formulaire l'a, sinon en tête du formulaire."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)
