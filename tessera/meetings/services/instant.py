"""Instant meetings: a room opened at once, with no title, no address and no account.

The organiser's browser makes the room secret (decision 0010); the server stores the room's times, its
language, the hash of the management token and one guest link, and nothing about the person. No email
leaves. The room and all it holds are deleted 7 days after it was last used (`instant_expired_delete`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.core.audit import security_event_record
from tessera.core.tokens import opaque_id

from .. import links
from ..conf import meetings_setting
from ..models import Event, Invitation
from .validation import LANGUAGES


@dataclass
class InstantCreated:
    event: Event
    manage_token: str
    guest: Invitation

    @property
    def manage_url(self) -> str:
        return links.manage_url(event=self.event, manage_token=self.manage_token)

    @property
    def guest_url(self) -> str:
        # Without the key: guests wait in the lobby and are handed it in the room (decision 0010).
        return links.join_url(event=self.event, invitation=self.guest)


@transaction.atomic
def event_instant_create(*, language: str = "fr", now: datetime | None = None) -> InstantCreated:
    """Open a room now for `instant_duration_minutes`, with its management token and one guest link.

    Nothing personal is taken: no title, no address, no account, no network address (the view's rate
    limit keys on a hash of it). The security log records that an instant meeting was created, with
    nothing that points to a person or to the room, so that its entry outlives the room without linking.
    """
    if language not in LANGUAGES:
        raise ValidationError({"language": [_("Choose French or English.")]})
    now = now or timezone.now()
    manage_token = links.manage_token_make()
    event = Event.objects.create(
        room_id=opaque_id(16),
        public_id=opaque_id(12),
        manage_token_hash=links.token_digest(manage_token),
        instant=True,
        title="",
        starts_at=now,
        ends_at=now + timedelta(minutes=meetings_setting("instant_duration_minutes")),
        time_zone="UTC",
        organiser_email="",
        language=language,
        status=Event.Status.SCHEDULED,
        verified_at=now,
        reminder_enabled=False,
        created_at=now,
        updated_at=now,
    )
    guest = Invitation(event=event, kind=Invitation.Kind.GUEST, created_at=now, position=0)
    guest.token_hash = links.token_digest(links.invite_token(guest.public_id))
    guest.save()
    security_event_record(action="meetings.instant_created", data={})
    return InstantCreated(event=event, manage_token=manage_token, guest=guest)
