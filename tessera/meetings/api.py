"""Meetings API for organisations: create, read, update and cancel events with an organisation API key."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from tessera.accounts.api_keys import OrganisationKeyAuth
from tessera.core.ratelimit import limit_hit

from . import selectors, services
from .conf import meetings_setting
from .models import Event

router = Router(tags=["meetings"], auth=OrganisationKeyAuth())


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class InvitationOut(Schema):
    id: str
    email: str
    kind: str
    language: str = Field(description="Language of this person's emails.")
    revoked: bool


class InviteeIn(Schema):
    email: str = Field(max_length=254)
    language: str = Field("", max_length=8, description="fr or en; empty for the event's language.")


class EventOut(Schema):
    id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    duration_minutes: int
    organiser_email: str
    language: str
    status: str
    sequence: int
    reminder_enabled: bool
    invitations: list[InvitationOut]


class EventCreatedOut(EventOut):
    room_secret: str = Field(
        description="The room's key. Returned once, never stored: keep it to send updates."
    )
    manage_url: str = Field(description="The organiser's private management link (also emailed to them).")


class EventIn(Schema):
    title: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    starts_at: datetime = Field(description="Local date and time in `time_zone`, or an offset-aware time.")
    time_zone: str = Field("Europe/Paris", max_length=64)
    duration_minutes: int = Field(60, ge=5, le=24 * 60)
    organiser_email: str = Field(max_length=254)
    invitees: list[str | InviteeIn] = Field(
        default_factory=list,
        max_length=1000,
        description="Addresses, or objects with an address and the language of that person's emails.",
    )
    language: str = Field("fr", max_length=8)
    reminder_enabled: bool = True


class EventPatch(Schema):
    room_secret: str = Field(
        "", max_length=64, description="Required when details change: new links are sent."
    )
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    starts_at: datetime | None = None
    time_zone: str | None = Field(None, max_length=64)
    duration_minutes: int | None = Field(None, ge=5, le=24 * 60)
    reminder_enabled: bool | None = None
    invitees_add: list[str | InviteeIn] = Field(default_factory=list, max_length=200)
    invitees_remove: list[str] = Field(default_factory=list, max_length=200)


def _out(event: Event) -> dict:
    return {
        "id": event.public_id,
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "time_zone": event.time_zone,
        "duration_minutes": event.duration_minutes,
        "organiser_email": event.organiser_email,
        "language": event.language,
        "status": event.status,
        "sequence": event.sequence,
        "reminder_enabled": event.reminder_enabled,
        "invitations": [
            {
                "id": str(i.public_id),
                "email": i.email,
                "kind": i.kind,
                "language": i.language or event.language,
                "revoked": i.revoked_at is not None,
            }
            for i in event.invitations.order_by("position", "id")
        ],
    }


def _address(invitee: "str | InviteeIn") -> str:
    return invitee.email if isinstance(invitee, InviteeIn) else invitee


def _error(detail: str, error: ValidationError | None = None) -> dict:
    errors = {k: [str(m) for m in v] for k, v in error.message_dict.items()} if error else {}
    return {"detail": detail, "errors": errors}


def _aware(value: datetime | None, zone: str) -> datetime | None:
    if value is None or timezone.is_aware(value):
        return value
    try:
        return value.replace(tzinfo=ZoneInfo(zone))
    except (KeyError, ValueError):
        return value  # left naive: the service refuses it with a clear message


def _throttled(request) -> bool:
    limit, period = meetings_setting("api_per_organisation")
    return not limit_hit(
        scope="meetings.api", key=str(request.organisation.pk), limit=limit, period=period
    ).allowed


@router.post("/events", response={201: EventCreatedOut, 400: ErrorOut, 429: ErrorOut})
def event_create(request, payload: EventIn):
    if _throttled(request):
        return Status(429, {"detail": "Too many requests.", "errors": {}})
    organiser_limit, period = meetings_setting("create_per_organiser")
    if not limit_hit(
        scope="meetings.create_per_organiser",
        key=payload.organiser_email.strip().lower(),
        limit=organiser_limit,
        period=period,
    ).allowed:
        return Status(429, {"detail": "Too many events for this organiser address.", "errors": {}})
    try:
        created = services.event_create(
            title=payload.title,
            description=payload.description,
            starts_at=_aware(payload.starts_at, payload.time_zone),
            time_zone=payload.time_zone,
            duration_minutes=payload.duration_minutes,
            organiser_email=payload.organiser_email,
            invitees=[_address(invitee) for invitee in payload.invitees],
            invitee_languages={
                invitee.email: invitee.language
                for invitee in payload.invitees
                if isinstance(invitee, InviteeIn) and invitee.language
            },
            language=payload.language,
            reminder_enabled=payload.reminder_enabled,
            organisation=request.organisation,
        )
    except ValidationError as error:
        return Status(400, _error("The event is not valid.", error))
    return Status(
        201, {**_out(created.event), "room_secret": created.room_secret, "manage_url": created.manage_url}
    )


@router.get("/events", response=list[EventOut])
def event_list(request):
    return [_out(event) for event in selectors.event_list_of_organisation(organisation=request.organisation)]


@router.get("/events/{event_id}", response={200: EventOut, 404: ErrorOut})
def event_read(request, event_id: str):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return Status(404, {"detail": "No such event.", "errors": {}})
    return Status(200, _out(event))


@router.patch("/events/{event_id}", response={200: EventOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut})
def event_update(request, event_id: str, payload: EventPatch):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return Status(404, {"detail": "No such event.", "errors": {}})
    try:
        with transaction.atomic():
            _event_patch(event, payload)
    except services.RoomSecretMismatch:
        return Status(
            400,
            {
                "detail": "room_secret is missing or wrong: it is needed to send new links.",
                "errors": {},
            },
        )
    except services.EventNotEditable:
        return Status(409, {"detail": "The event was cancelled or has ended.", "errors": {}})
    except ValidationError as error:
        return Status(400, _error("The change is not valid.", error))
    event.refresh_from_db()
    return Status(200, _out(event))


@router.post("/events/{event_id}/cancel", response={200: EventOut, 404: ErrorOut})
def event_cancel(request, event_id: str):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return Status(404, {"detail": "No such event.", "errors": {}})
    services.event_cancel(event=event)
    event.refresh_from_db()
    return Status(200, _out(event))


def _event_patch(event: Event, payload: EventPatch) -> None:
    services.event_update(
        event=event,
        room_secret=payload.room_secret,
        title=payload.title,
        description=payload.description,
        starts_at=_aware(payload.starts_at, payload.time_zone or event.time_zone),
        time_zone=payload.time_zone,
        duration_minutes=payload.duration_minutes,
        reminder_enabled=payload.reminder_enabled,
    )
    event.refresh_from_db()
    for invitee in payload.invitees_add:
        services.invitation_add(
            event=event,
            email=_address(invitee),
            language=invitee.language if isinstance(invitee, InviteeIn) else "",
            room_secret=payload.room_secret,
        )
    for email in payload.invitees_remove:
        for invitation in event.invitations.filter(email=email.strip().lower(), revoked_at__isnull=True):
            services.invitation_remove(event=event, invitation=invitation)
