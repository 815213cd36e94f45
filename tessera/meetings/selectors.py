"""Reads of the meetings app."""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from . import links
from .conf import meetings_setting
from .models import Event, Invitation, MeetingSession, SessionParticipant


def event_for_manage(*, public_id: str, manage_token: str) -> Event | None:
    """The event whose management token this is; None for anything else (no hint why)."""
    if not links.token_well_formed(manage_token):
        return None
    event = Event.objects.filter(public_id=public_id).first()
    if event is None or not hmac.compare_digest(event.manage_token_hash, links.token_digest(manage_token)):
        return None
    return event


def event_of_organisation(*, organisation, public_id: str) -> Event | None:
    return Event.objects.filter(organisation=organisation, public_id=public_id).first()


def event_list_of_organisation(*, organisation, limit: int = 100):
    return Event.objects.filter(organisation=organisation).order_by("-starts_at")[:limit]


def invitation_by_token(*, room_id: str, token: str) -> Invitation | None:
    """An active invitation of that room; revoked, unknown and mismatched tokens all give None."""
    if not links.token_well_formed(token):
        return None
    return (
        Invitation.objects.select_related("event")
        .filter(token_hash=links.token_digest(token), event__room_id=room_id, revoked_at__isnull=True)
        .first()
    )


def invitations_active(*, event: Event):
    return event.invitations.filter(revoked_at__isnull=True).order_by("kind", "position", "id")


def invitation_of_event(*, event: Event, public_id: str) -> Invitation | None:
    try:
        return event.invitations.filter(public_id=public_id).first()
    except Exception:  # a malformed UUID
        return None


@dataclass(frozen=True)
class LinkState:
    state: str  # invalid, waiting, open, lobby, ended, cancelled
    opens_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    closes_at: datetime | None = None  # the end plus the grace period: links stop opening the room

    @property
    def changes_at(self) -> datetime | None:
        """When this state next changes by the clock alone (None when only the organiser can change it)."""
        if self.state == "waiting":
            return self.opens_at
        if self.state in {"open", "lobby"}:
            return self.closes_at
        return None


def link_state(*, invitation: Invitation | None, now=None) -> LinkState:
    now = now or timezone.now()
    if invitation is None:
        return LinkState("invalid")
    event = invitation.event
    if event.status == Event.Status.UNVERIFIED:
        return LinkState("invalid")
    if event.status == Event.Status.CANCELLED:
        return LinkState("cancelled")
    opens_at = event.starts_at - timedelta(minutes=meetings_setting("join_early_minutes"))
    closes_at = event.ends_at + timedelta(minutes=meetings_setting("ended_grace_minutes"))
    times = {
        "opens_at": opens_at,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "closes_at": closes_at,
    }
    if now >= closes_at:
        return LinkState("ended", **times)
    if now < opens_at:
        return LinkState("waiting", **times)
    if invitation.kind == Invitation.Kind.GUEST:
        return LinkState("lobby", **times)
    return LinkState("open", **times)


def sessions_of_event(*, event: Event):
    return (
        MeetingSession.objects.filter(event=event)
        .order_by("started_at")
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=SessionParticipant.objects.select_related("invitation").order_by("joined_at"),
            )
        )
    )


# The room measures a session's call quality; it imports meetings, never the other way round, and
# registers its reader at start-up.
_session_quality_readers: list = []


def session_quality_reader_register(reader) -> None:
    """`reader(*, sessions)` answers {session id: what the management page shows of its call quality, or
    None}, for all the sessions at once so that the page's queries do not grow with their number."""
    if reader not in _session_quality_readers:
        _session_quality_readers.append(reader)


def sessions_with_quality(*, event: Event) -> list[tuple[MeetingSession, object]]:
    """(session, call quality or None) for each session of the event, for the management page."""
    sessions = list(sessions_of_event(event=event))
    quality: dict = {}
    for read in _session_quality_readers:
        for pk, found in read(sessions=sessions).items():
            if found is not None:
                quality.setdefault(pk, found)
    return [(session, quality.get(session.pk)) for session in sessions]


def deletion_dates(*, event: Event) -> dict:
    """When each piece of data about this event goes, from the rules of the register.

    Rules of other apps (the security log, the outbox, the consent ledger) are read from the register,
    so the page says what the retention jobs do; a rule missing from this installation is left out.
    """
    from tessera.privacy.register import registry
    from tessera.privacy.services import consent_active

    def rule(name):
        activity = registry.activities.get(name)
        return activity.retention if activity else None

    security_log, outbox, marketing = (
        rule("core.security_log"),
        rule("core.outbox"),
        rule("privacy.marketing"),
    )
    pending = bool(event.marketing_opt_in_language)
    given = not pending and consent_active(email=event.organiser_email, purpose="marketing")
    return {
        "event": event.ends_at + timedelta(days=meetings_setting("event_retention_days")),
        "event_days": meetings_setting("event_retention_days"),
        "session_days": meetings_setting("session_retention_days"),
        "instant_days": meetings_setting("instant_retention_days"),
        "security_log": event.created_at + security_log.period
        if security_log and security_log.period
        else None,
        "security_log_rule": security_log.description if security_log else "",
        "outbox_days": outbox.period.days if outbox and outbox.period else None,
        "marketing_pending": pending,
        "marketing_rule": marketing.description if marketing and given else "",
    }


def invitations_created_count(*, organisation_id: int, since: datetime) -> int:
    """Invitees added to the organisation's events since `since` (guest links are not counted)."""
    return Invitation.objects.filter(
        event__organisation_id=organisation_id, kind=Invitation.Kind.INVITEE, created_at__gte=since
    ).count()


def invitations_created_first(*, organisation_id: int, since: datetime) -> datetime | None:
    """When the oldest invitation counted by `invitations_created_count` was created."""
    return (
        Invitation.objects.filter(
            event__organisation_id=organisation_id, kind=Invitation.Kind.INVITEE, created_at__gte=since
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
