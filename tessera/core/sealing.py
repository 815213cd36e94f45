"""Encryption at rest for outbox content that must not sit readable in the database.

AES-256-GCM under a key derived from TESSERA_OUTBOX_KEY (or the secret key). Sealed values carry a
prefix, so plain and sealed rows live side by side.
"""

import base64
import hashlib
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

TEXT_PREFIX = "sealed:v1:"
BYTES_PREFIX = b"sealed:v1:"
# A link secret lives in the URL fragment, in base64url: `#<token>.<secret>`, or a token alone (16
# characters or more: links that carry no key, decision 0010), optionally after `o.` (an organiser's).
# A page anchor (`#section-2`) is shorter and stays.
_FRAGMENT = re.compile(
    r"#[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]{8,})+|#(?:o\.)?[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]{8,})*"
)
# In calendar files long lines are folded: CRLF and one space may fall anywhere inside a token.
_FOLDED_FRAGMENT = re.compile(
    rb"#[A-Za-z0-9_\-\r\n ]{8,}\.[A-Za-z0-9_\-\r\n ]{8,}(?=[^A-Za-z0-9_\-\r\n ]|$)"
    rb"|#(?:o\.)?(?:[A-Za-z0-9_-]|\r\n ){16,}(?:\.(?:[A-Za-z0-9_-]|\r\n ){8,})*"
)
REMOVED = "#…"


def _key() -> bytes:
    secret = getattr(settings, "TESSERA_OUTBOX_KEY", "") or f"tessera.outbox:{settings.SECRET_KEY}"
    return hashlib.sha256(secret.encode()).digest()


def seal_bytes(data: bytes) -> bytes:
    nonce = os.urandom(12)
    return BYTES_PREFIX + nonce + AESGCM(_key()).encrypt(nonce, data, None)


def open_bytes(data: bytes) -> bytes:
    if not data.startswith(BYTES_PREFIX):
        return data
    body = data[len(BYTES_PREFIX) :]
    return AESGCM(_key()).decrypt(body[:12], body[12:], None)


def seal_text(text: str) -> str:
    return TEXT_PREFIX + base64.b64encode(seal_bytes(text.encode())[len(BYTES_PREFIX) :]).decode()


def open_text(text: str) -> str:
    if not text.startswith(TEXT_PREFIX):
        return text
    return open_bytes(BYTES_PREFIX + base64.b64decode(text[len(TEXT_PREFIX) :])).decode()


def has_fragment_secret(text: str) -> bool:
    return bool(_FRAGMENT.search(text))


def strip_fragments(text: str) -> str:
    return _FRAGMENT.sub(REMOVED, text)


def strip_fragments_bytes(data: bytes) -> bytes:
    """Also for calendar files, whose long lines are folded with CRLF and a space."""
    return _FOLDED_FRAGMENT.sub(REMOVED.encode(), data)
