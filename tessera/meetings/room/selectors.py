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
from .protocol import Error


@dataclass(frozen=True)
class Entry:
    """Who a first message authenticated: `state` is open, lobby, or the reason of a refusal."""

    state: str  # open, lobby, or a refusal: the protocol's error name (Error)
    event_id: int | None = None
    role: str = ""  # organiser, invitee, guest
    invitation_id: int | None = None


def _window_state(event: Event, now) -> str:
    if event.status == Event.Status.UNVERIFIED:
        return Error.INVALID_TOKEN
    if event.status == Event.Status.CANCELLED:
        return Error.CANCELLED
    if now >= event.ends_at + timedelta(minutes=meetings_setting("ended_grace_minutes")):
        return Error.TOKEN_EXPIRED
    if now < event.starts_at - timedelta(minutes=meetings_setting("join_early_minutes")):
        return Error.NOT_OPEN_YET
    return "open"


def room_entry(*, room_id: str, kind: str, token: str, now=None) -> Entry:
    """Authenticate an invitation token, a guest link or the organiser's management token."""
    now = now or timezone.now()
    if kind == "organiser":
        event = Event.objects.filter(room_id=room_id).first() if links.token_well_formed(token) else None
        if event is None or not hmac.compare_digest(event.manage_token_hash, links.token_digest(token)):
            return Entry(Error.INVALID_TOKEN)
        state = _window_state(event, now)
        return Entry(state, event.pk, "organiser") if state == "open" else Entry(state)
    invitation = meetings_selectors.invitation_by_token(room_id=room_id, token=token)
    if invitation is None:
        return Entry(Error.INVALID_TOKEN)
    state = meetings_selectors.link_state(invitation=invitation, now=now).state
    if state == "invalid":
        return Entry(Error.INVALID_TOKEN)
    if state == "ended":
        return Entry(Error.TOKEN_EXPIRED)
    if state == "waiting":
        return Entry(Error.NOT_OPEN_YET)
    if state not in {"open", "lobby"}:
        return Entry(Error(state))  # cancelled
    if invitation.event.room_ended_at is not None:
        return Entry(Error.MEETING_ENDED)
    role = "guest" if invitation.kind == Invitation.Kind.GUEST else "invitee"
    return Entry(state, invitation.event_id, role, invitation.pk)


def quality_series(*, session: MeetingSession) -> dict:
    """Quality samples of one session, per participant, in time order."""
    series: dict[int, list] = {}
    for sample in QualitySample.objects.filter(session=session).order_by("created_at"):
        series.setdefault(sample.participant_id, []).append(sample)
    return series
