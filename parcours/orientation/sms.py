"""Envoi de SMS : une petite interface de prestataire, choisie par le réglage ``PARCOURS_SMS_BACKEND``.

- ``ConsoleSmsBackend`` (défaut en développement) : écrit le message sur la sortie standard ;
- ``FileSmsBackend`` : ajoute une ligne JSON par message dans ``PARCOURS_SMS_FILE_PATH`` ;
- ``LocmemSmsBackend`` : garde les messages en mémoire (``sms.outbox``), pour les tests ;
- ``BrevoSmsBackend`` : API HTTP de SMS transactionnels de Brevo (clé ``PARCOURS_SMS_API_KEY``),
  appelée avec ``urllib`` (aucune dépendance).

Chaque backend renvoie un ``SmsResult`` (succès, référence du prestataire, motif d'échec) : le service
d'invitation l'enregistre comme statut de distribution.
"""

import json
import re
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

outbox = []


@dataclass
class SmsResult:
    ok: bool
    reference: str = ""
    error: str = ""


def normalise_phone(phone):
    """Numéro de mobile français au format international (+336…/+337…), ou None s'il n'en est pas un.

    Accepte 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033612345678 et les numéros d'outre-mer
    déjà au format international (+262…, +590…, +594…, +596…).
    """
    digits = re.sub(r"[^\d+]", "", phone or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"0[67]\d{8}", digits):
        return "+33" + digits[1:]
    if re.fullmatch(r"\+33[67]\d{8}", digits):
        return digits
    if re.fullmatch(r"\+(262|269|508|590|594|596|681|687|689)\d{9}", digits):
        return digits
    return None


class BaseSmsBackend:
    def send(self, to, body):  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, to, body):
        reference = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"[SMS {reference}] à {to} : {body}\n")
        return SmsResult(ok=True, reference=reference)


class FileSmsBackend(BaseSmsBackend):
    def send(self, to, body):
        path = Path(getattr(settings, "PARCOURS_SMS_FILE_PATH", settings.DATA_DIR / "sms.jsonl"))
        path.parent.mkdir(parents=True, exist_ok=True)
        reference = f"file-{uuid.uuid4().hex[:12]}"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(
                json.dumps({"reference": reference, "to": to, "body": body}, ensure_ascii=False) + "\n"
            )
        return SmsResult(ok=True, reference=reference)


class LocmemSmsBackend(BaseSmsBackend):
    def send(self, to, body):
        reference = f"locmem-{len(outbox) + 1}"
        outbox.append({"reference": reference, "to": to, "body": body})
        return SmsResult(ok=True, reference=reference)


class BrevoSmsBackend(BaseSmsBackend):
    """SMS transactionnel Brevo : ``POST /v3/transactionalSMS/sms`` (réponse ``{"messageId": …}``)."""

    url = "https://api.brevo.com/v3/transactionalSMS/sms"
    timeout = 10

    def send(self, to, body):
        api_key = getattr(settings, "PARCOURS_SMS_API_KEY", "")
        if not api_key:
            return SmsResult(ok=False, error="Clé d'API SMS absente (réglage PARCOURS_SMS_API_KEY).")
        payload = {
            "sender": getattr(settings, "PARCOURS_SMS_SENDER", "Departement")[:11],
            "recipient": to.lstrip("+"),
            "content": body,
            "type": "transactional",
        }
        url = getattr(settings, "PARCOURS_SMS_API_URL", self.url)
        if not url.startswith(("https://", "http://")):
            return SmsResult(ok=False, error=f"Adresse du prestataire SMS invalide : {url}")
        request = urllib.request.Request(  # noqa: S310 - schéma vérifié ci-dessus
            url,
            data=json.dumps(payload).encode(),
            headers={"api-key": api_key, "content-type": "application/json", "accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - URL réglée
                data = json.loads(response.read().decode() or "{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:200]
            return SmsResult(ok=False, error=f"Le prestataire SMS a refusé l'envoi ({error.code}) : {detail}")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return SmsResult(ok=False, error=f"Prestataire SMS injoignable : {error}")
        except ValueError:
            return SmsResult(ok=False, error="Réponse illisible du prestataire SMS.")
        return SmsResult(ok=True, reference=str(data.get("messageId", "")))


def get_backend():
    return import_string(settings.PARCOURS_SMS_BACKEND)()


def send_sms(to, body):
    return get_backend().send(to, body)
