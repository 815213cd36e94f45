"""Reads of the live room: who may enter a room, and the figures the organiser sees."""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tessera.meetings import links
from tessera.meetings import selectors as meetings_selectors
from tessera.meetings.conf import meetings_setting
from tessera.meetings.models import Event, Invitation, MeetingSession

from .models import QualitySample


@dataclass(frozen=True)
class Entry:
    """Who a first message authenticated: `state` is open, lobby, or the reason of a refusal."""

    state: str  # open, lobby, invalid_token, not_open_yet, token_expired, cancelled, meeting_ended
    event_id: int | None = None
    role: str = ""  # organiser, invitee, guest
    invitation_id: int | None = None


def _window_state(event: Event, now) -> str:
    if event.status == Event.Status.UNVERIFIED:
        return "invalid_token"
    if event.status == Event.Status.CANCELLED:
        return "cancelled"
    if now >= event.ends_at + timedelta(minutes=meetings_setting("ended_grace_minutes")):
        return "token_expired"
    if now < event.starts_at - timedelta(minutes=meetings_setting("join_early_minutes")):
        return "not_open_yet"
    return "open"


def room_entry(*, room_id: str, kind: str, token: str, now=None) -> Entry:
    """Authenticate an invitation token, a guest link or the organiser's management token."""
    now = now or timezone.now()
    if kind == "organiser":
        event = Event.objects.filter(room_id=room_id).first() if links.token_well_formed(token) else None
        if event is None or not hmac.compare_digest(event.manage_token_hash, links.token_digest(token)):
            return Entry("invalid_token")
        state = _window_state(event, now)
        return Entry(state, event.pk, "organiser") if state == "open" else Entry(state)
    invitation = meetings_selectors.invitation_by_token(room_id=room_id, token=token)
    if invitation is None:
        return Entry("invalid_token")
    state = meetings_selectors.link_state(invitation=invitation, now=now).state
    if state == "invalid":
        return Entry("invalid_token")
    if state == "ended":
        return Entry("token_expired")
    if state == "waiting":
        return Entry("not_open_yet")
    if state not in {"open", "lobby"}:
        return Entry(state)
    if invitation.event.room_ended_at is not None:
        return Entry("meeting_ended")
    role = "guest" if invitation.kind == Invitation.Kind.GUEST else "invitee"
    return Entry(state, invitation.event_id, role, invitation.pk)


def quality_series(*, session: MeetingSession) -> dict:
    """Quality samples of one session, per participant, in time order."""
    series: dict[int, list] = {}
    for sample in QualitySample.objects.filter(session=session).order_by("created_at"):
        series.setdefault(sample.participant_id, []).append(sample)
    return series
