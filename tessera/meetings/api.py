"""Meetings API for organisations: create, read, update and cancel events with an organisation API key."""

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status

from tessera.accounts.api_keys import OrganisationKeyAuth
from tessera.core.api import ApiError, error_responses, links
from tessera.core.ratelimit import limit_hit

from . import selectors, services
from .conf import meetings_setting
from .models import Event

router = Router(tags=["meetings"], auth=OrganisationKeyAuth())

Language = Literal["fr", "en"]
# One line with something other than spaces: the title becomes an email subject and a calendar SUMMARY.
TITLE = r"^[^\x00]*\S[^\x00]*$"
NO_NUL = r"^[^\x00]*$"
EMAIL = {"format": "email"}
ZONE = r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"
ROOM_SECRET = r"^([A-Za-z0-9_-]{43})?$"
EVENT_ID = Path(..., max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class InvitationOut(Schema):
    id: str
    email: str
    kind: Literal["invitee", "guest"]
    language: Language = Field(description="Language of this person's emails.")
    revoked: bool


class InviteeIn(Schema):
    email: str = Field(min_length=3, max_length=254, json_schema_extra=EMAIL)
    language: Literal["", "fr", "en"] = Field("", description="fr or en; empty for the event's language.")


Invitee = Annotated[str, Field(min_length=3, max_length=254, json_schema_extra=EMAIL)] | InviteeIn


class EventOut(Schema):
    id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    duration_minutes: int
    organiser_email: str
    language: Language
    status: Literal["unverified", "scheduled", "cancelled"] = Field(
        description="`unverified` until the organiser confirms their address: no invitation has left yet."
    )
    sequence: int
    reminder_enabled: bool
    key_in_links: bool = Field(
        description=(
            "Whether the links carry the room's key (`#<token>.<key>`). When false (the default) the key is "
            "born in the organiser's browser, no email carries it and the server never receives it."
        )
    )
    large_meeting: bool = Field(
        description="Whether the room goes through the media server from its first participant."
    )
    invitations: list[InvitationOut]


class EventCreatedOut(EventOut):
    room_secret: str | None = Field(
        description=(
            "The room's key, only when `key_in_links` is true: the one sent, or one drawn by the server. "
            "Returned once, never stored: keep it to send updates. Null otherwise: the server has no key."
        )
    )
    manage_url: str | None = Field(
        description=(
            "The organiser's private management link, also emailed to them. Null while the event is "
            "`unverified`: only the organiser receives it, to confirm."
        )
    )


class EventIn(Schema):
    title: str = Field(min_length=1, max_length=200, pattern=TITLE)
    description: str = Field("", max_length=5000, pattern=NO_NUL)
    starts_at: datetime = Field(
        description=(
            "Local date and time in `time_zone`, or an offset-aware time. Must be in the future and at most "
            "two years ahead (else 400)."
        )
    )
    time_zone: str = Field(
        "Europe/Paris", min_length=1, max_length=64, pattern=ZONE, description="An IANA time zone name."
    )
    duration_minutes: int = Field(60, ge=5, le=24 * 60)
    organiser_email: str = Field(
        min_length=3,
        max_length=254,
        json_schema_extra=EMAIL,
        description=(
            "Invitations leave at once when this is the verified address of a member of the key's "
            "organisation; otherwise the event stays `unverified` and this address is asked to confirm first."
        ),
    )
    invitees: list[Invitee] = Field(
        default_factory=list,
        max_length=1000,
        description=(
            "Addresses, or objects with an address and the language of that person's emails. At most 200 "
            "different addresses (the deployment may change it; else 400), within the organisation's daily "
            "cap of invitations (else 429)."
        ),
    )
    language: Language = "fr"
    reminder_enabled: bool = True
    key_in_links: bool = Field(
        False,
        description=(
            "Links that carry the room's key, so that anyone can join alone from their email link; the "
            "emails, so this server and the email provider, then carry the key. False by default: the links "
            "carry a token only and a participant who holds the key hands it over in the meeting."
        ),
    )
    large_meeting: bool = Field(
        False,
        description=(
            "A room for many people (an all-hands, a class, a webinar): it goes through the media server from "
            "its first participant, still end-to-end encrypted. Refused (400) on a server without one."
        ),
    )
    room_secret: str = Field(
        "",
        max_length=43,
        pattern=ROOM_SECRET,
        description=(
            "Only with `key_in_links`: the room's key drawn by the client (43 base64url characters). "
            "Omitted, the server draws one. Refused (422) without `key_in_links`."
        ),
    )


class EventPatch(Schema):
    room_secret: str = Field(
        "",
        max_length=43,
        pattern=ROOM_SECRET,
        description=(
            "Only for an event with `key_in_links`: required when details change or invitees are added, "
            "since new links are sent. Refused (422) for an event whose links do not carry the key."
        ),
    )
    title: str | None = Field(None, min_length=1, max_length=200, pattern=TITLE)
    description: str | None = Field(None, max_length=5000, pattern=NO_NUL)
    starts_at: datetime | None = Field(None, description="In the future, at most two years ahead (else 400).")
    time_zone: str | None = Field(None, min_length=1, max_length=64, pattern=ZONE)
    duration_minutes: int | None = Field(None, ge=5, le=24 * 60)
    reminder_enabled: bool | None = None
    invitees_add: list[Invitee] = Field(default_factory=list, max_length=200)
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
        "key_in_links": event.key_in_links,
        "large_meeting": event.large_meeting,
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
    if value is None or timezone.is_aware(value) or zone not in services.TIME_ZONES:
        # Left naive: the service refuses it with a clear message. ZoneInfo itself would raise on
        # names such as "America" (a directory of the zone database) or "zone.tab".
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def _throttle(request) -> None:
    limit, period = meetings_setting("api_per_organisation")
    verdict = limit_hit(scope="meetings.api", key=str(request.organisation.pk), limit=limit, period=period)
    if not verdict.allowed:
        raise ApiError(429, _("Too many requests."), retry_after=verdict.retry_after)


def _quota_exceeded(error: services.InvitationQuotaExceeded) -> ApiError:
    body = _error(_("The organisation's invitations for today are used up."), error)
    return ApiError(429, body["detail"], body["errors"], retry_after=error.retry_after)


def _event_links(status: int, pointer: str) -> dict:
    return links(
        status,
        "event_id",
        pointer,
        ReadEvent="tessera_meetings_api_event_read",
        UpdateEvent="tessera_meetings_api_event_update",
        CancelEvent="tessera_meetings_api_event_cancel",
    )


def _no_secret_wanted() -> ApiError:
    return ApiError(
        422,
        _("room_secret is accepted only for an event whose links carry the key (key_in_links)."),
        {"room_secret": [_("Leave it out: the server must not receive the key of this event.")]},
    )


def _not_found():
    return Status(404, {"detail": _("No such event."), "errors": {}})


@router.post(
    "/events",
    response={201: EventCreatedOut, **error_responses(400, 401, 422, 429)},
    openapi_extra=_event_links(201, "/id"),
)
def event_create(request, payload: EventIn):
    _throttle(request)
    organiser_limit, period = meetings_setting("create_per_organiser")
    verdict = limit_hit(
        scope="meetings.create_per_organiser",
        key=payload.organiser_email.strip().lower(),
        limit=organiser_limit,
        period=period,
    )
    if not verdict.allowed:
        raise ApiError(429, _("Too many events for this organiser address."), retry_after=verdict.retry_after)
    if payload.room_secret and not payload.key_in_links:
        raise _no_secret_wanted()
    try:
        created = services.event_create_by_organisation(
            organisation=request.organisation,
            organiser_email=payload.organiser_email,
            title=payload.title,
            description=payload.description,
            starts_at=_aware(payload.starts_at, payload.time_zone),
            time_zone=payload.time_zone,
            duration_minutes=payload.duration_minutes,
            invitees=[_address(invitee) for invitee in payload.invitees],
            invitee_languages={
                invitee.email: invitee.language
                for invitee in payload.invitees
                if isinstance(invitee, InviteeIn) and invitee.language
            },
            language=payload.language,
            reminder_enabled=payload.reminder_enabled,
            key_in_links=payload.key_in_links,
            large_meeting=payload.large_meeting,
            room_secret=payload.room_secret,
        )
    except services.InvitationQuotaExceeded as error:
        raise _quota_exceeded(error) from error
    except ValidationError as error:
        return Status(400, _error(_("The event is not valid."), error))
    confirmed = created.event.verified_at is not None
    return Status(
        201,
        {
            **_out(created.event),
            "room_secret": created.room_secret or None,
            # Handing it to the key's holder would let them confirm in the organiser's name.
            "manage_url": created.manage_url if confirmed else None,
        },
    )


@router.get(
    "/events",
    response={200: list[EventOut], **error_responses(401)},
    openapi_extra=_event_links(200, "/0/id"),
)
def event_list(request):
    return [_out(event) for event in selectors.event_list_of_organisation(organisation=request.organisation)]


@router.get("/events/{event_id}", response={200: EventOut, **error_responses(401, 404, 422)})
def event_read(request, event_id: str = EVENT_ID):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return _not_found()
    return Status(200, _out(event))


@router.patch("/events/{event_id}", response={200: EventOut, **error_responses(400, 401, 404, 409, 422, 429)})
def event_update(request, payload: EventPatch, event_id: str = EVENT_ID):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return _not_found()
    if payload.room_secret and not event.key_in_links:
        raise _no_secret_wanted()
    try:
        services.event_patch(
            event=event,
            room_secret=payload.room_secret,
            title=payload.title,
            description=payload.description,
            starts_at=_aware(payload.starts_at, payload.time_zone or event.time_zone),
            time_zone=payload.time_zone,
            duration_minutes=payload.duration_minutes,
            reminder_enabled=payload.reminder_enabled,
            invitees_add=[
                (_address(invitee), invitee.language if isinstance(invitee, InviteeIn) else "")
                for invitee in payload.invitees_add
            ],
            invitees_remove=payload.invitees_remove,
        )
    except services.RoomSecretMismatch:
        return Status(
            400,
            {
                "detail": _(
                    "room_secret is missing or wrong: this event's links carry the key, so it is needed to "
                    "send new links."
                ),
                "errors": {},
            },
        )
    except services.EventNotEditable:
        return Status(409, {"detail": _("The event was cancelled or has ended."), "errors": {}})
    except services.InvitationQuotaExceeded as error:
        raise _quota_exceeded(error) from error
    except ValidationError as error:
        return Status(400, _error(_("The change is not valid."), error))
    event.refresh_from_db()
    return Status(200, _out(event))


@router.post("/events/{event_id}/cancel", response={200: EventOut, **error_responses(401, 404, 422)})
def event_cancel(request, event_id: str = EVENT_ID):
    event = selectors.event_of_organisation(organisation=request.organisation, public_id=event_id)
    if event is None:
        return _not_found()
    services.event_cancel(event=event)
    event.refresh_from_db()
    return Status(200, _out(event))
