"""The meetings emails, queued in the outbox inside the transaction of the write that causes them."""

from zoneinfo import ZoneInfo

from django.utils import timezone

from tessera.core.outbox import email_queue_template

from .. import ics, links
from ..models import Event, Invitation

# --- emails -----------------------------------------------------------------------------------------


def _email_context(event: Event, **extra) -> dict:
    zone = ZoneInfo(event.time_zone)
    return {
        "event": event,
        "starts_local": event.starts_at.astimezone(zone),
        "ends_local": event.ends_at.astimezone(zone),
        "duration_minutes": event.duration_minutes,
        **extra,
    }


def event_email_queue(
    event: Event, *, to: str, template: str, context: dict, attachments=(), language: str = ""
) -> None:
    with timezone.override(ZoneInfo(event.time_zone)):
        email_queue_template(
            to=to,
            template=f"meetings/email/{template}",
            context=_email_context(event, **context),
            language=language or event.language,
            kind=f"meetings_{template}",
            attachments=attachments,
            # Join and management links carry a token (and, when the organiser chose it, the room secret)
            # in their fragment.
            confidential=True,
        )


def invitation_send(event: Event, invitation: Invitation, room_secret: str, *, update: bool) -> None:
    url = links.join_url(
        event=event, invitation=invitation, room_secret=links.email_secret(event, room_secret)
    )
    method = "REQUEST"
    attachment = (
        "invitation.ics",
        ics.invitation_ics(event=event, attendee_email=invitation.email, url=url, method=method),
        ics.content_type(method),
    )
    event_email_queue(
        event,
        to=invitation.email,
        template="invitation_update" if update else "invitation",
        context={"join_url": url},
        attachments=(attachment,),
        language=invitation.language,
    )
    invitation.sent_sequence = event.sequence


def cancellation_send(event: Event, invitation: Invitation, *, template: str) -> None:
    attachment = (
        "cancellation.ics",
        ics.invitation_ics(event=event, attendee_email=invitation.email, method="CANCEL"),
        ics.content_type("CANCEL"),
    )
    event_email_queue(
        event,
        to=invitation.email,
        template=template,
        context={},
        attachments=(attachment,),
        language=invitation.language,
    )


def invitations_send_all(event: Event, room_secret: str, *, update: bool) -> int:
    invitations = list(event.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True))
    for invitation in invitations:
        invitation_send(event, invitation, room_secret, update=update)
    Invitation.objects.bulk_update(invitations, ["sent_sequence"])
    return len(invitations)


def manage_link_send(event: Event, *, manage_token: str, room_secret: str, template: str) -> None:
    url = links.manage_url(
        event=event, manage_token=manage_token, room_secret=links.email_secret(event, room_secret)
    )
    event_email_queue(
        event,
        to=event.organiser_email,
        template=template,
        context={
            "manage_url": url,
            "invitee_count": event.invitations.filter(
                kind=Invitation.Kind.INVITEE, revoked_at__isnull=True
            ).count(),
        },
    )
