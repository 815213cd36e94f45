"""The consent ledger: consents given, refused and withdrawn, with the exact text shown; unsubscribe links;
marketing emails, sent only with a consent in force."""

import hashlib

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from ..models import ConsentRecord, ConsentText, ProcessingLimit
from ..selectors import limit_active
from ..subjects import subject_digest
from .base import absolute

UNSUBSCRIBE_SALT = "tessera.privacy.unsubscribe"


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(str(text).split()).encode()).hexdigest()


def consent_text_archive(
    *, purpose: str, text: str, text_version: str, language: str, now=None
) -> ConsentText:
    """The archived wording of a consent text, written the first time it is used."""
    archived, _created = ConsentText.objects.get_or_create(
        purpose=purpose,
        version=text_version,
        language=language[:8],
        text_hash=text_hash(text),
        defaults={"text": str(text), "first_used_at": now or timezone.now()},
    )
    return archived


@transaction.atomic
def consent_record(
    *,
    email: str,
    purpose: str,
    text: str,
    text_version: str,
    method: str,
    context: str = "",
    user=None,
    answer: bool = True,
    language: str | None = None,
    keep_until=None,
    now=None,
) -> ConsentRecord:
    """Store one consent (or a refusal, `answer=False`) with the exact text the person saw.

    `language` is the language the text was shown in (by default the active one). Giving a marketing
    consent again is activity: the address's earlier marketing consents count from now too.
    `keep_until` deletes the entry at that moment, with the data it is about (the ledger's sweep).
    """
    now = now or timezone.now()
    email = email.strip().lower()
    shown = consent_text_archive(
        purpose=purpose,
        text=text,
        text_version=text_version,
        language=language or translation.get_language() or settings.LANGUAGE_CODE,
        now=now,
    )
    record = ConsentRecord.objects.create(
        purpose=purpose,
        email=email,
        subject_digest=subject_digest(email),
        user=user if getattr(user, "pk", None) else None,
        answer=answer,
        text_version=text_version,
        text_hash=shown.text_hash,
        shown_text=shown,
        method=method,
        context=context[:200],
        given_at=now,
        last_activity_at=now,
        keep_until=keep_until,
    )
    if purpose == ConsentRecord.Purpose.MARKETING and answer:
        ProcessingLimit.objects.filter(
            email=email, kind=ProcessingLimit.Kind.OBJECTION_MARKETING, lifted_at__isnull=True
        ).update(lifted_at=now)
        consent_activity_record(email=email, now=now)
    security_event_record(action="privacy.consent_given", email=email, data={"purpose": purpose})
    return record


@transaction.atomic
def consent_activity_record(*, email: str = "", user=None, now=None) -> int:
    """Count now as activity of this person for their marketing consents ("3 years without activity").

    Called on a sign-in and when an opt-in is confirmed again; visiting an unsubscribe page is not
    activity. Returns the number of consents refreshed.
    """
    now = now or timezone.now()
    match = Q()
    if email:
        match |= Q(subject_digest=subject_digest(email))
    if getattr(user, "pk", None):
        match |= Q(user_id=user.pk)
        if user.email:
            match |= Q(subject_digest=subject_digest(user.email))
    if not match:
        return 0
    return (
        ConsentRecord.objects.filter(match)
        .filter(purpose=ConsentRecord.Purpose.MARKETING, withdrawn_at__isnull=True, last_activity_at__lt=now)
        .update(last_activity_at=now)
    )


def _minimal_proof(now, method):
    return {"withdrawn_at": now, "withdrawal_method": method[:32], "email": "", "user": None, "context": ""}


@transaction.atomic
def consent_withdraw(*, email: str, purpose: str | None = None, method: str, now=None) -> int:
    """Withdraw consents of `email` (all purposes unless one is named); keeps only the minimal proof.

    Idempotent: withdrawing again changes nothing and returns 0.
    """
    now = now or timezone.now()
    email = email.strip().lower()
    records = ConsentRecord.objects.filter(subject_digest=subject_digest(email), withdrawn_at__isnull=True)
    if purpose:
        records = records.filter(purpose=purpose)
    count = records.update(**_minimal_proof(now, method))
    if count:
        security_event_record(
            action="privacy.consent_withdrawn",
            email=email,
            data={"purpose": purpose or "all", "count": count},
        )
    return count


def unsubscribe_token(consent: ConsentRecord) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(consent.pk))


def unsubscribe_consent(token: str) -> ConsentRecord | None:
    """The consent a token names, or None if forged; raises ConsentRecord.DoesNotExist if purged."""
    try:
        pk = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return ConsentRecord.objects.filter(pk=pk).first() or ConsentRecord(pk=pk, withdrawn_at=timezone.now())


@transaction.atomic
def consent_unsubscribe(*, consent: ConsentRecord, method: str) -> bool:
    """Withdraw one marketing consent by its unsubscribe link; True if this call withdrew it."""
    count = ConsentRecord.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
        **_minimal_proof(timezone.now(), method)
    )
    if count:
        security_event_record(
            action="privacy.unsubscribed", data={"consent": str(consent.pk), "method": method}
        )
    return bool(count)


def marketing_email_queue(*, to: str, template: str, context: dict, language: str | None = None):
    """Queue a marketing email if, and only if, the person consented and did not object since.

    Every marketing email carries a one-click unsubscribe link and the RFC 8058 headers.
    """
    email = to.strip().lower()
    consent = (
        ConsentRecord.objects.filter(
            subject_digest=subject_digest(email),
            purpose=ConsentRecord.Purpose.MARKETING,
            answer=True,
            withdrawn_at__isnull=True,
        )
        .order_by("-given_at")
        .first()
    )
    if consent is None or limit_active(email=email, kinds=[ProcessingLimit.Kind.OBJECTION_MARKETING]):
        return None
    url = absolute(reverse("privacy:unsubscribe", args=[unsubscribe_token(consent)]))
    return email_queue_template(
        to=email,
        template=template,
        context={**context, "unsubscribe_url": url},
        language=language,
        kind="marketing",
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
