"""A small SHA-256 hashcash that keeps bots off public forms (the card exchange, the contact form), with no
cookie and no third party.

The page carries a signed challenge `<payload>:<signature>`; the browser finds a nonce such that
SHA-256("<challenge>:<nonce>") starts with `bits` zero bits (static/tessera/js/pow/). The server checks the
signature, the expiry, the scope (a card, the contact form), the difficulty, and that the challenge was never
used before.
"""

import hashlib
import secrets
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import SpentChallenge

SALT = "tessera.cards.pow"  # unchanged since the cards introduced it, so issued challenges stay valid


class ProofOfWorkError(Exception):
    pass


def difficulty() -> int:
    # The cards' names came first and stay honoured.
    return getattr(settings, "TESSERA_POW_BITS", getattr(settings, "TESSERA_CARDS_POW_BITS", 16))


def lifetime() -> int:
    return getattr(settings, "TESSERA_POW_SECONDS", getattr(settings, "TESSERA_CARDS_POW_SECONDS", 60 * 60))


def challenge_issue(*, scope: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    payload = {"i": secrets.token_hex(12), "s": scope, "b": difficulty(), "e": int(now) + lifetime()}
    return signing.dumps(payload, salt=SALT, compress=False)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(challenge: str) -> str:
    """What the browser's worker does; used by tests and the benchmark."""
    bits = signing.loads(challenge, salt=SALT)["b"]
    nonce = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < bits:
        nonce += 1
    return str(nonce)


def challenge_redeem(*, challenge: str, nonce: str, scope: str, now: float | None = None) -> None:
    """Accept a solved challenge once; raise ProofOfWorkError with a message otherwise.

    Call it inside the transaction that stores what the challenge protects.
    """
    now = time.time() if now is None else now
    try:
        payload = signing.loads(challenge, salt=SALT)
    except signing.BadSignature:
        raise ProofOfWorkError(_("The anti-robot check failed. Reload the page and try again.")) from None
    if payload.get("s") != scope:
        raise ProofOfWorkError(_("The anti-robot check failed. Reload the page and try again."))
    if payload.get("e", 0) < now:
        raise ProofOfWorkError(_("This form has expired. Reload the page and try again."))
    if not (nonce.isdigit() and len(nonce) <= 16):
        raise ProofOfWorkError(_("The anti-robot check failed. Reload the page and try again."))
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    if leading_zero_bits(digest) < max(int(payload.get("b", 0)), difficulty()):
        raise ProofOfWorkError(_("The anti-robot check failed. Reload the page and try again."))
    try:
        with transaction.atomic():
            SpentChallenge.objects.create(
                challenge_id=payload["i"],
                expires_at=datetime.fromtimestamp(payload["e"], tz=UTC),
            )
    except IntegrityError:
        raise ProofOfWorkError(_("This form was already sent. Reload the page to send another.")) from None


def spent_challenges_prune(*, now=None) -> int:
    return SpentChallenge.objects.filter(expires_at__lt=now or timezone.now()).delete()[0]
