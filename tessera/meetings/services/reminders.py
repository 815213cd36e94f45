"""The reminder emails, queued once per event shortly before it starts."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..conf import meetings_setting
from ..models import Event, Invitation
from .emails import event_email_queue

# --- reminders --------------------------------------------------------------------------------------


def reminders_queue_due(*, now=None) -> int:
    """Queue the reminder of every event starting within the next 15 minutes, exactly once per event.

    The claim (`reminder_queued_at`) and the emails are written in one transaction, so a crash queues
    either all of an event's reminders or none, and a second run finds nothing to do.
    """
    now = now or timezone.now()
    due = Event.objects.filter(
        status=Event.Status.SCHEDULED,
        reminder_enabled=True,
        reminder_queued_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(minutes=meetings_setting("reminder_minutes")),
    ).values_list("pk", flat=True)
    queued = 0
    for pk in list(due):
        queued += _event_reminders_queue(event_id=pk, now=now)
    return queued


@transaction.atomic
def _event_reminders_queue(*, event_id: int, now) -> int:
    if not Event.objects.filter(pk=event_id, reminder_queued_at__isnull=True).update(reminder_queued_at=now):
        return 0
    event = Event.objects.get(pk=event_id)
    invitations = event.invitations.filter(
        kind=Invitation.Kind.INVITEE, revoked_at__isnull=True, sent_sequence__gte=0
    )
    count = 0
    for invitation in invitations:
        event_email_queue(
            event, to=invitation.email, template="reminder", context={}, language=invitation.language
        )
        count += 1
    return count
