"""One-time links of the rights portal: the proof that a person controls an address."""

import hashlib
import secrets
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.core.ratelimit import limit_hit

from ..models import RightsLink
from ..subjects import subject_resolve
from .base import absolute, setting
from .requests import subject_holds_data

PORTAL_SALT = "tessera.privacy.portal"
PORTAL_MAX_AGE = 60 * 60
EMAILS_PER_ADDRESS = 3  # an hour


class RightsLinkError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired" or "used"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def rights_link_request(*, email: str, language: str, request=None) -> None:
    """Answer a portal request the same way whether or not the address is known.

    A known address receives a one-time link; an unknown one, an email saying no data is held. Past
    `EMAILS_PER_ADDRESS` an hour, nothing is sent, so nobody can flood someone's mailbox.
    """
    if not limit_hit(
        scope="privacy_rights_email", key=email.strip().lower(), limit=EMAILS_PER_ADDRESS, period=3600
    ).allowed:
        return
    subject = subject_resolve(email)
    known = subject_holds_data(subject)
    security_event_record(action="privacy.link_requested", email=subject.email, request=request)
    if not known:
        email_queue_template(
            to=subject.email,
            template="privacy/email/no_data",
            context={},
            language=language,
            kind="privacy_no_data",
        )
        return
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    RightsLink.objects.create(
        token_hash=token_hash(token),
        email=subject.email,
        language=language,
        created_at=now,
        expires_at=now + timedelta(hours=setting("rights_link_hours")),
    )
    with translation.override(language):
        url = absolute(reverse("privacy:rights_link", args=[token]))
    email_queue_template(
        to=subject.email,
        template="privacy/email/rights_link",
        context={"url": url, "hours": setting("rights_link_hours")},
        language=language,
        kind="privacy_rights_link",
        confidential=True,
    )


def one_time_token_find(*, model, token: str, used_field: str):
    """The row a one-time token opens, or RightsLinkError saying why it opens nothing."""
    row = model.objects.filter(token_hash=token_hash(token)).first()
    if row is None:
        raise RightsLinkError("invalid")
    if getattr(row, used_field) is not None:
        raise RightsLinkError("used")
    if row.expires_at <= timezone.now():
        raise RightsLinkError("expired")
    return row


def rights_link_check(*, token: str) -> RightsLink:
    return one_time_token_find(model=RightsLink, token=token, used_field="used_at")


@transaction.atomic
def rights_link_consume(*, token: str, request=None) -> str:
    """Spend a one-time link; returns a portal token valid one hour for this address's actions."""
    link = rights_link_check(token=token)
    if not RightsLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise RightsLinkError("used")
    security_event_record(action="privacy.link_used", email=link.email, request=request)
    return signing.dumps({"link": link.pk}, salt=PORTAL_SALT)


def portal_email(portal_token: str) -> str | None:
    try:
        value = signing.loads(portal_token, salt=PORTAL_SALT, max_age=PORTAL_MAX_AGE)
    except signing.BadSignature:
        return None
    link = RightsLink.objects.filter(pk=value.get("link"), used_at__isnull=False).first()
    return link.email if link else None
