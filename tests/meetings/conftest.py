import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tessera.core.csrf import form_token_make
from tessera.meetings import services

# A link's fragment is `<token>`, or `<token>.<room-secret>` when the event's links carry the key (0010).
LINK = re.compile(r"(https?://[^\s\"<>]+/m/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]{43})?)")
MANAGE = re.compile(r"(https?://[^\s\"<>]+/m/manage/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]{43})?)")


@pytest.fixture
def starts_at():
    return (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)


@pytest.fixture
def event_details(starts_at):
    return {
        "title": "Point d'équipe",
        "description": "Ordre du jour",
        "starts_at": starts_at,
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "organiser_email": "organiser@example.org",
        "invitees": ["ana@example.com", "ben@example.com", "chloe@example.net"],
        "language": "fr",
        "age_confirmed": True,
    }


@pytest.fixture
def created(db, event_details, django_capture_on_commit_callbacks):
    """An anonymous organiser's event, not yet confirmed."""
    return services.event_create(**event_details)


@pytest.fixture
def created_with_key(db, event_details, django_capture_on_commit_callbacks):
    """An anonymous organiser's event whose links carry the key, drawn by their browser, not yet confirmed."""
    from tessera.meetings import links

    return services.event_create(**event_details, key_in_links=True, room_secret=links.room_secret_make())


@pytest.fixture
def scheduled_with_key(created_with_key):
    services.event_verify(event=created_with_key.event, room_secret=created_with_key.room_secret)
    created_with_key.event.refresh_from_db()
    return created_with_key


@pytest.fixture
def scheduled(created):
    services.event_verify(event=created.event, room_secret=created.room_secret)
    created.event.refresh_from_db()
    return created


def form_post(client, path, data, **extra):
    """POST the way a browser does on a cookie-free page: signed form token and same Origin."""
    extra.setdefault("HTTP_ORIGIN", "http://testserver")
    return client.post(path, {"csrfmiddlewaretoken": form_token_make(), **data}, **extra)


def key_of(url: str) -> str:
    return url.split("#", 1)[1]


def token_of(url: str) -> str:
    return key_of(url).split(".", 1)[0]


def outbox(kind: str | None = None, to: str | None = None):
    """Queued meetings emails as the relay will receive them (confidential bodies opened in memory)."""
    from tessera.core import sealing
    from tessera.core.models import OutboxMessage

    messages = OutboxMessage.objects.order_by("created_at")
    if kind:
        messages = messages.filter(kind=f"meetings_{kind}")
    if to:
        messages = messages.filter(recipient=to)
    messages = list(messages)
    for message in messages:
        assert message.confidential, "meetings emails carry link secrets and must be sealed at rest"
        message.body_text = sealing.open_text(message.body_text)
        message.body_html = sealing.open_text(message.body_html)
    return messages


def ics_of(message) -> bytes:
    from tessera.core import sealing

    (attachment,) = message.attachments.all()
    return sealing.open_bytes(bytes(attachment.content))


def create_form(starts_at, **overrides):
    data = {
        "title": "Weekly sync",
        "description": "Agenda",
        "date": starts_at.astimezone(ZoneInfo("Europe/Paris")).date().isoformat(),
        "time": "10:00",
        "time_zone": "Europe/Paris",
        "duration_minutes": "60",
        "organiser_email": "organiser@example.org",
        "invitees": "ana@example.com, ben@example.com\nchloe@example.net",
        "language": "en",
        "age_confirmed": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
