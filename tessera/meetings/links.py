"""Link tokens: what the server can compute, check and never keep.

- the invite token of an invitation is derived from the server key and the invitation's id, so that a
  resend or an update repeats the same link; only its SHA-256 is stored, for lookup;
- the management token is random and only its SHA-256 is stored;
- the room secret (256 bits) is born in the organiser's browser and, by default, never reaches the server
  (docs/decisions/0010): links are `#<token>`. Only for an event whose links carry the key does the
  server receive it, put it in the emails (`#<token>.<secret>`) and keep a one-way check value that
  lets it refuse a mistyped secret; it never stores the secret itself.
"""

import base64
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils import translation

ROOM_SECRET_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def room_secret_make() -> str:
    return _b64(secrets.token_bytes(ROOM_SECRET_BYTES))


def room_secret_check(secret: str) -> str:
    return hashlib.sha256(b"tessera.meetings.room-secret-check\x00" + secret.encode()).hexdigest()


def room_secret_valid(secret: str) -> bool:
    return bool(_SECRET.match(secret or ""))


def manage_token_make() -> str:
    return secrets.token_urlsafe(32)


def invite_token(invitation_public_id) -> str:
    key = hashlib.sha256(b"tessera.meetings.invite-token\x00" + settings.SECRET_KEY.encode()).digest()
    return _b64(hmac.new(key, str(invitation_public_id).encode(), hashlib.sha256).digest())


def token_well_formed(token: str) -> bool:
    return bool(_TOKEN.match(token or ""))


def split_key(key: str) -> tuple[str, str]:
    """`<token>` or `<token>.<room-secret>` as found in a fragment; ("", "") when malformed."""
    token, _, secret = (key or "").strip().lstrip("#").partition(".")
    if not token_well_formed(token) or (secret and not room_secret_valid(secret)):
        return "", ""
    return token, secret


def email_secret(event, room_secret: str) -> str:
    """The secret an event's links and emails may carry: none unless the organiser chose links with the key."""
    return room_secret if event.key_in_links and room_secret_valid(room_secret) else ""


def _fragment(token: str, room_secret: str) -> str:
    return f"#{token}.{room_secret}" if room_secret else f"#{token}"


def _absolute(name: str, language: str, **kwargs) -> str:
    with translation.override(language):
        return settings.TESSERA_BASE_URL + reverse(name, kwargs=kwargs)


def join_url(*, event, invitation, room_secret: str = "") -> str:
    base = _absolute("meetings_room:join", event.language, room_id=event.room_id)
    return base + _fragment(invite_token(invitation.public_id), room_secret)


def manage_url(*, event, manage_token: str, room_secret: str = "") -> str:
    base = _absolute("meetings:manage", event.language, public_id=event.public_id)
    return base + _fragment(manage_token, room_secret)
