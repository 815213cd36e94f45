"""Writes of the privacy core: consent, restrictions, rights requests, one-time links, incidents."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import get_random_string

from tessera.core.audit import security_event_record, security_log_shred
from tessera.core.models import OutboxMessage
from tessera.core.outbox import email_queue_template

from .models import (
    ConsentRecord,
    PostMortemDirective,
    ProcessingLimit,
    RightsLink,
    RightsRequest,
)
from .register import Subject, registry

UNSUBSCRIBE_SALT = "tessera.privacy.unsubscribe"
PORTAL_SALT = "tessera.privacy.portal"
PORTAL_MAX_AGE = 60 * 60
# Emails about a person's own rights are never held by a restriction: they are the answer.
UNHELD_KINDS_PREFIX = "privacy_"


def _setting(name):
    return settings.TESSERA_PRIVACY[name]


def subject_digest(email: str) -> str:
    """A keyed hash of an address: proves a record concerned it without keeping the address."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"privacy-subject:{email.strip().lower()}".encode(), hashlib.sha256
    ).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(str(text).split()).encode()).hexdigest()


def absolute(path: str) -> str:
    return settings.TESSERA_BASE_URL + path


# --- Consent ledger -------------------------------------------------------------------------------


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
    now=None,
) -> ConsentRecord:
    """Store one consent (or a refusal, `answer=False`) with the exact text the person saw."""
    now = now or timezone.now()
    email = email.strip().lower()
    record = ConsentRecord.objects.create(
        purpose=purpose,
        email=email,
        subject_digest=subject_digest(email),
        user=user if getattr(user, "pk", None) else None,
        answer=answer,
        text_version=text_version,
        text_hash=text_hash(text),
        method=method,
        context=context[:200],
        given_at=now,
        last_activity_at=now,
    )
    if purpose == ConsentRecord.Purpose.MARKETING and answer:
        ProcessingLimit.objects.filter(
            email=email, kind=ProcessingLimit.Kind.OBJECTION_MARKETING, lifted_at__isnull=True
        ).update(lifted_at=now)
    security_event_record(action="privacy.consent_given", email=email, data={"purpose": purpose})
    return record


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


def consent_active(*, email: str, purpose: str) -> bool:
    return ConsentRecord.objects.filter(
        subject_digest=subject_digest(email), purpose=purpose, answer=True, withdrawn_at__isnull=True
    ).exists()


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


# --- Restriction and objection --------------------------------------------------------------------


def limit_active(*, email: str, kinds) -> bool:
    return ProcessingLimit.objects.filter(
        email=email.strip().lower(), kind__in=kinds, lifted_at__isnull=True
    ).exists()


def outbox_hold_check(*, to: str, kind: str) -> bool:
    """Hook of tessera.core.outbox: hold every email to a restricted address, except rights answers."""
    if kind.startswith(UNHELD_KINDS_PREFIX):
        return False
    kinds = [ProcessingLimit.Kind.RESTRICTION]
    if kind == "marketing":
        kinds.append(ProcessingLimit.Kind.OBJECTION_MARKETING)
    return limit_active(email=to, kinds=kinds)


@transaction.atomic
def limit_add(*, email: str, kind: str, reason: str = "", request_record=None) -> ProcessingLimit:
    email = email.strip().lower()
    existing = ProcessingLimit.objects.filter(email=email, kind=kind, lifted_at__isnull=True).first()
    if existing:
        return existing
    limit = ProcessingLimit.objects.create(email=email, kind=kind, reason=reason, request=request_record)
    if kind == ProcessingLimit.Kind.RESTRICTION:
        OutboxMessage.objects.filter(recipient=email, status=OutboxMessage.Status.PENDING).exclude(
            kind__startswith=UNHELD_KINDS_PREFIX
        ).update(status=OutboxMessage.Status.HELD)
    security_event_record(action=f"privacy.{kind}_added", email=email)
    return limit


@transaction.atomic
def limit_lift(*, email: str, kind: str) -> int:
    email = email.strip().lower()
    count = ProcessingLimit.objects.filter(email=email, kind=kind, lifted_at__isnull=True).update(
        lifted_at=timezone.now()
    )
    if count and kind == ProcessingLimit.Kind.RESTRICTION:
        held = list(
            OutboxMessage.objects.filter(recipient=email, status=OutboxMessage.Status.HELD).values_list(
                "pk", flat=True
            )
        )
        OutboxMessage.objects.filter(pk__in=held).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
        )
    if count:
        security_event_record(action=f"privacy.{kind}_lifted", email=email)
    return count


# --- Subjects, exports, erasure -------------------------------------------------------------------


def subject_resolve(email: str) -> Subject:
    subject = Subject(email=email)
    for module in registry.modules.values():
        if hasattr(module, "resolve_subject"):
            module.resolve_subject(subject)
    return subject


def subject_export(subject: Subject) -> list:
    sections = []
    for _label, export in registry.exporters():
        sections.extend(export(subject))
    return sections


def _is_portal_trace(section, row) -> bool:
    """Traces of using the rights portal itself, which do not make an address 'known'."""
    if section.category == "security_log":
        return str(row.get("action", "")).startswith("privacy.")
    if section.category == "emails_sent_to_you":
        return str(row.get("kind", "")).startswith(UNHELD_KINDS_PREFIX)
    return section.category == "rights_requests"


def subject_holds_data(subject: Subject) -> bool:
    return any(
        not _is_portal_trace(section, row) for section in subject_export(subject) for row in section.rows
    )


def _reference() -> str:
    return "DSR-" + get_random_string(8, allowed_chars="ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


@transaction.atomic
def rights_request_create(
    *,
    email: str,
    kind: str,
    channel: str,
    details: str = "",
    requester_name: str = "",
    postal_address: str = "",
    identity_verified: bool = True,
    received_at=None,
    request=None,
    actor=None,
) -> RightsRequest:
    received_at = received_at or timezone.now()
    record = RightsRequest.objects.create(
        reference=_reference(),
        kind=kind,
        channel=channel,
        email=email.strip().lower(),
        details=details,
        requester_name=requester_name,
        postal_address=postal_address,
        identity_verified=identity_verified,
        received_at=received_at,
        due_at=received_at + timedelta(days=_setting("rights_answer_days")),
    )
    security_event_record(
        action="privacy.request_received",
        actor=actor,
        email=record.email,
        request=request,
        data={"reference": record.reference, "kind": kind, "channel": channel},
    )
    return record


@transaction.atomic
def rights_request_close(
    *, record: RightsRequest, answer: str = "", outcome: dict | None = None, refused=False, actor=None
) -> RightsRequest:
    record.status = RightsRequest.Status.REFUSED if refused else RightsRequest.Status.ANSWERED
    record.closed_at = timezone.now()
    record.answer = answer or record.answer
    if outcome is not None:
        record.outcome = outcome
    record.save()
    security_event_record(
        action="privacy.request_closed",
        actor=actor,
        data={"reference": record.reference, "status": record.status},
    )
    return record


@transaction.atomic
def rights_request_extend(*, record: RightsRequest, reason: str, actor=None) -> RightsRequest:
    """Extend the deadline by two more months (Art. 12(3)); a written reason is required, once."""
    if not reason.strip():
        raise ValueError("An extension needs a written reason.")
    if record.extended_at:
        raise ValueError("The deadline was already extended.")
    record.extended_at = timezone.now()
    record.extension_reason = reason.strip()
    record.due_at = record.due_at + timedelta(days=_setting("rights_extension_days"))
    record.save(update_fields=["extended_at", "extension_reason", "due_at"])
    security_event_record(
        action="privacy.request_extended", actor=actor, data={"reference": record.reference}
    )
    email_queue_template(
        to=record.email,
        template="privacy/email/request_extended",
        context={"record": record},
        kind="privacy_request_extended",
    )
    return record


def erasure_apply(subject: Subject) -> dict:
    """Export first (to report what existed), then erase through every app's handler."""
    existed = {}
    for section in subject_export(subject):
        existed[section.category] = existed.get(section.category, 0) + len(section.rows)
    outcomes = []
    for _label, erase in registry.erasers():
        outcomes.extend(erase(subject))
    with translation.override("en"):
        summary = [
            {
                "activity": o.activity,
                "erased": o.erased,
                "kept": o.kept,
                "reason_kept": str(o.reason_kept),
                "kept_until": str(o.kept_until),
            }
            for o in outcomes
        ]
    return {"existed": existed, "outcomes": summary, "objects": outcomes}


@transaction.atomic
def rights_erase(*, email: str, channel: str, request=None, actor=None, language=None) -> RightsRequest:
    """Erase at once whatever has no legal retention; the answer lists what was kept and why."""
    subject = subject_resolve(email)
    record = rights_request_create(
        email=subject.email, kind=RightsRequest.Kind.ERASURE, channel=channel, request=request, actor=actor
    )
    result = erasure_apply(subject)
    rights_request_close(
        record=record, outcome={"existed": result["existed"], "outcomes": result["outcomes"]}, actor=actor
    )
    email_queue_template(
        to=subject.email,
        template="privacy/email/erasure_done",
        context={"record": record, "outcomes": result["objects"]},
        language=language,
        kind="privacy_erasure_done",
    )
    record.outcome_objects = result["objects"]
    return record


@transaction.atomic
def security_log_shred_for(*, email: str, actor=None) -> int:
    """Erase the personal fields of a person's security-log entries (objection upheld, directive)."""
    count = security_log_shred(email=email)
    security_event_record(action="privacy.security_log_shredded", actor=actor, data={"entries": count})
    return count


@transaction.atomic
def directive_set(
    *, email: str, instruction: str, trusted_person_name: str = "", trusted_person_email: str = ""
) -> PostMortemDirective:
    email = email.strip().lower()
    PostMortemDirective.objects.filter(email=email, revoked_at__isnull=True).update(revoked_at=timezone.now())
    directive = PostMortemDirective.objects.create(
        email=email,
        instruction=instruction,
        trusted_person_name=trusted_person_name,
        trusted_person_email=trusted_person_email.strip().lower(),
    )
    security_event_record(action="privacy.directive_set", email=email, data={"instruction": instruction})
    return directive


@transaction.atomic
def directive_revoke(*, email: str) -> int:
    count = PostMortemDirective.objects.filter(email=email.strip().lower(), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if count:
        security_event_record(action="privacy.directive_revoked", email=email)
    return count


# --- One-time links of the rights portal ----------------------------------------------------------


class RightsLinkError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired" or "used"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def rights_link_request(*, email: str, language: str, request=None) -> None:
    """Answer a portal request the same way whether or not the address is known.

    A known address receives a one-time link; an unknown one, an email saying no data is held.
    """
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
        token_hash=_token_hash(token),
        email=subject.email,
        language=language,
        created_at=now,
        expires_at=now + timedelta(hours=_setting("rights_link_hours")),
    )
    with translation.override(language):
        url = absolute(reverse("privacy:rights_link", args=[token]))
    email_queue_template(
        to=subject.email,
        template="privacy/email/rights_link",
        context={"url": url, "hours": _setting("rights_link_hours")},
        language=language,
        kind="privacy_rights_link",
    )


def rights_link_check(*, token: str) -> RightsLink:
    link = RightsLink.objects.filter(token_hash=_token_hash(token)).first()
    if link is None:
        raise RightsLinkError("invalid")
    if link.used_at is not None:
        raise RightsLinkError("used")
    if link.expires_at <= timezone.now():
        raise RightsLinkError("expired")
    return link


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
