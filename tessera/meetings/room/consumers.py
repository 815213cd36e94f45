"""The signaling WebSocket, /ws/meet/<room-id>: authenticate, validate, call `live`."""

import asyncio
import gc
import json
import logging
import time
from collections import Counter

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache

from tessera.core.ratelimit import alimit_hit, ip_hash

from . import live, protocol, sfu, state
from .conf import room_setting
from .layers import ALIAS, room_layer
from .live import room_limit
from .protocol import Close, Error, ProtocolError
from .selectors import room_entry

log = logging.getLogger(__name__)

REFUSED_ENTRY = {
    Error.INVALID_TOKEN: "this link is not valid, or was revoked",
    Error.TOKEN_EXPIRED: "this meeting has ended",
    Error.NOT_OPEN_YET: "the room is not open yet",
    Error.CANCELLED: "this meeting was cancelled",
}


class ConnectionCount:
    """Open connections per client address (hashed) in this process, and how many are not authenticated.

    Per process: each room lives in one process (decision 0005), and a front proxy's own per-address
    limits cover the whole deployment.
    """

    def __init__(self):
        self.open: Counter = Counter()
        self.waiting: Counter = Counter()

    def refusal(self, key: str) -> ProtocolError | None:
        if self.open[key] >= room_limit("connections_per_ip"):
            return ProtocolError(
                Error.TOO_MANY_CONNECTIONS, "too many connections from your address", close=Close.FLOOD
            )
        if self.waiting[key] >= room_limit("unauthenticated_per_ip"):
            return ProtocolError(
                Error.TOO_MANY_CONNECTIONS,
                "too many unauthenticated connections from your address",
                close=Close.FLOOD,
            )
        return None

    def add(self, key: str) -> None:
        self.open[key] += 1
        self.waiting[key] += 1

    def authenticated(self, key: str) -> None:
        self._less(self.waiting, key)

    def remove(self, key: str, *, waiting: bool) -> None:
        self._less(self.open, key)
        if waiting:
            self._less(self.waiting, key)

    @staticmethod
    def _less(counter: Counter, key: str) -> None:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]


connections = ConnectionCount()


def _auth_blocked_key(address_key: str) -> str:
    return f"room.auth_blocked:{address_key}"


class TokenBucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Leave what the process loaded before its first room connection out of garbage collections.

    A room process holds thousands of long-lived connections; each full collection also walked every
    object of Django, the URLconf and the templates, and stalled every room's fan-out for 100-200 ms
    (bench/signaling_load.py). Those objects live as long as the process anyway.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


def _auth_rate_limited(retry_after: int) -> ProtocolError:
    return ProtocolError(
        Error.RATE_LIMITED,
        "too many failed attempts from your address: try again later",
        close=Close.FLOOD,
        retry_after=retry_after,
    )


class RoomConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = ALIAS

    async def __call__(self, scope, receive, send):
        _freeze_startup_heap()
        room_layer()
        return await super().__call__(scope, receive, send)

    async def dispatch(self, message):
        # Channels closes stale database connections before every message, a hop to the sync thread
        # that a relayed message does not need: the room reaches the database only through
        # `database_sync_to_async`, which does the same around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.room_id = self.scope["url_route"]["kwargs"]["room_id"]
        self.member = None
        self.closing = False
        self.refused = 0
        self.counted = False
        self.heartbeat = None
        self.last_seen = time.monotonic()
        self.bucket = TokenBucket(room_setting("rate_per_second"), room_setting("rate_burst"))
        address = (self.scope.get("client") or ["", 0])[0] or ""
        self.address_key = ip_hash(address)
        await self.accept()
        if address not in room_limit("connection_limit_exempt"):
            refusal = connections.refusal(self.address_key)
            if refusal is not None:
                await self._fail(refusal)
                return
            connections.add(self.address_key)
            self.counted = True
        self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())

    async def send(self, text_data=None, bytes_data=None, close=False):
        # A peer's message may come after the socket closed: sending then is pointless, not an error.
        if getattr(self, "gone", False):
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except (RuntimeError, OSError):  # the client went first (uvicorn's ClientDisconnected is an OSError)
            self.gone = True

    async def close(self, code=None, reason=None):
        if not getattr(self, "gone", False):
            self.gone = True
            try:
                await super().close(code=code, reason=reason)
            except (RuntimeError, OSError):  # a page that said "leave" as it closed is already gone
                pass

    async def disconnect(self, code):
        self.gone = True
        self.closing = True
        if getattr(self, "counted", False):
            self.counted = False
            connections.remove(self.address_key, waiting=self.member is None)
        if getattr(self, "heartbeat", None):
            self.heartbeat.cancel()
        if self.member is not None:
            try:
                await live.detach(room_id=self.room_id, member=self.member, channel=self.channel_name)
            except Exception:
                log.exception("room: detach failed")

    async def _heartbeat(self):
        started, interval = time.monotonic(), room_setting("heartbeat_seconds")
        auth_timeout = room_setting("auth_timeout_seconds")
        while not self.closing:
            await asyncio.sleep(min(interval, auth_timeout) if self.member is None else interval)
            now = time.monotonic()
            if self.member is None and now - started >= auth_timeout:
                await self._fail(ProtocolError(Error.AUTH_TIMEOUT, "authenticate first", close=Close.AUTH))
                return
            if now - self.last_seen > 3 * interval:
                await self._fail(
                    ProtocolError(Error.HEARTBEAT_TIMEOUT, "no answer to pings", close=Close.TIMEOUT)
                )
                return
            if self.member is not None:
                await self.send(text_data='{"type":"ping"}')
                await state.regroup(room_id=self.room_id, member=self.member)

    async def _fail(self, error: ProtocolError):
        if self.closing:
            return
        await self.send(
            text_data=json.dumps(
                {"type": "error", "code": error.code, "message": error.detail, **error.extra}
            )
        )
        if error.close:
            self.closing = True
            await self.close(code=error.close)

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        self.last_seen = time.monotonic()
        try:
            await self._receive(text_data, bytes_data)
        except ProtocolError as error:
            await self._fail(error)
        except Exception:
            log.exception("room: message handling failed")
            # Before authentication succeeded the connection has nothing to go on with: it closes, and
            # the page connects again (its backoff), rather than wait for the authentication timeout.
            close = Close.RETRY if self.member is None else None
            await self._fail(
                ProtocolError(Error.INTERNAL, "the server could not handle this message", close=close)
            )

    async def _receive(self, text_data, bytes_data):
        if not self.bucket.take():
            self.refused += 1
            if self.refused >= room_setting("flood_close_after"):
                raise ProtocolError(Error.RATE_LIMITED, "too many messages", close=Close.FLOOD)
            # Answer a flood now and then, not once per message.
            if self.refused % 50 == 1:
                raise ProtocolError(Error.RATE_LIMITED, "too many messages: slow down")
            return
        if bytes_data is not None:
            raise ProtocolError(Error.INVALID_MESSAGE, "binary messages are not accepted")
        if len(text_data.encode()) > room_setting("message_max_bytes"):
            raise ProtocolError(Error.TOO_LARGE, "the message is too large", close=Close.TOO_LARGE)
        message = protocol.parse(text_data)
        kind = message.type
        if kind == "pong":
            return
        if kind == "ping":
            await self.send(text_data='{"type":"pong"}')
            return
        if self.member is None:
            if kind != "auth":
                raise ProtocolError(Error.NOT_AUTHENTICATED, "the first message must be auth")
            await self._authenticate(message)
            return
        if kind == "auth":
            raise ProtocolError(Error.ALREADY_AUTHENTICATED, "this connection is authenticated")
        room = live.rooms.get(self.room_id)
        if room is None or room.members.get(self.member.pid) is not self.member:
            raise ProtocolError(Error.NOT_IN_ROOM, "you are no longer in this room", close=Close.ROOM)
        await self._dispatch(room, message)

    async def _authenticate(self, message):
        # An address past its failures is refused before any check: a right guess must not get in either.
        blocked_until = await cache.aget(_auth_blocked_key(self.address_key))
        if blocked_until is not None:
            raise _auth_rate_limited(max(1, int(blocked_until - time.time())))
        entry = await database_sync_to_async(room_entry)(
            room_id=self.room_id, kind=message.kind, token=message.token
        )
        if entry.state == Error.MEETING_ENDED:  # a right token, not a guess: no failure counted
            raise ProtocolError(Error.MEETING_ENDED, "the organiser ended this meeting", close=Close.ENDED)
        if entry.state not in {"open", "lobby"}:
            limit, period = room_setting("auth_failures_per_ip")
            verdict = await alimit_hit(
                scope="room.auth_failure", key=self.address_key, limit=limit, period=period
            )
            if not verdict.allowed:
                await cache.aset(
                    _auth_blocked_key(self.address_key),
                    time.time() + verdict.retry_after,
                    timeout=verdict.retry_after,
                )
                raise _auth_rate_limited(verdict.retry_after)
            raise ProtocolError(Error(entry.state), REFUSED_ENTRY.get(entry.state, ""), close=Close.AUTH)
        try:
            self.member = await live.enter(
                room_id=self.room_id,
                channel=self.channel_name,
                entry=entry,
                name=message.name,
                resume=message.resume,
            )
        except ProtocolError:
            room = live.rooms.get(self.room_id)
            if room is not None:
                live._drop_if_empty(room)
            raise
        if self.counted:
            connections.authenticated(self.address_key)

    async def _dispatch(self, room, message):
        kind, member = message.type, self.member
        if kind in {"signal", "e2ee", "app"}:
            await live.relay(room=room, member=member, message=message)
        elif kind == "sfu":
            await sfu.message(room=room, member=member, message=message)
        elif kind == "stats":
            await live.stats(room=room, member=member, message=message, now=time.monotonic())
        elif kind == "record":
            await live.record(room=room, member=member, action=message.action)
        elif kind == "record_answer":
            await live.record_answer(room=room, member=member, notice=message.notice, accept=message.accept)
        elif kind == "admit":
            await live.admit(room=room, member=member, pid=message.pid, allow=message.allow)
        elif kind == "mute_request":
            await live.mute_request(room=room, member=member, pid=message.pid)
        elif kind == "remove":
            await live.remove(room=room, member=member, pid=message.pid)
        elif kind == "lock":
            await live.lock(room=room, member=member, locked=message.locked)
        elif kind == "end":
            await live.end(room=room, member=member)
        elif kind == "leave":
            self.closing = True
            await live.leave(room_id=self.room_id, member=member, reason="left")
            await self.close(code=Close.NORMAL)

    # --- channel layer ----------------------------------------------------------------------------

    async def room_out(self, event):
        if event.get("exclude") and self.member is not None and event["exclude"] == self.member.pid:
            return
        if not self.closing:
            await self.send(text_data=event["text"])

    async def room_close(self, event):
        if self.closing:
            return
        self.closing = True
        await self.send(text_data=event["text"])
        await self.close(code=event.get("code", Close.ROOM))
