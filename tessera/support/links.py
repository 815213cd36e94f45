"""Follow-up links of a ticket: `/contact/t/<public-id>#<token>`; the token never reaches a server log."""

import hashlib
import re
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils import translation

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_make() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_well_formed(token: str) -> bool:
    return bool(TOKEN.match(token or ""))


def follow_up_url(*, public_id: str, token: str, language: str) -> str:
    with translation.override(language):
        path = reverse("support:thread", kwargs={"public_id": public_id})
    return f"{settings.TESSERA_BASE_URL}{path}#{token}"
