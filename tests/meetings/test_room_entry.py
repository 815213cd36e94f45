"""The live room refuses a link more than 15 minutes before the start, over the real WebSocket."""

from datetime import timedelta

import pytest

from tessera.meetings.room import live
from tests.room.conftest import Client, meeting_create


@pytest.fixture
def room_clients(server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    live.reset()
    opened = []

    def open_(room_id):
        opened.append(Client(server, room_id))
        return opened[-1]

    yield open_
    for client in opened:
        client.close()
    live.reset()


def test_joining_more_than_15_minutes_early_is_refused_and_14_minutes_early_is_welcome(room_clients):
    # Margins of a minute either side of the opening, so the real clock cannot cross it mid-test.
    early = meeting_create(invitees=1, starts_in=timedelta(minutes=16))
    for token, kind in ((early.tokens[0], "invite"), (early.manage_token, "organiser")):
        refused = room_clients(early.room_id).auth(token, kind=kind)
        assert refused["type"] == "error" and refused["code"] == "not_open_yet", kind
    assert early.event.sessions.count() == 0  # a refused entry opens no session
    soon = meeting_create(invitees=1, starts_in=timedelta(minutes=14))
    assert room_clients(soon.room_id).auth(soon.tokens[0])["type"] == "welcome"
    assert room_clients(soon.room_id).auth(soon.manage_token, kind="organiser")["type"] == "welcome"
