"""Live rooms: who is in which room, and the messages that changes send.

The state lives in this process (the embedded default: one process serves every room). Every change
goes through the functions below, which the consumer calls; the state itself and its fan-out through the
channel layer are in `state.py`, so that moving the state to Redis later changes these two modules only.
Nothing here touches media or keys: `signal`, `e2ee` and `app` payloads are relayed as they came.
"""

import asyncio
import json
import logging
import secrets

from channels.db import database_sync_to_async

from tessera.meetings import services as meetings_services
from tessera.meetings.models import Invitation

from . import samples, services, sfu
from .conf import room_setting
from .ice import ice_config
from .models import RecordingNotice
from .protocol import Close, Error, ProtocolError
from .selectors import Entry
from .state import (
    ACTIVE,
    LOBBY,
    NOTICE,
    Member,
    Recording,
    Room,
    broadcast,
    close,
    layer,
    room_limit,
    rooms,
    send,
    to_organisers,
)

log = logging.getLogger(__name__)


# --- entering and leaving ---------------------------------------------------------------------------


async def enter(*, room_id: str, channel: str, entry: Entry, name: str, resume: str) -> Member:
    """Admit an authenticated connection: resume, lobby, recording notice, or straight in."""
    room = rooms.get(room_id)
    if room is None:
        room = rooms[room_id] = Room(room_id=room_id, event_id=entry.event_id, large=entry.large)
    async with room.lock:
        if resume:
            member = next((m for m in room.members.values() if m.resume == resume), None)
            if (
                member is not None
                and member.role == entry.role
                and member.invitation_id == entry.invitation_id
            ):
                return await _resume(room, member, channel)
        if entry.role == "organiser":
            # Coming back into a meeting they ended opens it again for the others.
            await database_sync_to_async(meetings_services.event_room_reopen)(event_id=entry.event_id)
        member = Member(
            pid=secrets.token_urlsafe(9),
            channel=channel,
            role=entry.role,
            invitation_id=entry.invitation_id,
            name=name,
            resume=secrets.token_urlsafe(24),
        )
        if entry.role != "organiser" and (entry.state == "lobby" or room.locked):
            if room.occupied() >= _capacity(room):
                _drop_if_empty(room)
                raise ProtocolError(Error.ROOM_FULL, _full_detail(room), close=Close.FULL)
            if len(room.lobby()) >= room_limit("lobby_max"):
                _drop_if_empty(room)
                raise ProtocolError(
                    Error.LOBBY_FULL, "too many people are waiting to enter this room", close=Close.FULL
                )
            room.members[member.pid] = member
            await send(member, {"type": "lobby", "pid": member.pid, "resume": member.resume})
            await to_organisers(room, {"type": "lobby_update", "waiting": room.lobby()})
            return member
        if room.occupied() >= _capacity(room):
            _drop_if_empty(room)
            raise ProtocolError(Error.ROOM_FULL, _full_detail(room), close=Close.FULL)
        room.members[member.pid] = member
        await _step_in(room, member)
        return member


def _capacity(room: Room) -> int:
    return sfu.capacity(room)


def _full_detail(room: Room) -> str:
    return f"this room is full ({_capacity(room)} participants)"


async def _step_in(room: Room, member: Member) -> None:
    """Past the lobby: a recording in progress must be answered before any media is exchanged."""
    if room.recording is not None:
        member.status = NOTICE
        # Connected to the session from now on: their answer and their leaving are theirs.
        await _participant_join(room, member)
        recorder = room.members.get(room.recording.recorder)
        await send(
            member,
            {
                "type": "record_notice",
                "notice": room.recording.notice_id,
                "by": room.recording.recorder,
                "by_name": recorder.name if recorder else "",
                "joining": True,
                "pid": member.pid,
            },
        )
        return
    await _activate(room, member)


async def _participant_join(room: Room, member: Member) -> None:
    if room.session_id is None:
        room.session_id = await database_sync_to_async(services.live_session_open)(event_id=room.event_id)
    if member.participant_id is None:
        member.participant_id = await database_sync_to_async(services.participant_join)(
            session_id=room.session_id, invitation_id=member.invitation_id
        )


async def _activate(room: Room, member: Member) -> None:
    await _participant_join(room, member)
    member.status, member.seq = ACTIVE, room.next_seq
    room.next_seq += 1
    await layer().group_add(room.group, member.channel)
    if sfu.should_move(room, member):
        await sfu.room_move(room, member)
    if sfu.topology(room) == "sfu":
        await sfu.participant_join(room, member)
    await send(member, _welcome(room, member, resumed=False))
    await broadcast(room, {"type": "peer_joined", "peer": member.public()}, exclude=member.pid)


def _welcome(room: Room, member: Member, *, resumed: bool) -> dict:
    recording = room.recording
    ice = ice_config()
    return {
        "type": "welcome",
        "pid": member.pid,
        "resume": member.resume,
        "role": member.role,
        "seq": member.seq,
        "resumed": resumed,
        "peers": [m.public() for m in room.active() if m is not member],
        "locked": room.locked,
        "recording": {"notice": recording.notice_id, "by": recording.recorder}
        if recording and recording.active
        else None,
        "lobby": room.lobby() if member.organiser else [],
        # Drawn for each welcome: a resumed participant gets TURN credentials with a fresh expiry.
        "ice_servers": ice["iceServers"],
        "ice_transport_policy": ice["iceTransportPolicy"],
        "mesh_max": room_setting("mesh_max"),
        "topology": "sfu" if room.room_id in sfu.rooms else "mesh",
        "sfu_epoch": sfu.epoch(room.room_id),
        # A room that moved from the mesh keeps the mesh's camera size (room.js `moveToSfu`).
        "moved": room.moved,
        "heartbeat_seconds": room_setting("heartbeat_seconds"),
    }


async def _resume(room: Room, member: Member, channel: str) -> Member:
    if member.grace is not None:
        member.grace.cancel()
        member.grace = None
    old_channel, was_connected = member.channel, member.connected
    if was_connected and old_channel != channel:
        await layer().send(
            old_channel,
            {
                "type": "room.close",
                "text": json.dumps(
                    {
                        "type": "error",
                        "code": Error.REPLACED,
                        "message": "this participant connected again elsewhere",
                    }
                ),
                "code": int(Close.ROOM),  # a plain int: the layer serialises its messages
            },
        )
    if member.status == ACTIVE:
        await layer().group_discard(room.group, old_channel)
        await layer().group_add(room.group, channel)
    member.channel, member.connected = channel, True
    if member.status == ACTIVE:
        await send(member, _welcome(room, member, resumed=True))
        await broadcast(room, {"type": "peer_resumed", "pid": member.pid}, exclude=member.pid)
    elif member.status == LOBBY:
        await send(member, {"type": "lobby", "pid": member.pid, "resume": member.resume})
    return member


async def detach(*, room_id: str, member: Member, channel: str) -> None:
    """The connection dropped: an active participant may resume within the grace period."""
    room = rooms.get(room_id)
    if room is None or room.members.get(member.pid) is not member or member.channel != channel:
        return
    member.connected = False
    if member.status != ACTIVE:
        await leave(room_id=room_id, member=member, reason="left")
        return
    await layer().group_discard(room.group, channel)
    member.grace = asyncio.get_running_loop().create_task(_grace_expire(room_id, member))


async def _grace_expire(room_id: str, member: Member) -> None:
    await asyncio.sleep(room_setting("resume_grace_seconds"))
    member.grace = None
    if not member.connected:
        await leave(room_id=room_id, member=member, reason="timeout")


async def leave(*, room_id: str, member: Member, reason: str) -> None:
    room = rooms.get(room_id)
    if room is None or room.members.get(member.pid) is not member:
        return
    async with room.lock:
        await _remove_member(room, member, reason)


async def _remove_member(room: Room, member: Member, reason: str) -> None:
    room.members.pop(member.pid, None)
    if member.grace is not None and member.grace is not asyncio.current_task():
        member.grace.cancel()
    was_active = member.status == ACTIVE
    if member.participant_id:
        await database_sync_to_async(services.participant_leave)(participant_id=member.participant_id)
    if was_active:
        await sfu.participant_leave(room, member)
        await layer().group_discard(room.group, member.channel)
        await broadcast(room, {"type": "peer_left", "pid": member.pid, "reason": reason})
    elif member.status == LOBBY:
        await to_organisers(room, {"type": "lobby_update", "waiting": room.lobby()})
    recording = room.recording
    if recording is not None:
        if recording.recorder == member.pid:
            await _recording_end(room, cancelled=not recording.active)
        elif member.pid in recording.pending:
            recording.pending.discard(member.pid)
            await _recording_maybe_start(room)
    if not room.active() and not any(m.status == NOTICE for m in room.members.values()):
        await _session_end(room)


async def _session_end(room: Room) -> None:
    if room.session_id is not None:
        await database_sync_to_async(services.live_session_close)(session_id=room.session_id)
        room.session_id = None
    room.recording = None
    await sfu.room_close(room.room_id)
    _drop_if_empty(room)


def _drop_if_empty(room: Room) -> None:
    if not room.members and rooms.get(room.room_id) is room:
        del rooms[room.room_id]


# --- relaying ---------------------------------------------------------------------------------------


def _peer(room: Room, pid: str) -> Member:
    target = room.members.get(pid)
    if target is None or target.status != ACTIVE:
        raise ProtocolError(Error.UNKNOWN_PEER, "no such participant in this room")
    return target


def _other(room: Room, member: Member, pid: str) -> Member:
    if pid == member.pid:
        raise ProtocolError(Error.INVALID_TARGET, "this message is for another participant")
    return _peer(room, pid)


def _require_active(member: Member) -> None:
    if member.status == LOBBY:
        raise ProtocolError(Error.NOT_ADMITTED, "wait until the organiser admits you")
    if member.status == NOTICE:
        raise ProtocolError(Error.RECORDING_NOTICE_PENDING, "answer the recording notice first")


async def relay(*, room: Room, member: Member, message) -> None:
    """`signal`, `e2ee` and `app`: to one participant, or (e2ee, app) to every other one."""
    _require_active(member)
    payload = message.model_dump(exclude_none=True, exclude={"to"})
    payload["from"] = member.pid
    if message.to:
        await send(_other(room, member, message.to), payload)
    else:
        await broadcast(room, payload, exclude=member.pid)


async def stats(*, room: Room, member: Member, message, now: float) -> None:
    _require_active(member)
    if now - member.stats_at < room_setting("stats_min_interval_seconds"):
        raise ProtocolError(Error.RATE_LIMITED, "statistics are accepted every 10 seconds")
    member.stats_at = now
    if room.session_id and member.participant_id:
        figures = message.model_dump(exclude={"type"})
        # Queued, not awaited: a member's signals never wait for the database (samples.py).
        samples.submit(session_id=room.session_id, participant_id=member.participant_id, figures=figures)


# --- organiser controls -----------------------------------------------------------------------------


def _require_organiser(member: Member) -> None:
    if not member.organiser or member.status != ACTIVE:
        raise ProtocolError(Error.FORBIDDEN, "only the organiser can do this")


async def admit(*, room: Room, member: Member, pid: str, allow: bool) -> None:
    _require_organiser(member)
    async with room.lock:
        guest = room.members.get(pid)
        if guest is None or guest.status != LOBBY:
            raise ProtocolError(Error.UNKNOWN_PEER, "nobody with this id is waiting")
        if not allow:
            room.members.pop(pid, None)
            await close(guest, {"type": "denied"}, Close.DENIED)
        elif room.occupied() >= _capacity(room):
            raise ProtocolError(Error.ROOM_FULL, _full_detail(room))
        else:
            await _step_in(room, guest)
        await to_organisers(room, {"type": "lobby_update", "waiting": room.lobby()})


async def mute_request(*, room: Room, member: Member, pid: str) -> None:
    _require_organiser(member)
    await send(_other(room, member, pid), {"type": "mute_request", "by": member.pid})


async def remove(*, room: Room, member: Member, pid: str) -> None:
    """Remove someone: they are disconnected, and the participants' key leader rotates the media key."""
    _require_organiser(member)
    async with room.lock:
        target = _peer(room, pid)
        if target is member:
            raise ProtocolError(Error.FORBIDDEN, "leave the meeting instead")
        if target.invitation_id and target.role == "invitee":
            # Durable, in every process: their link stops opening the room (a guest link is shared,
            # so a removed guest may only wait in the lobby again).
            await database_sync_to_async(_invitation_revoke)(invitation_id=target.invitation_id)
        await close(target, {"type": "removed"}, Close.DENIED)
        await _remove_member(room, target, "removed")


async def lock(*, room: Room, member: Member, locked: bool) -> None:
    _require_organiser(member)
    room.locked = locked
    await broadcast(room, {"type": "locked", "locked": locked})


async def end(*, room: Room, member: Member) -> None:
    _require_organiser(member)
    async with room.lock:
        await database_sync_to_async(meetings_services.event_room_end)(event_id=room.event_id)
        for other in list(room.members.values()):
            if other.grace is not None:
                other.grace.cancel()
            await close(other, {"type": "ended"}, Close.ENDED)
            if other.status == ACTIVE and other.participant_id:
                await layer().group_discard(room.group, other.channel)
        room.members.clear()
        if room.recording is not None:
            await database_sync_to_async(services.recording_notice_update)(
                notice_id=room.recording.notice_id, status=RecordingNotice.Status.STOPPED
            )
        await _session_end(room)


# --- recording with notice --------------------------------------------------------------------------


async def record(*, room: Room, member: Member, action: str) -> None:
    _require_active(member)
    async with room.lock:
        recording = room.recording
        if action == "stop":
            if recording is None or (recording.recorder != member.pid and not member.organiser):
                raise ProtocolError(Error.FORBIDDEN, "no recording of yours to stop")
            await _recording_end(room, cancelled=not recording.active)
            return
        if recording is not None:
            raise ProtocolError(Error.RECORDING_BUSY, "a recording is already requested")
        notice_id = await database_sync_to_async(services.recording_notice_create)(
            session_id=room.session_id, participant_id=member.participant_id
        )
        others = {m.pid for m in room.active() if m is not member}
        room.recording = Recording(notice_id=notice_id, recorder=member.pid, pending=set(others))
        for pid in others:
            await send(
                room.members[pid],
                {
                    "type": "record_notice",
                    "notice": notice_id,
                    "by": member.pid,
                    "by_name": member.name,
                    "joining": False,
                },
            )
        await send(member, {"type": "record_pending", "notice": notice_id, "waiting": len(others)})
        await _recording_maybe_start(room)


async def record_answer(*, room: Room, member: Member, notice: int, accept: bool) -> None:
    async with room.lock:
        recording = room.recording
        joining = member.status == NOTICE
        if (
            recording is None
            or recording.notice_id != notice
            or not (joining or member.pid in recording.pending)
        ):
            raise ProtocolError(Error.UNKNOWN_NOTICE, "no recording notice is waiting for your answer")
        await database_sync_to_async(services.recording_answer_record)(
            notice_id=notice,
            participant_id=member.participant_id,
            invitation_id=member.invitation_id,
            organiser=member.organiser,
            accepted=accept,
            joined_during=joining,
        )
        recorder = room.members.get(recording.recorder)
        if recorder is not None:
            await send(recorder, {"type": "record_answer", "pid": member.pid, "accept": accept})
        if not accept:
            await close(member, {"type": "left", "reason": "refused_recording"}, Close.ROOM)
            await _remove_member(room, member, "left")
            return
        if joining:
            await _activate(room, member)
            if recording.active:
                await send(
                    member,
                    {
                        "type": "recording",
                        "active": True,
                        "by": recording.recorder,
                        "notice": recording.notice_id,
                    },
                )
            return
        recording.pending.discard(member.pid)
        await _recording_maybe_start(room)


async def _recording_maybe_start(room: Room) -> None:
    recording = room.recording
    if recording is None or recording.active or recording.pending:
        return
    recording.active = True
    await database_sync_to_async(services.recording_notice_update)(
        notice_id=recording.notice_id, status=RecordingNotice.Status.RECORDING
    )
    await broadcast(
        room, {"type": "recording", "active": True, "by": recording.recorder, "notice": recording.notice_id}
    )


async def _recording_end(room: Room, *, cancelled: bool) -> None:
    recording = room.recording
    room.recording = None
    await database_sync_to_async(services.recording_notice_update)(
        notice_id=recording.notice_id,
        status=RecordingNotice.Status.CANCELLED if cancelled else RecordingNotice.Status.STOPPED,
    )
    await broadcast(
        room, {"type": "recording", "active": False, "by": recording.recorder, "notice": recording.notice_id}
    )
    # Joiners held by the notice may now come in.
    for held in [m for m in room.members.values() if m.status == NOTICE]:
        await _activate(room, held)


def _invitation_revoke(*, invitation_id: int) -> None:
    """The meetings service revokes the link and tells the person, as a removal from the management page does."""
    invitation = Invitation.objects.select_related("event").filter(pk=invitation_id).first()
    if invitation is not None:
        meetings_services.invitation_remove(event=invitation.event, invitation=invitation)


def reset() -> None:
    """Forget every room (tests)."""
    rooms.clear()
    samples.reset()
    sfu.reset()
