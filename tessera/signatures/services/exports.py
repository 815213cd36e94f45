"""Exports of members' signatures that leave Tessera as files: each one is logged, like any personal-data export."""

from django.db import transaction

from tessera.core.audit import security_event_record

from ..outlook import outlook_zip


@transaction.atomic
def signatures_outlook_export(*, organisation, actor, language: str, request=None) -> bytes:
    """The ZIP of every member's signature for Outlook; the security log says who took it and how many."""
    content, left_out, count = outlook_zip(organisation=organisation, language=language)
    security_event_record(
        action="signatures.outlook_zip.downloaded",
        actor=actor,
        request=request,
        data={"organisation": organisation.pk, "members": count, "left_out": len(left_out)},
    )
    return content
