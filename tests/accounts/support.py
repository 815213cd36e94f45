"""Factories and helpers shared by the accounts tests and the accounts browser tests."""

import re
import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from tessera.core import sealing
from tessera.core.models import OutboxMessage, SecurityEvent
from tests.factories import PASSWORD, UserFactory  # noqa: F401 (where the accounts tests import them)


def totp_code(secret: str, *, offset: int = 0) -> str:
    """The RFC 6238 code an authenticator app would show now (or `offset` periods away)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


SECRET_RE = re.compile(r'id="authenticator_secret">([A-Z2-7]+)<')


def totp_secret_from(html: str) -> str:
    return SECRET_RE.search(html).group(1)


def link_from(text: str, path_fragment: str) -> str:
    """The first URL in `text` whose path contains `path_fragment`."""
    for url in re.findall(r"https?://[^\s<>\"]+", text):
        if path_fragment in url:
            return url
    raise AssertionError(f"no link containing {path_fragment!r} in:\n{text}")


def emails_to(address: str, kind: str | None = None) -> list[OutboxMessage]:
    """Emails as the relay receives them: allauth's are sealed until sent, opened here in memory."""
    messages = OutboxMessage.objects.filter(recipient=address.lower()).order_by("created_at")
    if kind:
        messages = messages.filter(kind=kind)
    messages = list(messages)
    for message in messages:
        message.body_text = sealing.open_text(message.body_text)
        message.body_html = sealing.open_text(message.body_html)
    return messages


def security_actions(**filters) -> list[str]:
    return list(SecurityEvent.objects.filter(**filters).order_by("seq").values_list("action", flat=True))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)


def inline_code(html: str) -> list[str]:
    """Inline scripts, style elements and style attributes: what the strict CSP would block."""
    found = INLINE_SCRIPT.findall(html)
    found += re.findall(r"<style\b[^>]*>", html, re.I)
    found += re.findall(r"\sstyle=\"[^\"]*\"", html, re.I)
    found += re.findall(r"\son[a-z]+=\"", html, re.I)
    return found
