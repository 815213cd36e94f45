"""The VideoRoom plugin of Janus: rooms, publishers and subscribers, with end-to-end encrypted media.

Every room Tessera creates requires E2EE, and every JSEP it relays says `e2ee: true`: Janus then only
forwards the frames and never expects to read them (decision 0011). Ids are strings (`string_ids`).
"""

from .client import JanusHandle, JanusSession

PLUGIN = "janus.plugin.videoroom"
# Janus VideoRoom error codes the server acts on (janus_videoroom.c).
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
MISSING_ELEMENT = 429
UNAUTHORIZED = 433
PUBLISHERS_FULL = 432


def _offer(sdp: str, e2ee: bool) -> dict:
    jsep = {"type": "offer", "sdp": sdp}
    if e2ee:
        jsep["e2ee"] = True
    return jsep


class VideoRoomAdmin:
    """Creates, lists and destroys rooms through a handle of its own."""

    def __init__(self, handle: JanusHandle, *, admin_key: str = ""):
        self.handle = handle
        self.admin_key = admin_key

    @classmethod
    async def attach(cls, session: JanusSession, *, admin_key: str = "") -> "VideoRoomAdmin":
        return cls(await session.attach(PLUGIN), admin_key=admin_key)

    def _keyed(self, body: dict) -> dict:
        return {**body, "admin_key": self.admin_key} if self.admin_key else body

    async def room_create(
        self,
        *,
        room: str,
        secret: str,
        publishers: int,
        require_e2ee: bool = True,
        bitrate: int = 1_500_000,
        record: bool = False,
        rec_dir: str = "",
    ) -> dict:
        """A VP8 + Opus room for at most `publishers` senders; simulcast layers are forwarded as they come."""
        body = {
            "request": "create",
            "room": room,
            "secret": secret,
            "is_private": True,
            "permanent": False,
            "publishers": publishers,
            "videocodec": "vp8",
            "audiocodec": "opus",
            "bitrate": bitrate,
            "fir_freq": 10,
            "require_e2ee": require_e2ee,
            "notify_joining": False,
            "lock_record": True,
            "record": record,
        }
        if rec_dir:
            body["rec_dir"] = rec_dir
        data, _ = await self.handle.message(self._keyed(body))
        return data

    async def room_list(self) -> list[dict]:
        data, _ = await self.handle.message(self._keyed({"request": "list"}))
        return data.get("list", [])

    async def room_exists(self, room: str) -> bool:
        data, _ = await self.handle.message({"request": "exists", "room": room})
        return bool(data.get("exists"))

    async def room_destroy(self, *, room: str, secret: str) -> None:
        await self.handle.message({"request": "destroy", "room": room, "secret": secret, "permanent": False})

    async def participants(self, room: str) -> list[dict]:
        data, _ = await self.handle.message({"request": "listparticipants", "room": room})
        return data.get("participants", [])


class Publisher:
    """One participant's sending side: joins, then publishes the browser's offer."""

    def __init__(self, handle: JanusHandle, room: str):
        self.handle = handle
        self.room = room
        self.id = ""

    @classmethod
    async def join(
        cls, session: JanusSession, *, room: str, participant: str, display: str = ""
    ) -> "Publisher":
        publisher = cls(await session.attach(PLUGIN), room)
        body = {"request": "join", "ptype": "publisher", "room": room, "id": participant}
        if display:
            body["display"] = display
        data, _ = await publisher.handle.message(body, wait_event=True)
        publisher.id = str(data["id"])
        return publisher

    async def configure(self, *, sdp: str, e2ee: bool = True, bitrate: int | None = None) -> dict:
        """Publish the browser's offer; returns Janus's answer, which says `e2ee: true` back."""
        body = {"request": "configure"}
        if bitrate is not None:
            body["bitrate"] = bitrate
        _, jsep = await self.handle.message(body, _offer(sdp, e2ee), wait_event=True)
        if not jsep:
            raise ValueError("Janus answered a publish without an SDP answer")
        return jsep

    async def record(self, on: bool) -> None:
        await self.handle.message({"request": "configure", "record": on}, wait_event=True)

    async def trickle(self, candidate: dict | None) -> None:
        await self.handle.trickle(candidate)

    async def leave(self) -> None:
        await self.handle.message({"request": "leave"}, wait_event=True)
        await self.handle.detach()


class Subscriber:
    """One participant's receiving side: one handle, one PeerConnection, any number of feeds."""

    def __init__(self, handle: JanusHandle, room: str):
        self.handle = handle
        self.room = room
        self.streams: list[dict] = []  # Janus's description of each m-line: mid, feed_id, type, active

    @classmethod
    async def join(cls, session: JanusSession, *, room: str, feeds: list[str], private_id: int | None = None):
        """Subscribe to the feeds; returns the subscriber and Janus's offer (with `e2ee: true` in E2EE rooms)."""
        subscriber = cls(await session.attach(PLUGIN), room)
        body = {
            "request": "join",
            "ptype": "subscriber",
            "room": room,
            "streams": [{"feed": f} for f in feeds],
        }
        if private_id is not None:
            body["private_id"] = private_id
        data, jsep = await subscriber.handle.message(body, wait_event=True)
        if not jsep:
            raise ValueError("Janus answered a subscription without an SDP offer")
        subscriber.streams = data.get("streams", [])
        return subscriber, jsep

    async def update(self, *, subscribe: list[str], unsubscribe: list[str]) -> dict | None:
        """Add and remove feeds on the same PeerConnection; returns Janus's new offer (None: no change)."""
        # Janus refuses an empty list (430): only the non-empty ones go.
        body = {"request": "update"}
        if subscribe:
            body["subscribe"] = [{"feed": f} for f in subscribe]
        if unsubscribe:
            body["unsubscribe"] = [{"feed": f} for f in unsubscribe]
        data, jsep = await self.handle.message(body, wait_event=True)
        if "streams" in data:
            self.streams = data["streams"]
        return jsep

    async def start(self, *, sdp: str, e2ee: bool = True) -> None:
        jsep = {"type": "answer", "sdp": sdp}
        if e2ee:
            jsep["e2ee"] = True
        await self.handle.message({"request": "start"}, jsep, wait_event=True)

    async def layer(self, *, mid: str, substream: int, temporal: int = 2) -> None:
        """Receive one simulcast layer of a stream: 0 low, 1 medium, 2 high."""
        if substream not in (0, 1, 2) or temporal not in (0, 1, 2):
            raise ValueError("substream and temporal are 0, 1 or 2")
        stream = {"mid": mid, "substream": substream, "temporal": temporal, "send": True}
        await self.handle.message({"request": "configure", "streams": [stream]}, wait_event=True)

    async def streams_configure(self, streams: list[dict]) -> None:
        """Several streams in one request: each `{"mid", "send"}`, with `substream`/`temporal` when sent."""
        for stream in streams:
            if stream.get("substream", 0) not in (0, 1, 2) or stream.get("temporal", 0) not in (0, 1, 2):
                raise ValueError("substream and temporal are 0, 1 or 2")
        await self.handle.message({"request": "configure", "streams": streams}, wait_event=True)

    async def stream_pause(self, *, mid: str) -> None:
        """Stop relaying one stream (a tile off screen) without renegotiating."""
        await self.handle.message(
            {"request": "configure", "streams": [{"mid": mid, "send": False}]}, wait_event=True
        )

    async def pause(self) -> None:
        await self.handle.message({"request": "pause"}, wait_event=True)

    async def resume(self) -> None:
        await self.handle.message({"request": "start"}, wait_event=True)

    async def trickle(self, candidate: dict | None) -> None:
        await self.handle.trickle(candidate)

    async def leave(self) -> None:
        await self.handle.message({"request": "leave"}, wait_event=True)
        await self.handle.detach()
