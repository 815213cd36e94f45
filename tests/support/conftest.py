import re

import pytest
from django.test import Client

from tessera.core import pow, sealing
from tessera.core.csrf import FORM_FIELD, form_token_make
from tessera.core.models import OutboxMessage
from tessera.support import services

FIELDS = {
    "first_name": "Camille",
    "last_name": "Durand",
    "phone": "06 12 34 56 78",
    "email": "camille@example.net",
    "company": "Durand SARL",
    "subject": "Un devis pour 40 cartes",
    "message": "Bonjour, combien coûtent 40 cartes NFC ?",
}


@pytest.fixture(autouse=True)
def _fast_pow(settings):
    settings.TESSERA_POW_BITS = 8


@pytest.fixture
def anonymous() -> Client:
    return Client()


def post(client, path, data=None, **extra):
    """As a browser posts from our pages: the signed form token and the same Origin."""
    return client.post(
        path, {FORM_FIELD: form_token_make(), **(data or {})}, HTTP_ORIGIN="http://testserver", **extra
    )


def solved(**overrides) -> dict:
    challenge = pow.challenge_issue(scope=services.CONTACT_SCOPE)
    return {**FIELDS, "challenge": challenge, "nonce": pow.solve(challenge), **overrides}


def sent_link(kind: str, to: str) -> tuple[str, str]:
    """(path, token) of the follow-up link in the last sealed email of `kind` to `to`."""
    message = OutboxMessage.objects.filter(kind=kind, recipient=to).order_by("-created_at").first()
    body = sealing.open_text(message.body_text) if message.confidential else message.body_text
    found = re.search(r"https?://[^/\s]+(/\S*contact/t/[^#\s]+)#(\S+)", body)
    return found.group(1), found.group(2)


@pytest.fixture
def ticket(anonymous):
    """A ticket sent through the form in French, and the token of its confirmation's link."""
    from tessera.support.models import Ticket

    assert post(anonymous, "/contact/", solved()).status_code == 200
    path, token = sent_link("support_received", FIELDS["email"])
    return Ticket.objects.get(), path, token
