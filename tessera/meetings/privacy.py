"""Processing activities of meetings: events and invitations, live-session metadata, and the conference
data of the live room (recording notices and answers, call quality). The live room's models are
declared here too, so that the policy lists every meetings rule under one service; the room imports
meetings, never the other way round, and registers how its data is exported, erased and expired.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
)
from tessera.privacy.retention import batched_delete

from . import services
from .conf import meetings_setting
from .models import Event, Invitation, MeetingSession, SessionParticipant

MEETINGS = _("Meetings")


def _events_retention(*, now) -> int:
    return services.events_expired_delete(now=now)


def _instant_retention(*, now) -> int:
    return services.instant_expired_delete(now=now)


def _sessions_retention(*, now) -> int:
    return services.sessions_expired_delete(now=now)


@dataclass(frozen=True)
class ConferenceData:
    """How an app (the live room) handles the conference data it hangs off sessions and participants.

    `export(*, participants) -> list[ExportSection]` and `erase(*, participants) -> int` take a queryset
    of the person's connections; `expire(*, now) -> int` applies the retention period.
    """

    export: Callable
    erase: Callable
    expire: Callable


_conference_data: list[ConferenceData] = []


def conference_data_register(handlers: ConferenceData) -> None:
    if handlers not in _conference_data:
        _conference_data.append(handlers)


def _conference_data_retention(*, now) -> int:
    return sum(handlers.expire(now=now) for handlers in _conference_data)


activities = [
    Activity(
        name="meetings.events",
        title=_("Meetings: events and email invitations"),
        purpose=_(
            "Create and manage your meetings and send the invitations, their updates, cancellations and "
            "reminders by email."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the meeting service the organiser asked for."),
        data_subjects=(_("Organisers"), _("Invitees")),
        data_categories=(
            _("Title and description of the event"),
            _("Date, time, time zone and duration"),
            _("Organiser's email address and language"),
            _("Invitees' email addresses"),
            _("Confirmation that the organiser is 16 or older"),
            _("A marketing opt-in ticked on the form, until the organiser's address is confirmed"),
        ),
        fields={
            "meetings.Event": [
                "title",
                "description",
                "starts_at",
                "ends_at",
                "time_zone",
                "organiser_email",
                "language",
                "created_by",
                "age_confirmed_at",
                "verified_at",
                "marketing_opt_in_language",
                "marketing_opt_in_version",
            ],
            "meetings.Invitation": ["email", "language", "created_at", "revoked_at"],
        },
        recipients=(
            STAFF,
            _("The organiser (the list of invitees); each invitee sees only the organiser's address"),
        ),
        retention=Retention(
            description=_("Until the end of the event plus 30 days, then deleted with its invitations."),
            period=timedelta(days=meetings_setting("event_retention_days")),
            apply=_events_retention,
        ),
        security_measures=(
            TLS,
            _("Links are random and carry no address, name or title"),
            _("Only hashes of the invitation and management tokens are stored"),
            _("The room's key is never stored; links carry it only when the organiser chooses so"),
            _("No invitation leaves before the organiser's address is confirmed"),
        ),
        service=MEETINGS,
    ),
    Activity(
        name="meetings.instant",
        title=_("Meetings: instant meetings"),
        purpose=_(
            "Open a meeting room at once for whoever asks, with no title, no email address and no account, "
            "and let its guests wait in a lobby until the organiser admits them."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the meeting service you use."),
        data_subjects=(_("Meeting participants"),),
        data_categories=(
            _("When the room was opened and until when it accepts people"),
            _("Language of the pages"),
            _("The room's guest links, stored as hashes only"),
        ),
        fields={"meetings.Event": ["instant", "created_at", "starts_at", "ends_at", "language"]},
        recipients=(STAFF,),
        sub_processors=("hosting",),
        retention=Retention(
            description=_(
                "7 days after the room was last used (or after it was opened, if nobody joined), then "
                "deleted with its guest links and its live sessions."
            ),
            period=timedelta(days=meetings_setting("instant_retention_days")),
            apply=_instant_retention,
        ),
        security_measures=(
            TLS,
            _("No title, no email address, no account and no network address is stored"),
            _("The key is made in the organiser's browser and handed over in the room, never to the server"),
            _("No email is sent"),
        ),
        service=MEETINGS,
    ),
    Activity(
        name="meetings.sessions",
        title=_("Meetings: live-session metadata"),
        purpose=_("Show the organiser when the meeting started and ended and who connected when."),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the meeting service you use."),
        data_subjects=(_("Meeting participants"),),
        data_categories=(
            _("Start, end and duration of a session"),
            _("Which invitation connected, and when"),
        ),
        fields={
            "meetings.MeetingSession": ["created_at", "started_at", "ended_at"],
            "meetings.SessionParticipant": ["invitation", "joined_at", "left_at"],
        },
        recipients=(STAFF, _("The organiser of the meeting")),
        sub_processors=("hosting",),
        retention=Retention(
            description=_(
                "7 days after the live session was created; for an instant meeting, with its room, 7 days "
                "after the room was last used."
            ),
            period=timedelta(days=meetings_setting("session_retention_days")),
            apply=_sessions_retention,
        ),
        security_measures=(TLS, _("No audio, video or chat content ever reaches the server")),
        service=MEETINGS,
    ),
    Activity(
        name="meetings.conference_data",
        title=_("Recording notices and call quality of a meeting"),
        purpose=_(
            "Make sure nobody is recorded without being told and able to leave, and keep the quality of "
            "the calls (bit rates, delay, losses, resolution) to diagnose problems. No audio, video or "
            "chat content ever reaches the server."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the meeting service you use."),
        data_subjects=(_("Meeting participants"),),
        data_categories=(
            _("Who asked to record, who accepted or refused, and when"),
            _("Connection quality figures per participant"),
        ),
        fields={
            "meetings_room.RecordingNotice": ["requested_by", "created_at", "started_at", "stopped_at"],
            "meetings_room.RecordingAnswer": ["participant", "accepted", "answered_at"],
            "meetings_room.QualitySample": ["participant", "created_at", "bitrate_in_kbps", "rtt_ms"],
        },
        recipients=(_("The organiser of the meeting"), _("Authorised staff")),
        sub_processors=("hosting",),
        retention=Retention(
            description=_("7 days after the live session was created, then deleted with it."),
            period=timedelta(days=meetings_setting("session_retention_days")),
            apply=_conference_data_retention,
        ),
        security_measures=(
            _("Audio, video and chat are end-to-end encrypted: the server relays ciphertext only"),
            _(
                "The key is made in the organiser's browser and handed over between participants' browsers, "
                "never to the server or the email provider unless the organiser chooses links that carry it"
            ),
            _("Display names travel encrypted and are never stored"),
        ),
        service=MEETINGS,
    ),
]

# An instant room has no title, no address and no account, and its guest links carry no address: nothing
# ties its fields to a person, so no subject can be matched to it (and non_personal cannot take them: the
# same Event fields are the organiser's data for meetings.events).
not_exported = {
    "meetings.instant": _(
        "Instant meetings are not listed: an instant room stores no name, email address or account, so "
        "nothing links it to you and we cannot find the ones you opened or joined."
    ),
}

# Identifiers and hashes that say nothing about a person.
non_personal = {
    "meetings.Event": [
        "room_id",
        "public_id",
        "manage_token_hash",
        "room_secret_check",
        "status",
    ],
    "meetings.Invitation": ["kind", "token_hash"],
    "meetings_room.RecordingNotice": ["status"],
    # Which Janus serves a room: an opaque room id, a server address and a number.
    "meetings_room.SfuPlacement": ["room_id", "janus_url", "janus_room"],
}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def export_subject(subject) -> list[ExportSection]:
    organised = Event.objects.filter(organiser_email=subject.email).order_by("starts_at")
    # One query for every event's invitees, not one per event.
    invitees = Prefetch(
        "invitations",
        queryset=Invitation.objects.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True),
        to_attr="live_invitees",
    )
    events = [
        {
            "title": e.title,
            "description": e.description,
            "starts_at": _iso(e.starts_at),
            "ends_at": _iso(e.ends_at),
            "time_zone": e.time_zone,
            "language": e.language,
            "status": e.status,
            "created_at": _iso(e.created_at),
            "confirmed_16_or_older": _iso(e.age_confirmed_at),
            "marketing_opt_in_awaiting_confirmation": bool(e.marketing_opt_in_language),
            "invitees": [i.email for i in e.live_invitees],
        }
        for e in organised.prefetch_related(invitees)
    ]
    invitations = [
        {
            "event": i.event.title,
            "starts_at": _iso(i.event.starts_at),
            "organiser": i.event.organiser_email,
            "invited_at": _iso(i.created_at),
            "language": i.language or i.event.language,
            "revoked_at": _iso(i.revoked_at),
        }
        for i in Invitation.objects.filter(email=subject.email).select_related("event")
    ]
    mine = SessionParticipant.objects.filter(invitation__email=subject.email)
    connections = [
        {
            "event": p.session.event.title,
            "joined_at": _iso(p.joined_at),
            "left_at": _iso(p.left_at),
        }
        for p in mine.select_related("session__event").order_by("joined_at")
    ]
    sessions = [
        {"event": s.event.title, "started_at": _iso(s.started_at), "ended_at": _iso(s.ended_at)}
        for s in MeetingSession.objects.filter(event__in=organised).select_related("event")
    ]
    return [
        ExportSection(activity="meetings.events", category="events organised", rows=events),
        ExportSection(activity="meetings.events", category="invitations received", rows=invitations),
        ExportSection(activity="meetings.sessions", category="sessions of your events", rows=sessions),
        ExportSection(activity="meetings.sessions", category="your connections", rows=connections),
        *(section for handlers in _conference_data for section in handlers.export(participants=mine)),
    ]


@transaction.atomic
def erase_subject(subject) -> list[ErasureOutcome]:
    """Delete the events the person organised (with everything hanging off them) and their invitations.

    Erasing an invitation revokes its link; the organiser's event stays, without that address. The
    person's connections go too, with their recording answers and call quality; a recording notice
    they started stays for the other participants' answers, no longer linked to them.
    """
    mine = SessionParticipant.objects.filter(invitation__email=subject.email)
    conference = sum(handlers.erase(participants=mine) for handlers in _conference_data)
    connections = batched_delete(mine.order_by())

    events = Event.objects.filter(organiser_email=subject.email)
    sessions = MeetingSession.objects.filter(event__in=events)
    conference += services.session_data_delete(sessions=sessions)
    connections += batched_delete(SessionParticipant.objects.filter(session__in=sessions).order_by())
    connections += batched_delete(sessions.order_by())
    invitations = batched_delete(Invitation.objects.filter(event__in=events).order_by())
    organised = batched_delete(events.order_by())
    invitations += batched_delete(Invitation.objects.filter(email=subject.email).order_by())
    return [
        ErasureOutcome(activity="meetings.events", erased=organised + invitations),
        ErasureOutcome(activity="meetings.sessions", erased=connections),
        ErasureOutcome(activity="meetings.conference_data", erased=conference),
    ]


def policy_recipients(*, before):
    """Hook of the policy-change emails: organisers of confirmed events that are not over yet."""
    return Event.objects.filter(
        status=Event.Status.SCHEDULED, ends_at__gte=timezone.now(), created_at__lte=before, instant=False
    ).values_list("organiser_email", "language")
