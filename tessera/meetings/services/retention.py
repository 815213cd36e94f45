"""Deletion of live sessions and events past their retention, with every row hanging off them."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from tessera.privacy.retention import BATCH_SIZE, batched_delete

from ..conf import meetings_setting
from ..models import Event, Invitation, MeetingSession, SessionParticipant

# --- live sessions --------------------------------------------------------------------------------
# The room (meetings.room) writes live sessions; it imports meetings, never the other way round. Rows it
# hangs off a session (its conference data) go before the session: it registers how at start-up.
_session_data_deleters: list = []


def session_data_deleter_register(deleter) -> None:
    """`deleter(*, sessions, batch_size) -> int` deletes an app's rows of `sessions` (a queryset)."""
    if deleter not in _session_data_deleters:
        _session_data_deleters.append(deleter)


def session_data_delete(*, sessions, batch_size: int = BATCH_SIZE) -> int:
    """Every registered app's rows of `sessions`, before the sessions themselves go."""
    return sum(deleter(sessions=sessions, batch_size=batch_size) for deleter in _session_data_deleters)


# --- retention --------------------------------------------------------------------------------------


def sessions_expired_delete(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Live-session data: deleted 7 days after the session was created, with everything hanging off it.

    An instant meeting's sessions go with its room instead, 7 days after its last use
    (`instant_expired_delete`): deleting them earlier would erase the last use the room's rule counts from.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("session_retention_days"))
    return _sessions_delete(
        MeetingSession.objects.filter(created_at__lt=cutoff, event__instant=False), batch_size
    )


def events_expired_delete(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Events and their invitations: deleted 30 days after the end of the event.

    Unconfirmed events go at the same limit: their invitations never left. Returns the rows deleted.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("event_retention_days"))
    return _events_delete(Event.objects.filter(ends_at__lt=cutoff), batch_size)


def instant_expired_delete(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Instant meetings: the room, its guest links and its sessions, 7 days after the room was last used.

    Last used is the latest start or end of one of its live sessions, or the room's creation when nobody
    ever joined. Returns the rows deleted.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("instant_retention_days"))
    used_since = MeetingSession.objects.filter(
        Q(created_at__gte=cutoff) | Q(started_at__gte=cutoff) | Q(ended_at__gte=cutoff)
    ).values("event_id")
    return _events_delete(
        Event.objects.filter(instant=True, created_at__lt=cutoff).exclude(pk__in=used_since), batch_size
    )


def _sessions_delete(sessions, batch_size: int) -> int:
    count = session_data_delete(sessions=sessions, batch_size=batch_size)
    count += batched_delete(
        SessionParticipant.objects.filter(session__in=sessions).order_by(), batch_size=batch_size
    )
    return count + batched_delete(sessions.order_by(), batch_size=batch_size)


def _events_delete(events, batch_size: int) -> int:
    count = _sessions_delete(MeetingSession.objects.filter(event__in=events.order_by()), batch_size)
    count += batched_delete(
        Invitation.objects.filter(event__in=events.order_by()).order_by(), batch_size=batch_size
    )
    return count + batched_delete(events.order_by(), batch_size=batch_size)
