"""A live room's in-process state and its fan-out: the members, the room, the registry of rooms, and the
messages sent to one member, to the organisers or to the whole room through the channel layer.

`live` changes this state; moving it to Redis later changes these two modules only.
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field

from django.conf import settings

from . import conf
from .layers import room_layer
from .protocol import Close

ACTIVE, LOBBY, NOTICE = "active", "lobby", "notice"
log = logging.getLogger(__name__)

# Limits of the room that conf.DEFAULTS does not list (yet); settings.TESSERA_ROOM overrides them too.
LIMIT_DEFAULTS = {
    "lobby_max": 20,  # people waiting in one room's lobby
    "connections_per_ip": 100,  # open connections from one address, per process
    "unauthenticated_per_ip": 20,  # of which not authenticated yet
    # Addresses the two above do not count: this host's own processes (a proxy that forwards the
    # client's address is trusted by the ASGI server and replaces it; benchmarks; health checks).
    "connection_limit_exempt": ("127.0.0.1", "::1"),
}


def room_limit(name: str):
    return {**LIMIT_DEFAULTS, **conf.DEFAULTS, **getattr(settings, "TESSERA_ROOM", {})}[name]


@dataclass(eq=False)
class Member:
    pid: str
    channel: str
    role: str  # organiser, invitee, guest
    invitation_id: int | None
    name: str  # ciphertext: only the participants can read it
    resume: str
    status: str = LOBBY
    seq: int = 0
    participant_id: int | None = None
    connected: bool = True
    grace: asyncio.Task | None = None
    stats_at: float = 0.0

    @property
    def organiser(self) -> bool:
        return self.role == "organiser"

    def public(self) -> dict:
        return {"pid": self.pid, "name": self.name, "role": self.role, "seq": self.seq}


@dataclass(eq=False)
class Recording:
    notice_id: int
    recorder: str  # pid
    pending: set = field(default_factory=set)
    active: bool = False


@dataclass(eq=False)
class Room:
    room_id: str
    event_id: int
    large: bool = False  # the organiser's choice: through the SFU from the first participant
    moved: bool = False  # grew past the mesh and moved to the SFU (sfu.should_move)
    session_id: int | None = None
    members: dict = field(default_factory=dict)  # pid -> Member
    locked: bool = False
    recording: Recording | None = None
    next_seq: int = 1
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def group(self) -> str:
        return f"room.{self.room_id}"[:99]

    def active(self) -> list[Member]:
        return [m for m in self.members.values() if m.status == ACTIVE]

    def organisers(self) -> list[Member]:
        return [m for m in self.members.values() if m.status == ACTIVE and m.organiser and m.connected]

    def occupied(self) -> int:
        return sum(1 for m in self.members.values() if m.status in {ACTIVE, NOTICE})

    def lobby(self) -> list[dict]:
        return [{"pid": m.pid, "name": m.name} for m in self.members.values() if m.status == LOBBY]


rooms: dict[str, Room] = {}


def layer():
    return room_layer()


async def regroup(*, room_id: str, member: Member) -> None:
    """Put an active member's connection back in its room's group, at each heartbeat: a Redis that
    restarted (the channel layer at scale) forgot every group, and the room's broadcasts would reach
    nobody. Adding a member already there changes nothing; a Redis still away is tried again next time."""
    room = rooms.get(room_id)
    if room is None or room.members.get(member.pid) is not member or member.status != ACTIVE:
        return
    if not member.connected:
        return
    try:
        await layer().group_add(room.group, member.channel)
    except Exception as exc:  # the layer's own connection errors: Redis is away, the next beat retries
        log.warning("room: the channel layer refused a group: %s", type(exc).__name__)


async def send(member: Member, payload: dict) -> None:
    if member.connected:
        await layer().send(member.channel, {"type": "room.out", "text": json.dumps(payload)})


async def close(member: Member, payload: dict, code: Close) -> None:
    if member.connected:
        await layer().send(
            member.channel, {"type": "room.close", "text": json.dumps(payload), "code": int(code)}
        )
    member.connected = False


async def broadcast(room: Room, payload: dict, *, exclude: str = "") -> None:
    await layer().group_send(
        room.group, {"type": "room.out", "text": json.dumps(payload), "exclude": exclude}
    )


async def to_organisers(room: Room, payload: dict) -> None:
    for organiser in room.organisers():
        await send(organiser, payload)
