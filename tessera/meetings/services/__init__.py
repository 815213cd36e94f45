"""Writes of the meetings app. Emails are queued in the outbox inside the same transaction.

Open the module of the thing you change; this package re-exports their public names, so callers write
`from tessera.meetings import services` then `services.event_create(...)`:

- validation: an event's details, addresses, the room secret, editability and the daily invitation quota;
- emails: the invitation, cancellation, management-link and reminder emails with their calendar files;
- instant: "Start a meeting now", a room with no title, no address and no account;
- events: creation, the organiser's confirmation, changes, the room's end and reopening, cancellation;
- invitations: adding, removing and resending an invitation, and the guest link;
- reminders: the reminders queued shortly before an event starts;
- retention: deletion of expired live sessions and events, and the deleters the room registers.
"""

from .events import (
    EventCreated,
    event_cancel,
    event_create,
    event_create_by_organisation,
    event_patch,
    event_room_end,
    event_room_reopen,
    event_update,
    event_verify,
)
from .instant import InstantCreated, event_instant_create
from .invitations import guest_link_create, invitation_add, invitation_remove, invitation_resend
from .reminders import reminders_queue_due
from .retention import (
    _session_data_deleters,
    events_expired_delete,
    instant_expired_delete,
    session_data_delete,
    session_data_deleter_register,
    sessions_expired_delete,
)
from .validation import (
    DETAIL_FIELDS,
    LANGUAGES,
    TIME_ZONES,
    EventNotEditable,
    InvitationQuotaExceeded,
    RoomSecretMismatch,
)

__all__ = [
    "DETAIL_FIELDS",
    "LANGUAGES",
    "TIME_ZONES",
    "EventCreated",
    "EventNotEditable",
    "InstantCreated",
    "InvitationQuotaExceeded",
    "RoomSecretMismatch",
    "_session_data_deleters",
    "event_cancel",
    "event_create",
    "event_create_by_organisation",
    "event_instant_create",
    "event_patch",
    "event_room_end",
    "event_room_reopen",
    "event_update",
    "event_verify",
    "events_expired_delete",
    "guest_link_create",
    "instant_expired_delete",
    "invitation_add",
    "invitation_remove",
    "invitation_resend",
    "reminders_queue_due",
    "session_data_delete",
    "session_data_deleter_register",
    "sessions_expired_delete",
]
