"""Checks shared by the meetings writes: details, addresses, the room secret, editability, the daily quota."""

import hmac
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation

from .. import links, selectors
from ..conf import meetings_setting
from ..models import Event

TIME_ZONES = frozenset(available_timezones())
LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)
DETAIL_FIELDS = ("title", "description", "starts_at", "time_zone", "duration_minutes")


class RoomSecretMismatch(Exception):
    """An event whose links carry the key got a room secret that is not its own (a truncated or mistyped
    link); never raised for links without the key, which need no secret."""


class EventNotEditable(Exception):
    """The event was cancelled or has ended."""


class InvitationQuotaExceeded(ValidationError):
    """The organisation has created its invitations for the day; nothing of the request was kept.

    `retry_after` is the number of seconds until the oldest invitation of the window stops counting.
    """

    retry_after: int = 3600


# --- validation -------------------------------------------------------------------------------------


def details_validate(
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


def invitees_validate(emails: list[str]) -> list[str]:
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


def email_validate(email: str, field: str = "organiser_email") -> str:
    email = (email or "").strip().lower()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        EmailValidator()(email)
    except ValidationError:
        raise ValidationError({field: [_("Enter a valid email address.")]}) from None
    return email


def secret_check(event: Event, room_secret: str) -> None:
    """Links that carry the key need the right secret to be emailed; links without it need none (0010)."""
    if not event.key_in_links:
        return
    if not links.room_secret_valid(room_secret) or not hmac.compare_digest(
        links.room_secret_check(room_secret), event.room_secret_check
    ):
        raise RoomSecretMismatch


def editable_check(event: Event, now=None) -> None:
    now = now or timezone.now()
    if event.status == Event.Status.CANCELLED or event.ends_at <= now:
        raise EventNotEditable


def invitation_quota_check(*, organisation_id: int | None, adding: int, now) -> None:
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
