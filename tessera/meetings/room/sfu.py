"""Large rooms through Janus (decision 0011): the server joins each participant to a VideoRoom as a
publisher and one subscriber, and relays their JSEP over the participant's own signaling WebSocket.

Each process keeps one Janus session per Janus, with keepalives. A room is placed on the least loaded
Janus and its placement is stored. When a Janus is lost, its rooms are made again on another one and
every page is told to publish and subscribe afresh (`restart`, with the room's new `epoch`). Keys and app
messages never come here: they keep going through the relay of `live`, and Janus only forwards frames it
cannot read (every JSEP says `e2ee: true`).
"""

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings

from . import selectors, services
from .conf import room_setting
from .janus import JanusConnection, JanusError, Publisher, Subscriber, VideoRoomAdmin, janus_enabled
from .protocol import Error, ProtocolError
from .state import Member, Room, send

log = logging.getLogger(__name__)
# How long a page may take to answer Janus's subscription offer before the server gives up on it.
ANSWER_SECONDS = 15.0
# A page's layer names to Janus's simulcast substreams (the publisher's rids h, m, l: 2, 1, 0).
SUBSTREAMS = {"h": 2, "m": 1, "l": 0}
# A shared screen is a publisher of its own, whose Janus id is its participant's with this suffix: a dot is
# not in a participant id's alphabet, so no participant's id can be another's screen.
SCREEN = ".screen"
# A screen is text and detail: one high-quality layer, with more room than a camera's top layer.
SCREEN_BITRATE = 2_500_000
# A Janus whose connection was lost gets no new room for this long, unless no other one answers.
DOWN_SECONDS = 30.0
# A room whose Janus was lost tries the others this many times, a second apart, before it gives up.
FAILOVER_TRIES = 10


def owner(feed: str) -> str:
    """The participant a Janus feed belongs to: its camera and microphone, or its shared screen."""
    return feed.removesuffix(SCREEN)


def topology(room=None) -> str:
    """ "sfu" when this deployment names a Janus and rooms are set to go through it, `room` is a large
    meeting its organiser chose, or it moved there as it grew; else the mesh."""
    wanted = room_setting("topology") == "sfu" or bool(room is not None and (room.large or room.moved))
    return "sfu" if janus_enabled() and wanted else "mesh"


def grows_into_sfu() -> bool:
    """Whether a mesh room moves to Janus, live, when it grows past `mesh_move_past`."""
    return janus_enabled() and room_setting("topology") == "auto"


def capacity(room) -> int:
    """How many participants `room` may hold: a room that goes, or can go, through Janus holds `room_max`."""
    if topology(room) == "sfu" or grows_into_sfu():
        return room_setting("room_max")
    return room_setting("mesh_max")


def should_move(room, newcomer) -> bool:
    """A mesh room that `newcomer` would take past `mesh_move_past` moves to Janus first."""
    if topology(room) == "sfu" or not grows_into_sfu():
        return False
    return sum(1 for m in room.active() if m is not newcomer) >= room_setting("mesh_move_past")


@dataclass(eq=False)
class Link:
    """This process's session on one Janus, and the handle it creates rooms with."""

    url: str
    connection: JanusConnection
    session: object
    admin: VideoRoomAdmin


@dataclass(eq=False)
class Party:
    """One participant's handles: what it publishes, and one subscription to everyone else's feeds."""

    pid: str
    publisher: Publisher | None = None
    screen: Publisher | None = None  # its shared screen, while it shares one
    subscriber: Subscriber | None = None
    subscribed: set = field(default_factory=set)
    answer: asyncio.Future | None = None
    pending: dict | None = None  # the subscription offer the page has not answered yet
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    unasked: list = field(default_factory=list)  # offers Janus made by itself (a feed went away)
    tasks: list = field(default_factory=list)
    layers: dict = field(default_factory=dict)  # pid -> the layer the page's layout wants of its camera
    relayed: dict = field(default_factory=dict)  # (mid, pid it carries) -> the layer Janus was told


@dataclass(eq=False)
class SfuRoom:
    room: Room
    link: Link
    janus_room: str
    secret: str
    # Drawn for each Janus room: a page that meets another epoch (a failover, a resume on another node)
    # publishes and subscribes afresh.
    epoch: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    feeds: set = field(default_factory=set)  # pids whose media reached Janus
    parties: dict = field(default_factory=dict)  # pid -> Party


_links: dict[str, Link] = {}
_link_lock = asyncio.Lock()
_down: dict[str, float] = {}  # url -> monotonic time until which a lost Janus gets no new room
rooms: dict[str, SfuRoom] = {}
_room_locks: dict[str, asyncio.Lock] = {}
_watchers: set = set()  # the tasks that wait for a link's loss, kept referenced


def epoch(room_id: str) -> str:
    """The epoch of the room's Janus room ("" when it has none): pages compare it with theirs."""
    sroom = rooms.get(room_id)
    return sroom.epoch if sroom else ""


async def _link(url: str) -> Link:
    async with _link_lock:
        link = _links.get(url)
        if link is not None and not link.session.gone.is_set():
            return link
        connection = await JanusConnection(url, settings.JANUS_API_SECRET).open()
        session = await connection.session(keepalive=room_setting("janus_keepalive_seconds"))
        admin = await VideoRoomAdmin.attach(session, admin_key=settings.JANUS_ADMIN_KEY)
        link = _links[url] = Link(url=url, connection=connection, session=session, admin=admin)
        watcher = asyncio.get_running_loop().create_task(_watch(link))
        _watchers.add(watcher)
        watcher.add_done_callback(_watchers.discard)
        return link


async def _watch(link: Link) -> None:
    """A lost Janus takes its sessions, handles and rooms with it: its rooms are made again elsewhere."""
    await link.session.gone.wait()
    log.warning("sfu: a Janus was lost: %s", link.session.gone_reason)
    if _links.get(link.url) is link:
        del _links[link.url]
    _down[link.url] = time.monotonic() + DOWN_SECONDS
    for sroom in [r for r in rooms.values() if r.link is link]:
        await failover(sroom)


def _candidates() -> list[str]:
    """The Janus instances a room may be placed on: those not lost lately, or every one if all were."""
    now = time.monotonic()
    urls = list(settings.JANUS_URLS)
    return [url for url in urls if _down.get(url, 0) <= now] or urls


async def failover(sroom: SfuRoom) -> None:
    """The room's Janus is lost: make the room on another Janus, join everyone to it again, and tell each
    page to publish and subscribe afresh. The E2EE key does not change: Janus never held it."""
    room = sroom.room
    async with room.lock:
        current = rooms.get(room.room_id)
        if current is None or not room.active():
            return  # the room closed meanwhile
        for party in sroom.parties.values():
            for task in party.tasks:
                task.cancel()
        for _attempt in range(FAILOVER_TRIES):
            try:
                current = await _room(room)  # the same room if a newcomer made it again already
                break
            except JanusError as exc:
                log.warning("sfu: no Janus for a lost room yet (%s)", exc)
                await asyncio.sleep(1.0)
        else:
            rooms.pop(room.room_id, None)
            await database_sync_to_async(services.sfu_placement_release)(room_id=room.room_id)
            return
        for member in room.active():
            if member.pid in current.parties:
                continue  # joined the new Janus room already, and told its epoch in its welcome
            await participant_join(room, member)
            await send(member, {"type": "sfu", "action": "restart", "epoch": current.epoch})


async def _room(room: Room) -> SfuRoom:
    """The room's Janus room, created on the least loaded Janus the first time someone needs it."""
    lock = _room_locks.setdefault(room.room_id, asyncio.Lock())
    async with lock:
        sroom = rooms.get(room.room_id)
        if sroom is not None and not sroom.link.session.gone.is_set():
            return sroom
        url = await database_sync_to_async(selectors.sfu_least_loaded)(urls=_candidates())
        link = await _link(url)
        janus_room, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
        # Each participant may publish a screen besides its camera.
        await link.admin.room_create(room=janus_room, secret=secret, publishers=2 * room_setting("room_max"))
        await database_sync_to_async(services.sfu_placement_record)(
            room_id=room.room_id, janus_url=url, janus_room=janus_room
        )
        sroom = rooms[room.room_id] = SfuRoom(room=room, link=link, janus_room=janus_room, secret=secret)
        return sroom


def _unavailable() -> ProtocolError:
    return ProtocolError(Error.INTERNAL, "the media server is not available")


async def room_move(room: Room, newcomer: Member) -> None:
    """The room grows past the mesh: everyone already in it joins Janus, then is told to move its media.

    The pages publish to Janus and subscribe while the mesh still flows, and close the mesh once they
    decode through Janus (room.js `moveToSfu`); the E2EE key does not change. If no Janus answers, the
    room stays a mesh and the next newcomer tries again.
    """
    room.moved = True
    others = [m for m in room.active() if m is not newcomer]
    for other in others:
        await participant_join(room, other)
    if room.room_id not in rooms:
        room.moved = False
        return
    for other in others:
        await send(other, {"type": "topology", "topology": "sfu", "epoch": epoch(room.room_id)})


async def participant_join(room: Room, member: Member) -> None:
    """An admitted participant: its subscription follows the room's feeds from now on."""
    try:
        sroom = await _room(room)
    except JanusError:
        log.warning("sfu: no Janus for a room")
        return
    party = sroom.parties.get(member.pid)
    if party is None:
        party = sroom.parties[member.pid] = Party(pid=member.pid)
        party.tasks.append(asyncio.get_running_loop().create_task(_subscription(room, sroom, member, party)))
        await database_sync_to_async(services.sfu_placement_count)(
            room_id=room.room_id, participants=len(sroom.parties)
        )
    party.wake.set()


async def publish(room: Room, member: Member, sdp: str, side: str = "pub") -> None:
    """The page's publisher offer, for its camera and microphone (`pub`) or its shared screen (`screen`):
    join that publisher to Janus (once), publish, and hand Janus's answer back."""
    sroom = rooms.get(room.room_id)
    party = sroom.parties.get(member.pid) if sroom else None
    if party is None:
        raise _unavailable()
    attribute, feed = ("screen", member.pid + SCREEN) if side == "screen" else ("publisher", member.pid)
    try:
        publisher = getattr(party, attribute)
        first = publisher is None
        if first:
            publisher = await Publisher.join(sroom.link.session, room=sroom.janus_room, participant=feed)
            setattr(party, attribute, publisher)
        answer = await publisher.configure(sdp=sdp, bitrate=SCREEN_BITRATE if side == "screen" else None)
    except (JanusError, ValueError) as exc:
        log.warning("sfu: publish refused: %s", getattr(exc, "code", exc))
        raise _unavailable() from None
    await send(member, {"type": "sfu", "action": "answer", "side": side, "sdp": answer["sdp"]})
    if first:
        party.tasks.append(asyncio.get_running_loop().create_task(_feed_up(sroom, party, publisher, feed)))


async def unpublish(room: Room, member: Member) -> None:
    """The page stopped sharing its screen: that publisher leaves, and every subscription drops it."""
    sroom = rooms.get(room.room_id)
    party = sroom.parties.get(member.pid) if sroom else None
    if party is None or party.screen is None:
        return
    screen, party.screen = party.screen, None
    sroom.feeds.discard(member.pid + SCREEN)
    for other in sroom.parties.values():
        other.wake.set()
    with contextlib.suppress(JanusError):
        await screen.handle.detach()


async def _feed_up(sroom: SfuRoom, party: Party, publisher: Publisher, feed: str) -> None:
    """Once Janus receives the publisher's media, every other participant subscribes to it."""
    try:
        await publisher.handle.next_event(lambda e: e.get("janus") == "webrtcup", timeout=60)
    except JanusError:
        return
    if publisher not in (party.publisher, party.screen):
        return  # a screen already unshared
    sroom.feeds.add(feed)
    for other in sroom.parties.values():
        if other is not party:
            other.wake.set()


async def answer(room: Room, member: Member, sdp: str) -> None:
    """The page's answer to the subscription offer the server relayed."""
    sroom = rooms.get(room.room_id)
    party = sroom.parties.get(member.pid) if sroom else None
    if party is None or party.answer is None or party.answer.done():
        raise ProtocolError(Error.INVALID_MESSAGE, "no subscription offer is waiting for an answer")
    party.answer.set_result(sdp)


async def message(*, room: Room, member: Member, message) -> None:
    """An `sfu` message of the page: its publisher offer, its subscription answer, or an ICE candidate."""
    if member.status != "active" or room.room_id not in rooms:
        raise ProtocolError(Error.INVALID_MESSAGE, "this room does not go through a media server")
    if message.action == "publish":
        await publish(room, member, message.sdp, message.side)
    elif message.action == "unpublish":
        await unpublish(room, member)
    elif message.action == "layers":
        layers_choose(room, member, {choice.pid: choice.layer for choice in message.layers})
    elif message.action == "answer":
        await answer(room, member, message.sdp)
    else:
        candidate = message.candidate.model_dump(exclude_none=True) if message.candidate else None
        await trickle(room, member, message.side, candidate)


def layers_choose(room: Room, member: Member, layers: dict) -> None:
    """Remember which layer the page's layout wants of each camera; its subscription loop tells Janus.

    Through the loop, so that a `configure` never crosses a renegotiation of the same handle. Participants
    the page does not name keep their last choice; one who left is forgotten with its stream.
    """
    sroom = rooms[room.room_id]
    party = sroom.parties.get(member.pid)
    if party is None:
        raise _unavailable()
    party.layers.update(layers)
    # Only participants of the room are kept: a page naming others cannot grow this.
    party.layers = {pid: layer for pid, layer in party.layers.items() if pid in sroom.parties}
    party.wake.set()


async def _layers_apply(party: Party) -> None:
    """One `configure` with every video stream whose wanted layer changed since Janus was last told."""
    if party.subscriber is None:
        return
    changes, told = [], {}
    videos = {
        str(s["mid"]): str(s["feed_id"])
        for s in party.subscriber.streams
        if s.get("type") == "video" and s.get("feed_id") and s.get("active", True)
    }
    for mid, pid in videos.items():
        wanted = party.layers.get(pid)
        if wanted is None or party.relayed.get((mid, pid)) == wanted:
            continue
        if wanted == "off":
            changes.append({"mid": mid, "send": False})
        else:
            changes.append({"mid": mid, "send": True, "substream": SUBSTREAMS[wanted], "temporal": 2})
        told[(mid, pid)] = wanted
    # A mid Janus reuses for another feed starts afresh.
    party.relayed = {key: layer for key, layer in party.relayed.items() if videos.get(key[0]) == key[1]}
    if changes:
        await party.subscriber.streams_configure(changes)
        party.relayed.update(told)


async def trickle(room: Room, member: Member, side: str, candidate: dict | None) -> None:
    sroom = rooms.get(room.room_id)
    party = sroom.parties.get(member.pid) if sroom else None
    target = None if party is None else {"pub": party.publisher, "screen": party.screen}.get(side)
    if party is not None and side == "sub":
        target = party.subscriber
    if target is None:
        return  # a candidate for a handle that is gone: nothing to do
    with contextlib.suppress(JanusError):
        await target.trickle(candidate)


async def _subscription(room: Room, sroom: SfuRoom, member: Member, party: Party) -> None:
    """Keep one subscription in step with the room's feeds, one renegotiation at a time."""
    while True:
        await party.wake.wait()
        party.wake.clear()
        add, drop = [], []
        try:
            while party.unasked:
                await _negotiate(member, party, party.unasked.pop(0))
            want = {feed for feed in sroom.feeds if owner(feed) != party.pid}
            add, drop = sorted(want - party.subscribed), sorted(party.subscribed - want)
            if party.subscriber is None and add:
                party.subscriber, jsep = await Subscriber.join(
                    sroom.link.session, room=sroom.janus_room, feeds=add
                )
                party.tasks.append(asyncio.get_running_loop().create_task(_unasked(party)))
            elif party.subscriber is not None and (add or drop):
                jsep = await party.subscriber.update(subscribe=add, unsubscribe=drop)
            else:
                await _layers_apply(party)
                continue
            party.subscribed = (party.subscribed | set(add)) - set(drop)
            if jsep:
                await _negotiate(member, party, jsep)
            await _layers_apply(party)
        except Exception as exc:  # Janus's errors, an unanswered offer, a channel layer away for a while
            log.warning("sfu: subscription not updated: %s", type(exc).__name__)
            if sroom.link.session.gone.is_set():
                return
            # A feed Janus already dropped cannot be unsubscribed: it is gone either way.
            party.subscribed -= set(drop)
            if party.pending is not None:
                # The page never had the offer (it was reconnecting) or its answer was lost: offer again.
                party.unasked.insert(0, party.pending)
                party.pending = None
            await asyncio.sleep(1)
            party.wake.set()


async def _unasked(party: Party) -> None:
    """Offers Janus makes by itself on the subscription (a publisher left) go through the same queue."""
    while True:
        event = await party.subscriber.handle.events.get()
        if event.get("janus") == "gone":
            return
        jsep = event.get("jsep")
        data = ((event.get("plugindata") or {}).get("data")) or {}
        if "streams" in data:
            party.subscriber.streams = data["streams"]
        if jsep and jsep.get("type") == "offer":
            party.unasked.append(jsep)
            party.wake.set()


async def _negotiate(member: Member, party: Party, jsep: dict) -> None:
    """Relay Janus's offer, with which participant each m-line carries, and start with the page's answer."""
    streams = [
        {
            "mid": str(s["mid"]),
            "pid": owner(str(s["feed_id"])),
            "kind": s.get("type", ""),
            "screen": str(s["feed_id"]).endswith(SCREEN),
        }
        for s in party.subscriber.streams
        if s.get("feed_id") and s.get("active", True)
    ]
    party.answer = asyncio.get_running_loop().create_future()
    party.pending = jsep
    await send(member, {"type": "sfu", "action": "offer", "sdp": jsep["sdp"], "streams": streams})
    sdp = await asyncio.wait_for(party.answer, ANSWER_SECONDS)
    party.pending = None
    await party.subscriber.start(sdp=sdp)


async def participant_leave(room: Room, member: Member) -> None:
    """Gone from the signaling room, gone from Janus: its handles are detached, its feed unsubscribed."""
    sroom = rooms.get(room.room_id)
    party = sroom.parties.pop(member.pid, None) if sroom else None
    if party is None:
        return
    for task in party.tasks:
        task.cancel()
    sroom.feeds -= {member.pid, member.pid + SCREEN}
    for other in sroom.parties.values():
        other.wake.set()
    for handle in (party.publisher, party.screen, party.subscriber):
        if handle is not None:
            with contextlib.suppress(JanusError):
                await handle.handle.detach()
    await database_sync_to_async(services.sfu_placement_count)(
        room_id=room.room_id, participants=len(sroom.parties)
    )


async def room_close(room_id: str) -> None:
    """Nobody left: the Janus room is destroyed and its placement released."""
    sroom = rooms.pop(room_id, None)
    _room_locks.pop(room_id, None)
    if sroom is None:
        return
    for party in sroom.parties.values():
        for task in party.tasks:
            task.cancel()
    with contextlib.suppress(JanusError):
        await sroom.link.admin.room_destroy(room=sroom.janus_room, secret=sroom.secret)
    await database_sync_to_async(services.sfu_placement_release)(room_id=room_id)


def reset() -> None:
    """Forget every room and Janus session of this process (tests)."""
    rooms.clear()
    _room_locks.clear()
    _links.clear()
    _down.clear()
