"""Processing activities of meetings: events and invitations, and live-session metadata."""

from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import Activity, ErasureOutcome, ExportSection, LegalBasis, Retention

from .conf import meetings_setting
from .models import Event, Invitation, MeetingSession, SessionParticipant

STAFF = _("Authorised staff of the operator (support, security)")
TLS = _("Encryption in transit (HTTPS/TLS)")


def _events_retention(*, now) -> int:
    from .services import events_expired_delete

    return events_expired_delete(now=now)


def _sessions_retention(*, now) -> int:
    from .services import sessions_expired_delete

    return sessions_expired_delete(now=now)


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
            _("The room's key lives in the links only and is never stored"),
            _("No invitation leaves before the organiser's address is confirmed"),
        ),
        service=_("Meetings"),
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
            description=_("7 days after the live session was created."),
            period=timedelta(days=meetings_setting("session_retention_days")),
            apply=_sessions_retention,
        ),
        security_measures=(TLS, _("No audio, video or chat content ever reaches the server")),
        service=_("Meetings"),
    ),
]

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
}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def export_subject(subject) -> list[ExportSection]:
    organised = Event.objects.filter(organiser_email=subject.email).order_by("starts_at")
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
            "invitees": [
                i.email for i in e.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True)
            ],
        }
        for e in organised
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
    connections = [
        {
            "event": p.session.event.title,
            "joined_at": _iso(p.joined_at),
            "left_at": _iso(p.left_at),
        }
        for p in SessionParticipant.objects.filter(invitation__email=subject.email).select_related(
            "session__event"
        )
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
    ]


@transaction.atomic
def erase_subject(subject) -> list[ErasureOutcome]:
    """Delete the events the person organised (with their invitations and sessions) and their invitations.

    Erasing an invitation revokes its link; the organiser's event stays, without that address.
    """
    connections = SessionParticipant.objects.filter(invitation__email=subject.email).delete()[0]
    events = Event.objects.filter(organiser_email=subject.email)
    sessions = MeetingSession.objects.filter(event__in=events).count()
    events_deleted = events.count()
    events.delete()
    invitations = Invitation.objects.filter(email=subject.email).delete()[0]
    return [
        ErasureOutcome(activity="meetings.events", erased=events_deleted + invitations),
        ErasureOutcome(activity="meetings.sessions", erased=sessions + connections),
    ]
