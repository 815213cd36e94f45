"""The rights a person exercises on their own data, from the rights portal or their account.

Each is received and carried out in one transaction, so a failure leaves neither a request without its
effect nor the reverse."""

from django.contrib.auth import get_user_model
from django.db import transaction

from tessera.core.audit import security_event_record

from ..models import ConsentRecord, ProcessingLimit, RightsRequest
from ..subjects import subject_resolve
from .consent import consent_withdraw
from .directives import directive_set
from .limits import limit_add
from .requests import (
    rights_request_close,
    rights_request_create,
    rights_request_export,
    rights_request_restrict,
)


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
