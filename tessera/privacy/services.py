"""Writes of the privacy core: consent, restrictions, rights requests, one-time links, incidents."""

import calendar
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext

from tessera.core.audit import security_event_record, security_log_shred
from tessera.core.models import OutboxMessage
from tessera.core.outbox import email_queue_template

from .exports import export_build, export_zip
from .models import (
    ConsentRecord,
    ConsentText,
    DirectiveExport,
    PostMortemDirective,
    ProcessingLimit,
    RightsLink,
    RightsRequest,
)
from .register import Subject, registry
from .selectors import consent_active as consent_active  # re-exported: callers check it before a write
from .selectors import directives_naming, limit_active
from .subjects import subject_digest, subject_export, subject_resolve

UNSUBSCRIBE_SALT = "tessera.privacy.unsubscribe"
PORTAL_SALT = "tessera.privacy.portal"
PORTAL_MAX_AGE = 60 * 60
# Emails about a person's own rights are never held by a restriction: they are the answer.
UNHELD_KINDS_PREFIX = "privacy_"


def _setting(name):
    return settings.TESSERA_PRIVACY[name]


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(str(text).split()).encode()).hexdigest()


def absolute(path: str) -> str:
    return settings.TESSERA_BASE_URL + path


# --- Consent ledger -------------------------------------------------------------------------------


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


# --- Restriction and objection --------------------------------------------------------------------


def outbox_hold_check(*, to: str, kind: str) -> bool:
    """Hook of tessera.core.outbox: hold every email to a restricted address, except rights answers."""
    if kind.startswith(UNHELD_KINDS_PREFIX):
        return False
    kinds = [ProcessingLimit.Kind.RESTRICTION]
    if kind == "marketing":
        kinds.append(ProcessingLimit.Kind.OBJECTION_MARKETING)
    return limit_active(email=to, kinds=kinds)


@transaction.atomic
def limit_add(*, email: str, kind: str, reason: str = "", request_record=None, actor=None) -> ProcessingLimit:
    email = email.strip().lower()
    existing = ProcessingLimit.objects.filter(email=email, kind=kind, lifted_at__isnull=True).first()
    if existing:
        return existing
    limit = ProcessingLimit.objects.create(email=email, kind=kind, reason=reason, request=request_record)
    if kind == ProcessingLimit.Kind.RESTRICTION:
        OutboxMessage.objects.filter(recipient=email, status=OutboxMessage.Status.PENDING).exclude(
            kind__startswith=UNHELD_KINDS_PREFIX
        ).update(status=OutboxMessage.Status.HELD)
    security_event_record(action=f"privacy.{kind}_added", email=email, actor=actor)
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


def months_later(moment, months: int):
    """The same local day and time `months` calendar months later, as GDPR Art. 12(3) counts a month.

    A day the later month lacks becomes its last day: 31 January + 1 month = 28 (or 29) February.
    """
    local = timezone.localtime(moment)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def rights_due_at(received_at):
    return months_later(received_at, _setting("rights_answer_months"))


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
        due_at=rights_due_at(received_at),
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
def rights_request_update(
    *, record: RightsRequest, extend_with_reason: str = "", actor=None
) -> RightsRequest:
    """Save staff's edits of a request in the DPO console. Closing it goes through
    `rights_request_close`, so it is stamped and logged like a right carried out; an extension through
    `rights_request_extend`, which writes to the requester."""
    was_open = RightsRequest.objects.select_for_update().get(pk=record.pk).is_open
    record.save()
    if was_open and not record.is_open:
        rights_request_close(
            record=record, refused=record.status == RightsRequest.Status.REFUSED, actor=actor
        )
    if extend_with_reason:
        rights_request_extend(record=record, reason=extend_with_reason, actor=actor)
    security_event_record(
        action="privacy.request_updated",
        actor=actor,
        data={"reference": record.reference, "status": record.status},
    )
    return record


def rights_extension_refusal(*, record: RightsRequest, now=None) -> str:
    """Why the deadline cannot be extended now, or "" if it can (Art. 12(3): once, within the first month)."""
    if record.extended_at:
        return gettext("The deadline was already extended once.")
    if (now or timezone.now()) > rights_due_at(record.received_at):
        return gettext(
            "The first month is over: an extension had to be announced to the requester before its end."
        )
    return ""


def _requester_language(email: str) -> str:
    # The language of the requester's account if they have one; otherwise the site's.
    language = get_user_model().objects.filter(email=email).values_list("language", flat=True).first()
    return language or settings.LANGUAGE_CODE


@transaction.atomic
def rights_request_extend(
    *, record: RightsRequest, reason: str, actor=None, language: str | None = None, now=None
) -> RightsRequest:
    """Extend the deadline by two further months (Art. 12(3)): once, with a written reason, and only
    within the first month; the letter telling the requester why leaves through the outbox."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValueError("An extension needs a written reason.")
    refusal = rights_extension_refusal(record=record, now=now)
    if refusal:
        raise ValueError(refusal)
    original_due = rights_due_at(record.received_at)
    record.extended_at = now
    record.extension_reason = reason.strip()
    record.due_at = months_later(original_due, _setting("rights_extension_months"))
    record.save(update_fields=["extended_at", "extension_reason", "due_at"])
    security_event_record(
        action="privacy.request_extended", actor=actor, data={"reference": record.reference}
    )
    email_queue_template(
        to=record.email,
        template="privacy/email/request_extended",
        context={"record": record, "original_due": original_due},
        language=language or _requester_language(record.email),
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


class RightsRequestError(ValueError):
    """A rights request cannot be carried out as asked (wrong right, closed, identity not verified)."""


def _carry_out_check(record: RightsRequest, kinds) -> None:
    values = {"ref": record.reference, "right": record.get_kind_display()}
    if record.kind not in kinds:
        raise RightsRequestError(gettext("%(ref)s is a request of another right (%(right)s).") % values)
    if not record.is_open:
        raise RightsRequestError(gettext("%(ref)s is already answered.") % values)
    if not record.identity_verified:
        raise RightsRequestError(gettext("%(ref)s: the requester's identity is not verified yet.") % values)


@transaction.atomic
def rights_request_export(
    *, record: RightsRequest, language: str | None = None, actor=None, request=None, answer: str = ""
) -> bytes:
    """Carry out an access request: build the export of the request's address, answer the request,
    and return the ZIP (downloaded by the person, or by staff for a request by post or email)."""
    _carry_out_check(record, [RightsRequest.Kind.ACCESS])
    export = export_build(subject_resolve(record.email), language=language)
    archive = export_zip(export)
    sections: dict[str, int] = {}
    for section in export.data["sections"]:
        sections[section["category"]] = sections.get(section["category"], 0) + len(section["rows"])
    rights_request_close(
        record=record,
        answer=answer or "export generated",
        outcome={"done": "access", "sections": sections, "files": len(export.files)},
        actor=actor,
    )
    security_event_record(
        action="privacy.access_export_done",
        actor=actor,
        email=record.email,
        request=request,
        data={"reference": record.reference, "records": sum(sections.values()), "files": len(export.files)},
    )
    return archive


@transaction.atomic
def rights_request_erase(*, record: RightsRequest, actor=None, language=None) -> RightsRequest:
    """Carry out an erasure request: erase at once whatever has no legal retention, then answer it
    with what was kept and why."""
    _carry_out_check(record, [RightsRequest.Kind.ERASURE])
    subject = subject_resolve(record.email)
    result = erasure_apply(subject)
    rights_request_close(
        record=record,
        outcome={"done": "erasure", "existed": result["existed"], "outcomes": result["outcomes"]},
        actor=actor,
    )
    security_event_record(
        action="privacy.erasure_done",
        actor=actor,
        data={
            "reference": record.reference,
            "erased": sum(o["erased"] for o in result["outcomes"]),
            "kept": sum(o["kept"] for o in result["outcomes"]),
        },
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
def rights_erase(*, email: str, channel: str, request=None, actor=None, language=None) -> RightsRequest:
    """Erase at once whatever has no legal retention; the answer lists what was kept and why."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.ERASURE, channel=channel, request=request, actor=actor
    )
    return rights_request_erase(record=record, language=language)


# The person's own requests, from the rights portal or their account: each is received and carried
# out in one transaction, so a failure leaves neither a request without its effect nor the reverse.


@transaction.atomic
def rights_export(*, email: str, channel: str, language: str | None = None, request=None) -> bytes:
    """Receive an access request and answer it at once with the ZIP the person downloads."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.ACCESS, channel=channel, request=request
    )
    return rights_request_export(
        record=record, language=language, request=request, answer="export downloaded"
    )


@transaction.atomic
def rights_restrict(*, email: str, channel: str, request=None) -> ProcessingLimit:
    """Receive a restriction request and put the restriction in force until the person lifts it."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.RESTRICTION, channel=channel, request=request
    )
    return rights_request_restrict(record=record)


@transaction.atomic
def rights_request_rectify(
    *, email: str, channel: str, full_name: str | None, details: str = "", request=None
) -> RightsRequest:
    """Correct the name of the person's accounts at once; anything else goes to the DPO (the request
    stays open), otherwise the request is answered."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.RECTIFICATION, channel=channel, details=details, request=request
    )
    subject = subject_resolve(email)
    changed = 0
    if subject.user_ids and full_name is not None:
        changed = get_user_model().objects.filter(pk__in=subject.user_ids).update(full_name=full_name)
    security_event_record(
        action="privacy.rectification_done",
        email=record.email,
        request=request,
        data={"reference": record.reference, "accounts": changed, "to_dpo": bool(details.strip())},
    )
    if not details.strip():
        rights_request_close(record=record, answer=f"updated {changed} account(s)")
    return record


@transaction.atomic
def rights_request_object(
    *, email: str, channel: str, scope: str, reason: str = "", request=None
) -> RightsRequest:
    """An objection: to marketing (`scope="marketing"`), in force at once and answered; to processing
    based on legitimate interest, recorded and left open for the DPO to examine."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.OBJECTION, channel=channel, details=reason, request=request
    )
    if scope == "marketing":
        consent_withdraw(email=email, purpose=ConsentRecord.Purpose.MARKETING, method="objection")
        limit_add(email=email, kind=ProcessingLimit.Kind.OBJECTION_MARKETING, request_record=record)
        return rights_request_close(record=record, answer="marketing objection in force")
    limit_add(email=email, kind=ProcessingLimit.Kind.OBJECTION_INTEREST, reason=reason, request_record=record)
    return record


@transaction.atomic
def rights_request_withdraw(*, email: str, channel: str, request=None) -> RightsRequest:
    """Withdraw every consent the person gave, and answer the request."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.WITHDRAWAL, channel=channel, request=request
    )
    count = consent_withdraw(email=email, method=channel)
    return rights_request_close(record=record, answer=f"{count} consents withdrawn")


@transaction.atomic
def rights_request_directive(
    *,
    email: str,
    channel: str,
    instruction: str,
    trusted_person_name: str = "",
    trusted_person_email: str = "",
    request=None,
) -> RightsRequest:
    """Record the person's directive after death (replacing the one in force), and answer the request."""
    record = rights_request_create(
        email=email, kind=RightsRequest.Kind.POST_MORTEM, channel=channel, request=request
    )
    directive_set(
        email=email,
        instruction=instruction,
        trusted_person_name=trusted_person_name,
        trusted_person_email=trusted_person_email,
    )
    return rights_request_close(record=record, answer="directive recorded")


@transaction.atomic
def rights_request_restrict(*, record: RightsRequest, actor=None, answer: str = "") -> ProcessingLimit:
    """Carry out a restriction request: the restriction is in force for the address until lifted."""
    _carry_out_check(record, [RightsRequest.Kind.RESTRICTION])
    limit = limit_add(
        email=record.email, kind=ProcessingLimit.Kind.RESTRICTION, request_record=record, actor=actor
    )
    rights_request_close(
        record=record,
        answer=answer or "restriction in force",
        outcome={"done": "restriction", "since": limit.created_at.isoformat()},
        actor=actor,
    )
    return limit


@transaction.atomic
def rights_request_uphold_objection(*, record: RightsRequest, actor=None) -> RightsRequest:
    """Uphold an objection to legitimate-interest processing (Art. 21(1)): the objection stays in
    force and the personal fields of the person's security-log entries are erased."""
    _carry_out_check(record, [RightsRequest.Kind.OBJECTION])
    limit_add(
        email=record.email,
        kind=ProcessingLimit.Kind.OBJECTION_INTEREST,
        reason=record.details,
        request_record=record,
        actor=actor,
    )
    shredded = security_log_shred_for(email=record.email, actor=actor)
    return rights_request_close(
        record=record,
        answer=record.answer or "objection upheld",
        outcome={"done": "objection_upheld", "security_log_entries_erased": shredded},
        actor=actor,
    )


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


# --- Death notices: carrying out the directives --------------------------------------------------

DIRECTIVE_EXPORT_DAYS = 30


@transaction.atomic
def death_notice_present(
    *, presenter_email: str, deceased_email: str, details: str, channel: str, request=None
) -> RightsRequest:
    """The person a directive names reports its author's death; staff verify it before anything happens.

    Only the person named, proven by a one-time link to their address, can present it.
    """
    presenter_email, deceased_email = presenter_email.strip().lower(), deceased_email.strip().lower()
    directive = directives_naming(presenter_email).filter(email=deceased_email).first()
    if directive is None:
        raise RightsRequestError(
            gettext("No directive of this person names you. Write to our data protection officer.")
        )
    record = rights_request_create(
        email=deceased_email,
        kind=RightsRequest.Kind.POST_MORTEM,
        channel=channel,
        details=details,
        requester_name=directive.trusted_person_name,
        identity_verified=False,
        request=request,
    )
    record.requester_email = presenter_email
    record.save(update_fields=["requester_email"])
    security_event_record(
        action="privacy.death_notice_presented",
        email=presenter_email,
        request=request,
        data={"reference": record.reference, "instruction": directive.instruction},
    )
    return record


@transaction.atomic
def directive_carry_out(*, record: RightsRequest, actor=None, language: str | None = None) -> RightsRequest:
    """Staff verified the death notice: carry out the directive (erase, communicate to the person named,
    or keep), answer the person named, and log it."""
    values = {"ref": record.reference}
    if record.kind != RightsRequest.Kind.POST_MORTEM or not record.requester_email:
        raise RightsRequestError(gettext("%(ref)s is not a death notice.") % values)
    if not record.is_open:
        raise RightsRequestError(gettext("%(ref)s is already answered.") % values)
    directive = directives_naming(record.requester_email).filter(email=record.email).first()
    if directive is None:
        raise RightsRequestError(
            gettext("%(ref)s: the directive was revoked or no longer names this person.") % values
        )
    record.identity_verified = True
    record.save(update_fields=["identity_verified"])
    instruction = directive.instruction
    outcome = {
        "done": "post_mortem",
        "instruction": instruction,
        "directive_given": directive.created_at.isoformat(),
    }
    url = ""
    language = language or _requester_language(record.requester_email)
    if instruction == PostMortemDirective.Instruction.COMMUNICATE:
        archive = export_zip(export_build(subject_resolve(record.email), language=language))
        token = secrets.token_urlsafe(32)
        DirectiveExport.objects.create(
            token_hash=_token_hash(token),
            request=record,
            archive=archive,
            expires_at=timezone.now() + timedelta(days=DIRECTIVE_EXPORT_DAYS),
        )
        with translation.override(language):
            url = absolute(reverse("privacy:directive_export", args=[token]))
        outcome["communicated_bytes"] = len(archive)
    elif instruction == PostMortemDirective.Instruction.ERASE:
        result = erasure_apply(subject_resolve(record.email))
        outcome.update(existed=result["existed"], outcomes=result["outcomes"])
    rights_request_close(
        record=record, answer=f"directive carried out: {instruction}", outcome=outcome, actor=actor
    )
    security_event_record(
        action="privacy.directive_carried_out",
        actor=actor,
        data={"reference": record.reference, "instruction": instruction},
    )
    email_queue_template(
        to=record.requester_email,
        template="privacy/email/directive_carried_out",
        context={
            "record": record,
            "instruction": instruction,
            "url": url,
            "days": DIRECTIVE_EXPORT_DAYS,
        },
        language=language,
        kind="privacy_directive_carried_out",
        confidential=True,  # the link opens a deceased person's data
    )
    return record


def directive_export_check(*, token: str) -> DirectiveExport:
    export = DirectiveExport.objects.filter(token_hash=_token_hash(token)).first()
    if export is None:
        raise RightsLinkError("invalid")
    if export.downloaded_at is not None:
        raise RightsLinkError("used")
    if export.expires_at <= timezone.now():
        raise RightsLinkError("expired")
    return export


@transaction.atomic
def directive_export_download(*, token: str, request=None) -> bytes:
    """Hand the archive to the person named, once; it is deleted at once after."""
    export = directive_export_check(token=token)
    if not DirectiveExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
        downloaded_at=timezone.now()
    ):
        raise RightsLinkError("used")
    archive = bytes(export.archive)
    DirectiveExport.objects.filter(pk=export.pk).update(archive=b"")
    security_event_record(
        action="privacy.directive_export_downloaded",
        request=request,
        data={"reference": export.request.reference},
    )
    return archive


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
        confidential=True,
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
