"""iCalendar (RFC 5545 / iTIP RFC 5546) files for one invitee: REQUEST on invitation and update, CANCEL."""

from datetime import UTC, date
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Timezone, vCalAddress, vText
from icalendar import Event as VEvent

from tessera.core.text import printable

PRODID = "-//Tessera//Meetings//EN"


def calendar_uid(event) -> str:
    host = urlsplit(settings.TESSERA_BASE_URL).hostname or "localhost"
    return f"{event.uid}@{host}"


def content_type(method: str) -> str:
    # Django adds `charset="utf-8"` itself to text/* attachments; repeating it would duplicate it.
    return f"text/calendar; method={method}"


def invitation_ics(*, event, attendee_email: str, url: str = "", method: str = "REQUEST") -> bytes:
    """One VEVENT with that attendee only; `url` is their personal link (omitted when cancelling).

    The title and description go through `printable`: CR becomes a line break, other control
    characters are dropped.
    """
    zone = ZoneInfo(event.time_zone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    vevent = VEvent()
    vevent.add("uid", calendar_uid(event))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", timezone.now().astimezone(UTC).replace(microsecond=0))
    vevent.add("dtstart", event.starts_at.astimezone(zone).replace(microsecond=0))
    vevent.add("dtend", event.ends_at.astimezone(zone).replace(microsecond=0))
    # Control characters are refused by calendar clients; CR would read as a line end.
    vevent.add("summary", vText(printable(event.title)))
    description = printable(event.description)
    if url:
        description = f"{description}\n\n{url}".strip()
        vevent.add("url", url)
        vevent.add("location", vText(url))
    if description:
        vevent.add("description", vText(description))
    organiser = vCalAddress(f"mailto:{event.organiser_email}")
    organiser.params["cn"] = vText(event.organiser_email)
    vevent.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["cutype"] = vText("INDIVIDUAL")
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    vevent.add("attendee", attendee)
    vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    cal.add_component(_vtimezone(event.time_zone, event.starts_at.year))
    cal.add_component(vevent)
    return cal.to_ical()


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, year: int) -> Timezone:
    """The VTIMEZONE around the event's year; computed once for all the invitees of an event."""
    return Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 1, 12, 31))
