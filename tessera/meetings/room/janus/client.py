"""A thin async client of Janus's WebSocket API (subprotocol `janus-protocol`).

One `JanusConnection` is one WebSocket to one Janus. Requests carry a transaction id and the API secret,
and wait for their answer with a timeout. Sessions send keepalives so that Janus never reaps them, and a
dropped WebSocket fails every pending request and marks every session gone: Janus destroys a transport's
sessions with it, so the caller must connect again and re-create what it had (decision 0011).
"""

import asyncio
import contextlib
import json
import logging
import secrets

import websockets

logger = logging.getLogger(__name__)

SUBPROTOCOL = "janus-protocol"
DEFAULT_TIMEOUT = 10.0
# Janus reaps a session after 60 s of silence by default; 25 s leaves room for two lost keepalives.
KEEPALIVE_SECONDS = 25.0
# Janus's own error codes that mean "this session or handle no longer exists".
NO_SUCH_SESSION = 458
NO_SUCH_HANDLE = 459
UNAUTHORIZED = 403


class JanusError(Exception):
    """An error Janus answered, with its numeric code (core codes 4xx, plugin codes of the plugin)."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusTimeout(JanusError):
    """Janus did not answer in time; the request may or may not have been carried out."""

    def __init__(self, what: str):
        super().__init__(0, f"no answer to {what} in time")


class JanusGone(JanusError):
    """The WebSocket, or the session, is gone: everything made through it must be made again."""

    def __init__(self, reason: str):
        super().__init__(0, reason)


class JanusConnection:
    """One WebSocket to one Janus, shared by the sessions made through it."""

    def __init__(self, url: str, api_secret: str, *, timeout: float = DEFAULT_TIMEOUT):
        self.url = url
        self.api_secret = api_secret
        self.timeout = timeout
        self._ws = None
        self._pending: dict[str, asyncio.Future] = {}  # transaction -> answer
        self._acked: set[str] = set()  # transactions whose final answer is a later event
        self._sessions: dict[int, JanusSession] = {}
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""

    async def open(self) -> "JanusConnection":
        try:
            self._ws = await asyncio.wait_for(
                websockets.connect(self.url, subprotocols=[SUBPROTOCOL], max_size=1 << 20, open_timeout=None),
                self.timeout,
            )
        except (TimeoutError, OSError, websockets.InvalidHandshake) as exc:
            raise JanusGone(f"cannot connect to Janus: {type(exc).__name__}") from exc
        self._reader = asyncio.create_task(self._read(), name="janus-reader")
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (what a network failure does)."""
        self._ws.transport.abort()

    # --- requests -------------------------------------------------------------------------------------

    async def request(
        self, janus: str, *, wait_event: bool = False, timeout: float | None = None, **fields
    ) -> dict:
        """Send one request and return Janus's answer (`success`, or the `event` after an `ack`).

        `wait_event` is for plugin messages that Janus handles asynchronously: it first acks them, and the
        answer is an event with the same transaction.
        """
        if self.closed.is_set():
            raise JanusGone(self.close_reason or "the connection to Janus is closed")
        transaction = secrets.token_urlsafe(12)
        future = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        if wait_event:
            self._acked.add(transaction)
        message = {"janus": janus, "transaction": transaction, **fields}
        if self.api_secret:
            message["apisecret"] = self.api_secret
        try:
            await self._ws.send(json.dumps(message))
            answer = await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError:
            raise JanusTimeout(janus) from None
        except websockets.ConnectionClosed:
            raise JanusGone(self.close_reason or "the connection to Janus dropped") from None
        finally:
            self._pending.pop(transaction, None)
            self._acked.discard(transaction)
            if future.done() and not future.cancelled():
                future.exception()  # failed by a drop while sending: raised above, not left unretrieved
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")))
        return answer

    async def session(self, *, keepalive: float | None = KEEPALIVE_SECONDS) -> "JanusSession":
        """A new Janus session; `keepalive=None` sends none (tests show that Janus then reaps it)."""
        answer = await self.request("create")
        session = JanusSession(self, int(answer["data"]["id"]), keepalive)
        self._sessions[session.id] = session
        return session

    async def info(self) -> dict:
        return await self.request("info")

    # --- what Janus sends -----------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                self._dispatch(message)
            self.close_reason = "Janus closed the connection"
        except websockets.ConnectionClosed:
            self.close_reason = "the connection to Janus dropped"
        finally:
            self._fail_all()

    def _dispatch(self, message: dict) -> None:
        kind = message.get("janus")
        transaction = message.get("transaction")
        future = self._pending.get(transaction) if transaction else None
        if future is not None and not future.done():
            if kind == "ack" and transaction in self._acked:
                return  # the answer comes later, as an event with the same transaction
            future.set_result(message)
            return
        session = self._sessions.get(message.get("session_id"))
        if session is not None:
            session._event(message)

    def _fail_all(self) -> None:
        self.closed.set()
        reason = self.close_reason or "the connection to Janus is closed"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(JanusGone(reason))
        for session in list(self._sessions.values()):
            session._lost(reason)
        self._sessions.clear()


class JanusSession:
    """A Janus session: plugin handles hang off it; it lives as long as keepalives reach Janus."""

    def __init__(self, connection: JanusConnection, session_id: int, keepalive: float | None):
        self.connection = connection
        self.id = session_id
        self.handles: dict[int, JanusHandle] = {}
        self.gone = asyncio.Event()
        self.gone_reason = ""
        self._keepalive = (
            asyncio.create_task(self._keep(keepalive), name="janus-keepalive") if keepalive else None
        )

    async def request(self, janus: str, **fields) -> dict:
        if self.gone.is_set():
            raise JanusGone(self.gone_reason)
        try:
            return await self.connection.request(janus, session_id=self.id, **fields)
        except JanusError as exc:
            if exc.code == NO_SUCH_SESSION:
                self._lost("Janus no longer knows this session")
            raise

    async def attach(self, plugin: str) -> "JanusHandle":
        answer = await self.request("attach", plugin=plugin)
        handle = JanusHandle(self, int(answer["data"]["id"]))
        self.handles[handle.id] = handle
        return handle

    async def keepalive(self) -> None:
        await self.request("keepalive")

    async def destroy(self) -> None:
        self._stop_keepalive()
        if not self.gone.is_set():
            with contextlib.suppress(JanusGone):
                await self.request("destroy")
        self._lost("destroyed")

    async def _keep(self, every: float) -> None:
        while not self.gone.is_set():
            await asyncio.sleep(every)
            try:
                await self.keepalive()
            except JanusGone:
                return
            except JanusError as exc:
                logger.warning("Janus keepalive refused: %s", exc.code)

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None and self._keepalive is not asyncio.current_task():
            self._keepalive.cancel()

    def _event(self, message: dict) -> None:
        kind = message.get("janus")
        if kind == "timeout":
            self._lost("Janus reaped the session (no keepalive)")
            return
        handle = self.handles.get(message.get("sender"))
        if handle is not None:
            handle.events.put_nowait(message)

    def _lost(self, reason: str) -> None:
        if self.gone.is_set():
            return
        self.gone_reason = reason
        self.gone.set()
        self._stop_keepalive()
        self.connection._sessions.pop(self.id, None)
        for handle in self.handles.values():
            handle.events.put_nowait({"janus": "gone", "reason": reason})


class JanusHandle:
    """A handle on a plugin; `events` receives what Janus sends it unasked (joins, hang-ups, media)."""

    def __init__(self, session: JanusSession, handle_id: int):
        self.session = session
        self.id = handle_id
        self.events: asyncio.Queue = asyncio.Queue()

    async def message(
        self, body: dict, jsep: dict | None = None, *, wait_event: bool = False
    ) -> tuple[dict, dict | None]:
        """Send a plugin request; returns the plugin's data and the JSEP Janus attached, if any.

        A plugin error (an `error_code` in the data) raises JanusError with the plugin's code.
        """
        fields = {"handle_id": self.id, "body": body}
        if jsep is not None:
            fields["jsep"] = jsep
        answer = await self.session.request("message", wait_event=wait_event, **fields)
        data = (answer.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error", "")))
        return data, answer.get("jsep")

    async def trickle(self, candidate: dict | None) -> None:
        """One ICE candidate from the browser, or None when it has gathered them all."""
        await self.session.request("trickle", handle_id=self.id, candidate=candidate or {"completed": True})

    async def detach(self) -> None:
        with contextlib.suppress(JanusGone):
            await self.session.request("detach", handle_id=self.id)
        self.session.handles.pop(self.id, None)

    async def next_event(self, predicate=lambda event: True, *, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The next unasked event that matches; raises JanusGone if the session goes first."""

        async def wait():
            while True:
                event = await self.events.get()
                if event.get("janus") == "gone":
                    raise JanusGone(event["reason"])
                if predicate(event):
                    return event

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise JanusTimeout("an event") from None
