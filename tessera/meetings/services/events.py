"""Writes of an event: creation, confirmation of the organiser, changes, the room's end, cancellation."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tessera.accounts.selectors import organisation_member_verified
from tessera.core.audit import security_event_record
from tessera.core.tokens import opaque_id
from tessera.privacy.services import consent_record
from tessera.privacy.terms import terms_acceptance_record, terms_current

from .. import links
from ..conf import meetings_setting, sfu_available
from ..models import Event, Invitation
from ..texts import MARKETING_CONSENT_TEXT
from .emails import cancellation_send, invitations_send_all, manage_link_send
from .invitations import invitation_add, invitation_remove, invitations_create
from .validation import (
    LANGUAGES,
    details_validate,
    editable_check,
    email_validate,
    invitation_quota_check,
    invitees_validate,
    secret_check,
)


@dataclass
class EventCreated:
    event: Event
    manage_token: str
    # Empty unless the event's links carry the key: the server then never had it.
    room_secret: str

    @property
    def manage_url(self) -> str:
        return links.manage_url(
            event=self.event, manage_token=self.manage_token, room_secret=self.room_secret
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
    terms_accepted: bool = False,
    reminder_enabled: bool = True,
    key_in_links: bool = False,
    large_meeting: bool = False,
    room_secret: str = "",
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

    By default the room secret is born in the organiser's browser and the server never receives it, so
    a `room_secret` is refused. With `key_in_links` the links and emails carry it: the one given (drawn
    by the organiser's browser) or, when none is, one drawn here (decision 0010).
    """
    now = now or timezone.now()
    errors: dict = {}
    cleaned = {}
    for step in (
        lambda: cleaned.update(
            details_validate(
                title=title,
                description=description,
                starts_at=starts_at,
                time_zone=time_zone,
                duration_minutes=duration_minutes,
                now=now,
            )
        ),
        lambda: cleaned.update(organiser_email=email_validate(organiser_email)),
        lambda: cleaned.update(invitees=invitees_validate(invitees)),
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
    if room_secret and not key_in_links:
        errors["room_secret"] = [_("The meeting key is only sent to us when the links carry it.")]
    elif room_secret and not links.room_secret_valid(room_secret):
        errors["room_secret"] = [_("The meeting key is not valid.")]
    if large_meeting and not sfu_available():
        errors["large_meeting"] = [_("This server has no media server for large meetings.")]
    if errors:
        raise ValidationError(errors)
    invitation_quota_check(
        organisation_id=getattr(organisation, "pk", None), adding=len(cleaned["invitees"]), now=now
    )

    verified = organisation is not None and organiser_proven
    opt_in_language = (marketing_text_language or translation.get_language() or settings.LANGUAGE_CODE)[:8]
    opt_in_version = meetings_setting("marketing_consent_version")
    if key_in_links:
        room_secret = room_secret or links.room_secret_make()
    manage_token = links.manage_token_make()
    event = Event.objects.create(
        room_id=opaque_id(16),
        public_id=opaque_id(12),
        manage_token_hash=links.token_digest(manage_token),
        key_in_links=key_in_links,
        large_meeting=large_meeting,
        room_secret_check=links.room_secret_check(room_secret) if key_in_links else "",
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
    invitations_create(event, cleaned["invitees"], now=now, languages=invitee_languages)
    if marketing_opt_in and verified:
        _marketing_consent_record(
            event=event, user=event.created_by, language=opt_in_language, version=opt_in_version, now=now
        )
    if terms_accepted:
        # The creation form says that creating the event accepts the terms: the version is kept as proof.
        terms_acceptance_record(
            email=event.organiser_email,
            user=event.created_by,
            version=terms_current(),
            context="event_creation",
            now=now,
        )
    origin = origin or {}
    security_event_record(
        action="meetings.event_created",
        email=event.organiser_email,
        ip=origin.get("ip"),
        user_agent=origin.get("user_agent", ""),
        actor=event.created_by,
        data={
            "event": event.public_id,
            "invitees": len(cleaned["invitees"]),
            "verified": verified,
            "key_in_links": key_in_links,
        },
    )
    if verified:
        invitations_send_all(event, room_secret, update=False)
        manage_link_send(event, manage_token=manage_token, room_secret=room_secret, template="manage_link")
    else:
        manage_link_send(event, manage_token=manage_token, room_secret=room_secret, template="verify")
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


@transaction.atomic
def event_verify(*, event: Event, room_secret: str = "", now=None) -> int:
    """The organiser opened the link sent to their address: send the invitations (once).

    The room secret is needed, and checked, only when the event's links carry it.
    """
    secret_check(event, room_secret)
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
    return invitations_send_all(event, room_secret, update=False)


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

    Returns True when update emails were queued. The room secret is needed only then, and only when the
    event's links carry it.
    """
    now = now or timezone.now()
    event = Event.objects.select_for_update().get(pk=event.pk)
    editable_check(event, now)
    if event.instant:
        # No title, no invitee, no reminder: nothing of an instant meeting is meant to change.
        raise ValidationError({"title": [_("An instant meeting has no details to change.")]})
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
    cleaned = details_validate(**wanted, now=now, check_past=wanted["starts_at"] != current["starts_at"])
    wanted.update(cleaned)
    changed = wanted != current
    if changed:
        secret_check(event, room_secret)
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
        invitations_send_all(event, room_secret, update=True)
    return changed


@transaction.atomic
def event_patch(
    *,
    event: Event,
    room_secret: str = "",
    invitees_add: list[tuple[str, str]] = (),
    invitees_remove: list[str] = (),
    **details,
) -> None:
    """The API's change of an event: its details, then invitees added and removed, all or nothing.

    `invitees_add` holds (email, language) pairs; `details` are event_update's.
    """
    event_update(event=event, room_secret=room_secret, **details)
    event.refresh_from_db()
    for email, language in invitees_add:
        invitation_add(event=event, email=email, language=language, room_secret=room_secret)
    for email in invitees_remove:
        for invitation in event.invitations.filter(email=email.strip().lower(), revoked_at__isnull=True):
            invitation_remove(event=event, invitation=invitation)


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
        cancellation_send(event, invitation, template="cancellation")
    return len(invitations)
