"""Per-address and per-room limits of the signaling server, over real WebSockets.

The test server trusts `X-Forwarded-For` from loopback, as a deployment trusts its front proxy, so each
client here speaks for the address a proxy would report (documentation addresses, RFC 5737).
"""

import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from websockets.sync.client import connect

from tessera.meetings.models import SessionParticipant

from .conftest import Client, closing_opener, meeting_create

ADDRESS_A, ADDRESS_B = "203.0.113.10", "203.0.113.11"


class AddressedClient(Client):
    """A page behind the front proxy, which reports its address."""

    def __init__(self, server, room_id: str, address: str):
        self.stack = ExitStack()
        self.ws = self.stack.enter_context(
            connect(
                f"ws://127.0.0.1:{server.port}/ws/meet/{room_id}",
                open_timeout=5,
                max_size=None,
                additional_headers={"X-Forwarded-For": address},
            )
        )
        self.welcome = {}

    def alive(self) -> bool:
        self.send(type="ping")
        return self.recv()["type"] == "pong"


@pytest.fixture
def from_address(server):
    yield from closing_opener(lambda room_id, address: AddressedClient(server, room_id, address))


def _mid_window():
    """A frozen clock in the middle of a rate-limit window, so that no window boundary falls in the test."""
    return timezone.now().replace(second=20, microsecond=0)


def test_failed_authentications_from_one_address_end_in_rate_limited(
    server, room_settings, clients, from_address
):
    room_settings["auth_failures_per_ip"] = (3, 60)
    with time_machine.travel(_mid_window(), tick=False) as clock:
        meeting, other = meeting_create(), meeting_create()
        bystander = clients(other.room_id)
        bystander.join(other.tokens[0])
        for _ in range(3):
            guesser = from_address(meeting.room_id, ADDRESS_A)
            assert guesser.auth("A" * 43)["code"] == "invalid_token"
            assert guesser.closed_with() == 4401
        guesser = from_address(meeting.room_id, ADDRESS_A)
        limited = guesser.auth("B" * 43)
        assert limited["type"] == "error" and limited["code"] == "rate_limited"
        assert 1 <= limited["retry_after"] <= 60
        assert guesser.closed_with() == 4429
        # From then on the address is refused before any check: a right token does not get in either.
        lucky = from_address(meeting.room_id, ADDRESS_A)
        assert lucky.auth(meeting.tokens[0])["code"] == "rate_limited"
        assert lucky.closed_with() == 4429
        assert not SessionParticipant.objects.filter(session__event=meeting.event).exists()
        # Other addresses and other rooms are not affected.
        neighbour = from_address(meeting.room_id, ADDRESS_B)
        assert neighbour.join(meeting.tokens[1])["type"] == "welcome"
        bystander.send(type="ping")
        assert bystander.recv("pong")
        # Once the window is over, the address may try again.
        clock.shift(timedelta(seconds=61))
        back = from_address(meeting.room_id, ADDRESS_A)
        assert back.join(meeting.tokens[0])["type"] == "welcome"


def test_connections_per_address_are_limited_and_counted_back(server, room_settings, clients, from_address):
    room_settings.update(connections_per_ip=4, unauthenticated_per_ip=2)
    meeting = meeting_create()
    first, second = (from_address(meeting.room_id, ADDRESS_A) for _ in range(2))
    assert first.alive() and second.alive()
    # A third connection that has not authenticated yet is one too many.
    refused = from_address(meeting.room_id, ADDRESS_A)
    error = refused.recv("error")
    assert error["code"] == "too_many_connections" and "unauthenticated" in error["message"]
    assert refused.closed_with() == 4429
    # An authenticated connection no longer counts as waiting.
    first.join(meeting.tokens[0])
    third = from_address(meeting.room_id, ADDRESS_A)
    assert third.alive()
    second.join(meeting.tokens[1])
    fourth = from_address(meeting.room_id, ADDRESS_A)
    assert fourth.alive()
    # Four open from this address: the fifth is refused whatever its state.
    fifth = from_address(meeting.room_id, ADDRESS_A)
    error = fifth.recv("error")
    assert error == {
        "type": "error",
        "code": "too_many_connections",
        "message": "too many connections from your address",
    }
    assert fifth.closed_with() == 4429
    # Other addresses, and this host's own processes, are not affected.
    assert from_address(meeting.room_id, ADDRESS_B).alive()
    local = clients(meeting.room_id)
    local.join(meeting.tokens[2])
    # A closed connection is counted back (once the server has seen it close).
    fourth.close()
    deadline = time.monotonic() + 5
    while True:
        again = from_address(meeting.room_id, ADDRESS_A)
        again.send(type="ping")
        answer = again.recv()
        if answer["type"] == "pong":
            break
        assert answer["code"] == "too_many_connections"
        assert time.monotonic() < deadline, "the closed connection was never counted back"
    first.send(type="ping")
    assert first.recv("pong")


def test_a_full_lobby_refuses_more_guests_and_other_rooms_carry_on(room_settings, meeting, clients):
    room_settings["lobby_max"] = 2
    other = meeting_create()
    waiting = [clients(meeting.room_id) for _ in range(2)]
    for guest in waiting:
        assert guest.auth(meeting.guest_token)["type"] == "lobby"
    late = clients(meeting.room_id)
    error = late.auth(meeting.guest_token)
    assert error["type"] == "error" and error["code"] == "lobby_full"
    assert late.closed_with() == 4409
    # Another room's lobby is its own.
    elsewhere = clients(other.room_id)
    assert elsewhere.auth(other.guest_token)["type"] == "lobby"
    # Once someone is admitted, there is room to wait again.
    organiser = clients(meeting.room_id)
    welcome = organiser.join(meeting.manage_token, kind="organiser")
    assert len(welcome["lobby"]) == 2
    organiser.send(type="admit", pid=welcome["lobby"][0]["pid"], allow=True)
    assert waiting[0].recv("welcome")
    assert organiser.recv("lobby_update")["waiting"] == [welcome["lobby"][1]]
    assert clients(meeting.room_id).auth(meeting.guest_token)["type"] == "lobby"
    # A locked room's lobby has the same cap for invitees.
    organiser.send(type="lock", locked=True)
    assert waiting[0].recv("locked")["locked"] is True
    assert clients(meeting.room_id).auth(meeting.tokens[0])["code"] == "lobby_full"
