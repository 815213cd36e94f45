"""Reads of the live room: who may enter a room, the figures the organiser sees, a person's export."""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tessera.meetings import links
from tessera.meetings import selectors as meetings_selectors
from tessera.meetings.conf import meetings_setting
from tessera.meetings.models import Event, Invitation, MeetingSession
from tessera.privacy.register import ExportSection

from .models import QualitySample, RecordingAnswer, RecordingNotice, SfuPlacement
from .protocol import Error


@dataclass(frozen=True)
class Entry:
    """Who a first message authenticated: `state` is open, lobby, or the reason of a refusal."""

    state: str  # open, lobby, or a refusal: the protocol's error name (Error)
    event_id: int | None = None
    role: str = ""  # organiser, invitee, guest
    invitation_id: int | None = None
    large: bool = False  # the organiser chose a large meeting: the room goes through the SFU


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
        return (
            Entry(state, event.pk, "organiser", large=event.large_meeting)
            if state == "open"
            else Entry(state)
        )
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
    return Entry(state, invitation.event_id, role, invitation.pk, large=invitation.event.large_meeting)


def quality_series(*, session: MeetingSession) -> dict:
    """Quality samples of one session, per participant, in time order."""
    return quality_series_of(sessions=[session]).get(session.pk, {})


def quality_series_of(*, sessions) -> dict[int, dict[int, list]]:
    """Quality samples of several sessions in one query: {session id: {participant id: samples in time order}}."""
    series: dict[int, dict[int, list]] = {}
    for sample in QualitySample.objects.filter(session__in=sessions).order_by("created_at", "pk"):
        series.setdefault(sample.session_id, {}).setdefault(sample.participant_id, []).append(sample)
    return series


def _iso(value) -> str:
    return value.isoformat() if value else ""


def conference_data_export(*, participants) -> list[ExportSection]:
    """A person's conference data for the access export, from their connections (`participants`)."""
    recordings_asked = [
        {
            "event": n.session.event.title,
            "requested_at": _iso(n.created_at),
            "status": n.status,
            "started_at": _iso(n.started_at),
            "stopped_at": _iso(n.stopped_at),
        }
        for n in RecordingNotice.objects.filter(requested_by__in=participants)
        .select_related("session__event")
        .order_by("created_at")
    ]
    answers = [
        {
            "event": a.notice.session.event.title,
            "accepted": a.accepted,
            "joined_during_the_recording": a.joined_during,
            "answered_at": _iso(a.answered_at),
        }
        for a in RecordingAnswer.objects.filter(participant__in=participants)
        .select_related("notice__session__event")
        .order_by("answered_at")
    ]
    quality = [
        {
            "event": q.session.event.title,
            "measured_at": _iso(q.created_at),
            "bitrate_in_kbps": q.bitrate_in_kbps,
            "bitrate_out_kbps": q.bitrate_out_kbps,
            "rtt_ms": q.rtt_ms,
            "jitter_ms": q.jitter_ms,
            "loss_pct": q.loss_pct,
            "width": q.width,
            "height": q.height,
            "fps": q.fps,
            "peers": q.peers,
        }
        for q in QualitySample.objects.filter(participant__in=participants)
        .select_related("session__event")
        .order_by("created_at")
    ]
    return [
        ExportSection(
            activity="meetings.conference_data", category="recordings you asked for", rows=recordings_asked
        ),
        ExportSection(
            activity="meetings.conference_data", category="your answers to recording notices", rows=answers
        ),
        ExportSection(activity="meetings.conference_data", category="your call quality", rows=quality),
    ]


def sfu_least_loaded(*, urls: list[str]) -> str:
    """The Janus among `urls` with the fewest participants placed on it (ties: the first listed)."""
    from django.db.models import Sum

    load = dict(
        SfuPlacement.objects.filter(janus_url__in=urls)
        .values("janus_url")
        .annotate(total=Sum("participants"))
        .values_list("janus_url", "total")
    )
    return min(urls, key=lambda url: (load.get(url) or 0, urls.index(url)))
