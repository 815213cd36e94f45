"""Directives after death: recorded by their author, reported by the person they name, carried out by staff."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from ..exports import export_build, export_zip
from ..models import DirectiveExport, PostMortemDirective, RightsRequest
from ..selectors import directives_naming
from ..subjects import subject_resolve
from .base import absolute
from .links import RightsLinkError, one_time_token_find, token_hash
from .requests import (
    RightsRequestError,
    erasure_apply,
    requester_language,
    rights_request_close,
    rights_request_create,
)


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
    language = language or requester_language(record.requester_email, record=record)
    if instruction == PostMortemDirective.Instruction.COMMUNICATE:
        archive = export_zip(export_build(subject_resolve(record.email), language=language))
        token = secrets.token_urlsafe(32)
        DirectiveExport.objects.create(
            token_hash=token_hash(token),
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
    return one_time_token_find(model=DirectiveExport, token=token, used_field="downloaded_at")


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
