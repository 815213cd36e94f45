"""Writes of the meetings app. Emails are queued in the outbox inside the same transaction."""

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation
from tessera.accounts.selectors import organisation_member_verified
from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.core.tokens import opaque_id
from tessera.privacy.retention import BATCH_SIZE, batched_delete
from tessera.privacy.services import consent_record

from . import ics, links, selectors
from .conf import meetings_setting
from .models import Event, Invitation, MeetingSession, SessionParticipant
from .texts import MARKETING_CONSENT_TEXT

log = logging.getLogger(__name__)

TIME_ZONES = frozenset(available_timezones())
LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)
DETAIL_FIELDS = ("title", "description", "starts_at", "time_zone", "duration_minutes")


class RoomSecretMismatch(Exception):
    """The room secret given does not belong to the event (a truncated or mistyped link)."""


class EventNotEditable(Exception):
    """The event was cancelled or has ended."""


class InvitationQuotaExceeded(ValidationError):
    """The organisation has created its invitations for the day; nothing of the request was kept.

    `retry_after` is the number of seconds until the oldest invitation of the window stops counting.
    """

    retry_after: int = 3600


@dataclass
class EventCreated:
    event: Event
    manage_token: str
    room_secret: str

    @property
    def manage_url(self) -> str:
        return links.manage_url(
            event=self.event, manage_token=self.manage_token, room_secret=self.room_secret
        )


# --- validation -------------------------------------------------------------------------------------


def _details_validate(
    *, title, description, starts_at, time_zone, duration_minutes, now, check_past=True
) -> dict:
    errors: dict[str, list] = {}

    def add(name, message):
        errors.setdefault(name, []).append(message)

    title = " ".join((title or "").split())  # one line: it becomes a subject and a SUMMARY
    description = (description or "").strip()
    if not title:
        add("title", _("Give the event a title."))
    elif len(title) > 200:
        add("title", _("The title is too long (200 characters at most)."))
    if len(description) > 5000:
        add("description", _("The description is too long (5,000 characters at most)."))
    if time_zone not in TIME_ZONES:
        add("time_zone", _("Choose a time zone from the list."))
    if not isinstance(duration_minutes, int) or not 5 <= duration_minutes <= meetings_setting(
        "max_duration_minutes"
    ):
        add("duration_minutes", _("The duration must be between 5 minutes and 24 hours."))
    if not isinstance(starts_at, datetime) or timezone.is_naive(starts_at):
        add("starts_at", _("Give a date and a time."))
    elif check_past and starts_at <= now:
        add("starts_at", _("This date is in the past. Choose a date and time to come."))
    elif starts_at > now + timedelta(days=meetings_setting("max_days_ahead")):
        add("starts_at", _("Events can be scheduled at most two years ahead."))
    if errors:
        raise ValidationError(errors)
    return {"title": title, "description": description}


def _invitees_validate(emails: list[str]) -> list[str]:
    validator = EmailValidator()
    clean, seen, bad = [], set(), []
    for position, email in enumerate(emails, start=1):
        address = (email or "").strip()
        try:
            if len(address) > 254:
                raise ValidationError("too long")
            validator(address)
        except ValidationError:
            bad.append(
                _("Address %(position)s is not valid: %(address)s")
                % {
                    "position": position,
                    "address": address[:300],
                }
            )
            continue
        if address.lower() not in seen:
            seen.add(address.lower())
            clean.append(address.lower())
    if bad:
        raise ValidationError({"invitees": bad})
    limit = meetings_setting("max_invitees")
    if len(clean) > limit:
        raise ValidationError(
            {
                "invitees": [
                    _("At most %(limit)s invitees; this list has %(count)s.")
                    % {
                        "limit": limit,
                        "count": len(clean),
                    }
                ]
            }
        )
    return clean


def _email_validate(email: str, field: str = "organiser_email") -> str:
    email = (email or "").strip().lower()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        EmailValidator()(email)
    except ValidationError:
        raise ValidationError({field: [_("Enter a valid email address.")]}) from None
    return email


def _secret_check(event: Event, room_secret: str) -> None:
    if not links.room_secret_valid(room_secret) or not hmac.compare_digest(
        links.room_secret_check(room_secret), event.room_secret_check
    ):
        raise RoomSecretMismatch


def _editable(event: Event, now=None) -> None:
    now = now or timezone.now()
    if event.status == Event.Status.CANCELLED or event.ends_at <= now:
        raise EventNotEditable


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


def _queue(
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
            # Join and management links carry the room secret in their fragment.
            confidential=True,
        )


def _invitation_send(event: Event, invitation: Invitation, room_secret: str, *, update: bool) -> None:
    url = links.join_url(event=event, invitation=invitation, room_secret=room_secret)
    method = "REQUEST"
    attachment = (
        "invitation.ics",
        ics.invitation_ics(event=event, attendee_email=invitation.email, url=url, method=method),
        ics.content_type(method),
    )
    _queue(
        event,
        to=invitation.email,
        template="invitation_update" if update else "invitation",
        context={"join_url": url},
        attachments=(attachment,),
        language=invitation.language,
    )
    invitation.sent_sequence = event.sequence


def _cancellation_send(event: Event, invitation: Invitation, *, template: str) -> None:
    attachment = (
        "cancellation.ics",
        ics.invitation_ics(event=event, attendee_email=invitation.email, method="CANCEL"),
        ics.content_type("CANCEL"),
    )
    _queue(
        event,
        to=invitation.email,
        template=template,
        context={},
        attachments=(attachment,),
        language=invitation.language,
    )


def _invitations_send_all(event: Event, room_secret: str, *, update: bool) -> int:
    invitations = list(event.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True))
    for invitation in invitations:
        _invitation_send(event, invitation, room_secret, update=update)
    Invitation.objects.bulk_update(invitations, ["sent_sequence"])
    return len(invitations)


def _manage_link_send(event: Event, *, manage_token: str, room_secret: str, template: str) -> None:
    url = links.manage_url(event=event, manage_token=manage_token, room_secret=room_secret)
    _queue(
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


# --- events -----------------------------------------------------------------------------------------


@transaction.atomic
def event_create(
    *,
    title: str,
    description: str = "",
    starts_at: datetime,
    time_zone: str,
    duration_minutes: int,
    organiser_email: str,
    invitees: list[str],
    language: str = "fr",
    invitee_languages: dict[str, str] | None = None,
    marketing_opt_in: bool = False,
    marketing_text_language: str | None = None,
    age_confirmed: bool = False,
    reminder_enabled: bool = True,
    user=None,
    organisation=None,
    organiser_proven: bool = True,
    origin: dict | None = None,
    now: datetime | None = None,
) -> EventCreated:
    """Create an event and its invitations.

    Anonymous organisers get a confirmation email first: invitations leave once they open its link
    (`event_verify`). An event of an organisation skips that step when `organiser_proven` says the
    organiser's address is already known to be theirs (`event_create_by_organisation` decides it for API
    keys). An organisation's invitations are capped per day (`org_invitations_per_day`).

    A marketing opt-in goes to the consent ledger only for an address known to belong to the person:
    at once for a member or an API key, otherwise when the address is confirmed. Until then it waits
    on the event, with the language (`marketing_text_language`, by default the active one) and the
    version of the text shown.
    """
    now = now or timezone.now()
    errors: dict = {}
    cleaned = {}
    for step in (
        lambda: cleaned.update(
            _details_validate(
                title=title,
                description=description,
                starts_at=starts_at,
                time_zone=time_zone,
                duration_minutes=duration_minutes,
                now=now,
            )
        ),
        lambda: cleaned.update(organiser_email=_email_validate(organiser_email)),
        lambda: cleaned.update(invitees=_invitees_validate(invitees)),
    ):
        try:
            step()
        except ValidationError as error:
            errors.update(error.message_dict)
    if language not in LANGUAGES:
        errors["language"] = [_("Choose French or English.")]
    invitee_languages = {
        str(address).strip().lower(): code for address, code in (invitee_languages or {}).items()
    }
    if any(code not in LANGUAGES for code in invitee_languages.values()):
        errors["invitees"] = [*errors.get("invitees", []), _("Choose French or English.")]
    if organisation is None and not age_confirmed:
        errors["age_confirmed"] = [_("You must be 16 or older to create an event.")]
    if errors:
        raise ValidationError(errors)
    _invitation_quota_check(
        organisation_id=getattr(organisation, "pk", None), adding=len(cleaned["invitees"]), now=now
    )

    verified = organisation is not None and organiser_proven
    opt_in_language = (marketing_text_language or translation.get_language() or settings.LANGUAGE_CODE)[:8]
    opt_in_version = meetings_setting("marketing_consent_version")
    room_secret = links.room_secret_make()
    manage_token = links.manage_token_make()
    event = Event.objects.create(
        room_id=opaque_id(16),
        public_id=opaque_id(12),
        manage_token_hash=links.token_digest(manage_token),
        room_secret_check=links.room_secret_check(room_secret),
        title=cleaned["title"],
        description=cleaned["description"],
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=duration_minutes),
        time_zone=time_zone,
        organiser_email=cleaned["organiser_email"],
        language=language,
        organisation=organisation,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        status=Event.Status.SCHEDULED if verified else Event.Status.UNVERIFIED,
        verified_at=now if verified else None,
        reminder_enabled=reminder_enabled,
        age_confirmed_at=now if age_confirmed else None,
        marketing_opt_in_language=opt_in_language if marketing_opt_in and not verified else "",
        marketing_opt_in_version=opt_in_version if marketing_opt_in and not verified else "",
        created_at=now,
        updated_at=now,
    )
    _invitations_create(event, cleaned["invitees"], now=now, languages=invitee_languages)
    if marketing_opt_in and verified:
        _marketing_consent_record(
            event=event, user=event.created_by, language=opt_in_language, version=opt_in_version, now=now
        )
    origin = origin or {}
    security_event_record(
        action="meetings.event_created",
        email=event.organiser_email,
        ip=origin.get("ip"),
        user_agent=origin.get("user_agent", ""),
        actor=event.created_by,
        data={"event": event.public_id, "invitees": len(cleaned["invitees"]), "verified": verified},
    )
    if verified:
        _invitations_send_all(event, room_secret, update=False)
        _manage_link_send(event, manage_token=manage_token, room_secret=room_secret, template="manage_link")
    else:
        _manage_link_send(event, manage_token=manage_token, room_secret=room_secret, template="verify")
    return EventCreated(event=event, manage_token=manage_token, room_secret=room_secret)


@transaction.atomic
def event_create_by_organisation(*, organisation, organiser_email: str, **details) -> EventCreated:
    """An organisation's tool (its API key) creates an event in the name of `organiser_email`.

    Invitations leave at once only for a member of the organisation who proved the address is theirs;
    any other organiser confirms by email first, as anonymous organisers do, so that a key cannot send
    invitations in a stranger's name.
    """
    member = organisation_member_verified(organisation=organisation, email=organiser_email)
    return event_create(
        organisation=organisation,
        organiser_email=organiser_email,
        user=member,
        organiser_proven=member is not None,
        **details,
    )


def _invitation_quota_check(*, organisation_id: int | None, adding: int, now) -> None:
    """Refuse invitations past the organisation's daily cap (a rolling 24 hours), before anything is written."""
    if organisation_id is None or adding <= 0:
        return
    # Serialises an organisation's concurrent requests so that two cannot both pass the count.
    list(Organisation.objects.select_for_update().filter(pk=organisation_id).values_list("pk", flat=True))
    limit = meetings_setting("org_invitations_per_day")
    since = now - timedelta(days=1)
    if selectors.invitations_created_count(organisation_id=organisation_id, since=since) + adding > limit:
        error = InvitationQuotaExceeded(
            {
                "invitees": [
                    _("The organisation has reached its limit of %(limit)s invitations per day.")
                    % {"limit": limit}
                ]
            }
        )
        oldest = selectors.invitations_created_first(organisation_id=organisation_id, since=since)
        if oldest is not None:
            error.retry_after = max(1, int((oldest - since).total_seconds()))
        raise error


def _marketing_consent_record(*, event: Event, user, language: str, version: str, now) -> None:
    """The optional opt-in of the creation form goes to the consent ledger, with the exact text shown."""
    with translation.override(language):
        text = str(MARKETING_CONSENT_TEXT)
    consent_record(
        email=event.organiser_email,
        purpose="marketing",
        text=text,
        text_version=version,
        method="checkbox",
        context="meetings.event_create",
        user=user,
        language=language,
        now=now,
    )


def _invitations_create(event: Event, emails: list[str], *, now, languages=None) -> list[Invitation]:
    start = (event.invitations.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    languages = languages or {}
    invitations = []
    for offset, email in enumerate(emails):
        invitation = Invitation(
            event=event,
            email=email,
            position=start + offset,
            created_at=now,
            # Stored only when it differs from the event's, so a change of the event's language follows.
            language="" if languages.get(email, "") == event.language else languages.get(email, ""),
        )
        invitation.token_hash = links.token_digest(links.invite_token(invitation.public_id))
        invitations.append(invitation)
    return Invitation.objects.bulk_create(invitations)


@transaction.atomic
def event_verify(*, event: Event, room_secret: str, now=None) -> int:
    """The organiser opened the link sent to their address: send the invitations (once)."""
    _secret_check(event, room_secret)
    now = now or timezone.now()
    claimed = Event.objects.filter(pk=event.pk, status=Event.Status.UNVERIFIED).update(
        status=Event.Status.SCHEDULED, verified_at=now, updated_at=now
    )
    if not claimed:
        return 0
    event.refresh_from_db()
    security_event_record(
        action="meetings.organiser_verified", email=event.organiser_email, data={"event": event.public_id}
    )
    if event.marketing_opt_in_language:
        # The address is now proven to be the person's: their opt-in can enter the ledger.
        _marketing_consent_record(
            event=event,
            user=event.created_by,
            language=event.marketing_opt_in_language,
            version=event.marketing_opt_in_version,
            now=now,
        )
        event.marketing_opt_in_language = event.marketing_opt_in_version = ""
        event.save(update_fields=["marketing_opt_in_language", "marketing_opt_in_version"])
    return _invitations_send_all(event, room_secret, update=False)


@transaction.atomic
def event_update(
    *,
    event: Event,
    room_secret: str = "",
    title: str | None = None,
    description: str | None = None,
    starts_at: datetime | None = None,
    time_zone: str | None = None,
    duration_minutes: int | None = None,
    reminder_enabled: bool | None = None,
    now=None,
) -> bool:
    """Change details and/or the reminder switch. New details reach every invitee with the next SEQUENCE.

    Returns True when update emails were queued. The room secret is needed only then.
    """
    now = now or timezone.now()
    event = Event.objects.select_for_update().get(pk=event.pk)
    _editable(event, now)
    current = {
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at,
        "time_zone": event.time_zone,
        "duration_minutes": event.duration_minutes,
    }
    wanted = {
        "title": current["title"] if title is None else title,
        "description": current["description"] if description is None else description,
        "starts_at": current["starts_at"] if starts_at is None else starts_at,
        "time_zone": current["time_zone"] if time_zone is None else time_zone,
        "duration_minutes": current["duration_minutes"] if duration_minutes is None else duration_minutes,
    }
    cleaned = _details_validate(**wanted, now=now, check_past=wanted["starts_at"] != current["starts_at"])
    wanted.update(cleaned)
    changed = wanted != current
    if changed:
        _secret_check(event, room_secret)
    if reminder_enabled is not None:
        event.reminder_enabled = reminder_enabled
    if changed:
        if wanted["starts_at"] != current["starts_at"]:
            event.reminder_queued_at = None
        event.title = wanted["title"]
        event.description = wanted["description"]
        event.starts_at = wanted["starts_at"]
        event.ends_at = wanted["starts_at"] + timedelta(minutes=wanted["duration_minutes"])
        event.time_zone = wanted["time_zone"]
        event.sequence += 1
    event.updated_at = now
    event.save()
    if changed and event.status == Event.Status.SCHEDULED:
        _invitations_send_all(event, room_secret, update=True)
    return changed


def event_room_end(*, event_id: int, now=None) -> None:
    """The organiser ended the meeting for everyone: invitees and guests are refused until it reopens."""
    Event.objects.filter(pk=event_id).update(room_ended_at=now or timezone.now())


def event_room_reopen(*, event_id: int) -> bool:
    """The organiser came back into an ended room: the others may join again."""
    return bool(Event.objects.filter(pk=event_id, room_ended_at__isnull=False).update(room_ended_at=None))


@transaction.atomic
def event_cancel(*, event: Event, now=None) -> int:
    """Cancel: every invitee gets a METHOD:CANCEL calendar file; links stop opening the room."""
    now = now or timezone.now()
    claimed = (
        Event.objects.filter(pk=event.pk)
        .exclude(status=Event.Status.CANCELLED)
        .update(status=Event.Status.CANCELLED, cancelled_at=now, updated_at=now)
    )
    if not claimed:
        return 0
    event.refresh_from_db()
    was_sent = event.verified_at is not None
    event.sequence += 1
    # An opt-in still waiting for the address's confirmation will never be confirmed now.
    event.marketing_opt_in_language = event.marketing_opt_in_version = ""
    event.save(update_fields=["sequence", "marketing_opt_in_language", "marketing_opt_in_version"])
    if not was_sent:
        return 0
    invitations = list(
        event.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True, sent_sequence__gte=0)
    )
    for invitation in invitations:
        _cancellation_send(event, invitation, template="cancellation")
    return len(invitations)


# --- invitations ------------------------------------------------------------------------------------


@transaction.atomic
def invitation_add(*, event: Event, email: str, room_secret: str, language: str = "", now=None) -> Invitation:
    now = now or timezone.now()
    _editable(event, now)
    _secret_check(event, room_secret)
    email = _email_validate(email, field="email")
    if language and language not in LANGUAGES:
        raise ValidationError({"language": [_("Choose French or English.")]})
    active = event.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True)
    if active.filter(email=email).exists():
        raise ValidationError({"email": [_("This address is already invited.")]})
    if active.count() >= meetings_setting("max_invitees"):
        raise ValidationError(
            {"email": [_("At most %(limit)s invitees.") % {"limit": meetings_setting("max_invitees")}]}
        )
    _invitation_quota_check(organisation_id=event.organisation_id, adding=1, now=now)
    try:
        with transaction.atomic():
            (invitation,) = _invitations_create(event, [email], now=now, languages={email: language})
    except IntegrityError:
        raise ValidationError({"email": [_("This address is already invited.")]}) from None
    if event.status == Event.Status.SCHEDULED:
        cancelled_before = event.invitations.filter(
            email=email, revoked_at__isnull=False, sent_sequence__gte=event.sequence
        )
        if cancelled_before.exists():
            # Their calendar holds our CANCEL: only a higher SEQUENCE brings the event back.
            _sequence_next(event, now)
        _invitation_send(event, invitation, room_secret, update=False)
        invitation.save(update_fields=["sent_sequence"])
    return invitation


@transaction.atomic
def invitation_remove(*, event: Event, invitation: Invitation, now=None) -> bool:
    """Revoke the person's link at once; if they were invited already, their calendar entry is cancelled."""
    now = now or timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, event=event, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if not claimed:
        return False
    invitation.refresh_from_db()
    if (
        invitation.kind == Invitation.Kind.INVITEE
        and invitation.sent_sequence >= 0
        and event.status == Event.Status.SCHEDULED
        and event.ends_at > now
    ):
        # Calendar apps ignore a CANCEL whose SEQUENCE does not exceed the one they hold.
        _sequence_next(event, now)
        _cancellation_send(event, invitation, template="removed")
        invitation.sent_sequence = event.sequence
        invitation.save(update_fields=["sent_sequence"])
    return True


def _sequence_next(event: Event, now) -> None:
    Event.objects.filter(pk=event.pk).update(sequence=F("sequence") + 1, updated_at=now)
    event.refresh_from_db(fields=["sequence", "updated_at"])


@transaction.atomic
def invitation_resend(*, event: Event, invitation: Invitation, room_secret: str, now=None) -> None:
    _editable(event, now)
    _secret_check(event, room_secret)
    if event.status != Event.Status.SCHEDULED or not invitation.is_active or not invitation.email:
        raise EventNotEditable
    # The invitation as it stands now: the sequence may have moved for reasons other than new details.
    _invitation_send(event, invitation, room_secret, update=False)
    invitation.save(update_fields=["sent_sequence"])


@transaction.atomic
def guest_link_create(*, event: Event, room_secret: str, now=None) -> Invitation:
    """A link for people without an invitation: its holders wait in the lobby until admitted."""
    now = now or timezone.now()
    _editable(event, now)
    _secret_check(event, room_secret)
    invitation = Invitation(event=event, kind=Invitation.Kind.GUEST, created_at=now, position=0)
    invitation.token_hash = links.token_digest(links.invite_token(invitation.public_id))
    invitation.save()
    return invitation


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
        _queue(event, to=invitation.email, template="reminder", context={}, language=invitation.language)
        count += 1
    return count


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
    """Live-session data: deleted 7 days after the session was created, with everything hanging off it."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("session_retention_days"))
    return _sessions_delete(MeetingSession.objects.filter(created_at__lt=cutoff), batch_size)


def events_expired_delete(*, now=None, batch_size: int = BATCH_SIZE) -> int:
    """Events and their invitations: deleted 30 days after the end of the event.

    Unconfirmed events go at the same limit: their invitations never left. Returns the rows deleted.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("event_retention_days"))
    return _events_delete(Event.objects.filter(ends_at__lt=cutoff), batch_size)


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
