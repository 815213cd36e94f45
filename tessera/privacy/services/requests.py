"""Rights requests: received, answered within their legal deadline, and carried out (access, erasure,
restriction, objection) by the person or by staff in the DPO console."""

import calendar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext

from tessera.core.audit import security_event_record, security_log_shred
from tessera.core.outbox import email_queue_template

from ..exports import export_build, export_zip
from ..models import ProcessingLimit, RightsRequest
from ..register import Subject, registry
from ..subjects import subject_export, subject_resolve
from .base import setting
from .limits import UNHELD_KINDS_PREFIX, limit_add


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
    return months_later(received_at, setting("rights_answer_months"))


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
    language: str = "",
) -> RightsRequest:
    received_at = received_at or timezone.now()
    if not language and request is not None:
        language = translation.get_language() or ""
    record = RightsRequest.objects.create(
        language=language,
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


def requester_language(email: str, *, record: RightsRequest | None = None) -> str:
    # The language the request was made in; else that of the requester's account; else the site's.
    if record is not None and record.language:
        return record.language
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
    record.due_at = months_later(original_due, setting("rights_extension_months"))
    record.save(update_fields=["extended_at", "extension_reason", "due_at"])
    security_event_record(
        action="privacy.request_extended", actor=actor, data={"reference": record.reference}
    )
    email_queue_template(
        to=record.email,
        template="privacy/email/request_extended",
        context={"record": record, "original_due": original_due},
        language=language or requester_language(record.email, record=record),
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
