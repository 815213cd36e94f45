"""Meetings with invitations, a guest link and the organiser's token, and WebSocket clients on the server."""

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tessera.meetings import links, services
from tessera.meetings.room import live


@dataclass
class Meeting:
    event: object
    room_id: str
    room_secret: str
    manage_token: str
    tokens: list = field(default_factory=list)  # invite tokens, in invitation order
    invitations: list = field(default_factory=list)
    guest_token: str = ""

    def link(self, index: int = 0) -> str:
        return f"/room/{self.room_id}#{self.tokens[index]}.{self.room_secret}"

    def organiser_link(self) -> str:
        return f"/room/{self.room_id}#o.{self.manage_token}.{self.room_secret}"


def meeting_create(*, invitees=4, starts_in=timedelta(minutes=5), now=None, large_meeting=False) -> Meeting:
    # The key is born in the organiser's browser and the server never sees it (decision 0010): the test
    # plays that browser, and hands the key to the pages through their links' fragments.
    room_secret = links.room_secret_make()
    created = services.event_create(
        title="Weekly review",
        starts_at=(now or timezone.now()) + starts_in,
        time_zone="Europe/Paris",
        duration_minutes=60,
        organiser_email="organiser@example.org",
        invitees=[f"person{i}@example.org" for i in range(invitees)],
        age_confirmed=True,
        large_meeting=large_meeting,
        now=now,
    )
    event = created.event
    services.event_verify(event=event, now=now)
    invitations = list(event.invitations.order_by("position"))
    guest = services.guest_link_create(event=event, now=now)
    return Meeting(
        event=event,
        room_id=event.room_id,
        room_secret=room_secret,
        manage_token=created.manage_token,
        tokens=[links.invite_token(i.public_id) for i in invitations],
        invitations=invitations,
        guest_token=links.invite_token(guest.public_id),
    )


@pytest.fixture
def room_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TESSERA_ROOM = {"heartbeat_seconds": 10, "resume_grace_seconds": 20}
    live.reset()
    yield settings.TESSERA_ROOM
    live.reset()


@pytest.fixture
def meeting(server, room_settings) -> Meeting:
    return meeting_create()


class Client:
    """A signaling client as a page would be one, speaking JSON on the real server."""

    def __init__(self, server, room_id: str):
        self.stack = ExitStack()
        self.ws = self.stack.enter_context(
            connect(f"ws://127.0.0.1:{server.port}/ws/meet/{room_id}", open_timeout=5, max_size=None)
        )
        self.welcome: dict = {}

    def send(self, **message):
        self.ws.send(json.dumps(message))

    def send_raw(self, data):
        self.ws.send(data)

    def recv(self, type_: str | None = None, timeout: float = 5.0) -> dict:
        """The next message (of that type), skipping the server's pings and anything else on the way."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {type_ or 'message'} within {timeout} s")
            message = json.loads(self.ws.recv(timeout=left))
            if message["type"] == "ping":
                continue
            if type_ is None or message["type"] == type_:
                return message

    def nothing(self, type_: str, wait: float = 0.5) -> bool:
        """True when no message of that type arrives within `wait` seconds."""
        try:
            self.recv(type_, timeout=wait)
        except (AssertionError, TimeoutError):
            return True
        return False

    def auth(self, token: str, kind: str = "invite", name: str = "Y2lwaGVy", resume: str = "") -> dict:
        self.send(type="auth", kind=kind, token=token, name=name, resume=resume)
        return self.recv()

    def join(self, token: str, kind: str = "invite", **kwargs) -> dict:
        first = self.auth(token, kind, **kwargs)
        assert first["type"] == "welcome", first
        self.welcome = first
        return first

    @property
    def pid(self) -> str:
        return self.welcome["pid"]

    def closed_with(self, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.ws.recv(timeout=deadline - time.monotonic())
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        except TimeoutError:
            pass
        raise AssertionError("the connection stayed open")

    def close(self):
        self.stack.close()


def closing_opener(make):
    """A fixture body: yields a function that opens clients with `make`, and closes them all after."""
    opened = []

    def open_(*args):
        client = make(*args)
        opened.append(client)
        return client

    yield open_
    for client in opened:
        try:
            client.close()
        except Exception:
            pass


@pytest.fixture
def clients(server):
    yield from closing_opener(lambda room_id: Client(server, room_id))
