"""The signaling protocol: every message a client may send, as a schema.

It says nothing about the media topology: `signal` carries SDP and ICE between two participants, which a
mesh uses peer to peer and an SFU will use between a participant and the SFU. `e2ee` and `app` carry
opaque strings (keys encrypted per participant, chat ciphertext) that the server only relays.
"""

import json
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

PID = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")]
# A page names at most this many cameras in one layer choice: the largest room's others.
MAX_LAYER_CHOICES = 200
TOKEN = Annotated[str, Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Chat, names and media state are sealed by the client: base64url(12-byte IV | ciphertext | 16-byte tag),
# so at least 38 characters. The server checks the shape, never the content.
SEALED = Annotated[str, Field(min_length=38, max_length=24_000, pattern=r"^[A-Za-z0-9_-]+$")]
# Key-exchange messages (hellos, wrapped keys): opaque text the server only relays.
OPAQUE = Annotated[str, Field(min_length=1, max_length=4_096)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Auth(Message):
    type: Literal["auth"]
    kind: Literal["invite", "organiser"]
    token: TOKEN
    # The display name, sealed by the client (base64url); empty when the page has none.
    name: Annotated[str, Field(max_length=600, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    resume: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = ""


def _refuse(reason: str):
    return PydanticCustomError("meaningless", reason)


class Description(Message):
    type: Literal["offer", "answer", "rollback", "pranswer"]
    sdp: Annotated[str, Field(max_length=40_000)] = ""

    @model_validator(mode="after")
    def _sdp_fits_the_type(self):
        # A rollback carries no SDP; every other description is a session description ("v=0" first).
        if self.type == "rollback" and self.sdp:
            raise _refuse("a rollback carries no sdp")
        if self.type != "rollback" and not self.sdp.startswith("v=0"):
            raise _refuse("an offer or answer carries an sdp")
        return self


class Candidate(Message):
    candidate: Annotated[str, Field(max_length=1_000)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class Signal(Message):
    type: Literal["signal"]
    to: PID
    description: Description | None = None
    candidate: Candidate | None = None
    restart: bool = False

    @model_validator(mode="after")
    def _one_thing(self):
        # One signal carries one thing the peer acts on: a description or a candidate.
        if (self.description is None) == (self.candidate is None):
            raise _refuse("a signal carries a description or a candidate")
        return self


class E2EE(Message):
    type: Literal["e2ee"]
    to: PID | None = None
    payload: OPAQUE


class App(Message):
    type: Literal["app"]
    to: PID | None = None
    payload: SEALED


class LayerChoice(Message):
    """The simulcast layer a page wants of one participant's camera: high, medium, low, or none (off screen)."""

    pid: PID
    layer: Literal["h", "m", "l", "off"]


class Sfu(Message):
    """Between a page and the media server, through Tessera: a publisher offer (`side` pub for its camera
    and microphone, screen for a shared screen), the end of its screen share, its answer to the subscription
    offer (`side` sub), one of its ICE candidates for any of them (none: gathering is complete), or the
    layers its layout wants of the others' cameras."""

    type: Literal["sfu"]
    action: Literal["publish", "unpublish", "answer", "candidate", "layers"]
    sdp: Annotated[str, Field(max_length=40_000)] = ""
    side: Literal["pub", "sub", "screen"] = "pub"
    candidate: Candidate | None = None
    layers: Annotated[list[LayerChoice], Field(max_length=MAX_LAYER_CHOICES)] = []

    @model_validator(mode="after")
    def _fits_the_action(self):
        if self.action == "layers":
            if self.sdp or self.candidate is not None or not self.layers:
                raise _refuse("a layer choice carries layers, and no sdp or candidate")
            if len({choice.pid for choice in self.layers}) != len(self.layers):
                raise _refuse("one layer per participant")
            return self
        if self.layers:
            raise _refuse("only a layer choice carries layers")
        if self.action == "unpublish":
            if self.side != "screen" or self.sdp or self.candidate is not None:
                raise _refuse("only a shared screen is unpublished, with nothing else")
            return self
        if self.action == "publish" and self.side == "sub":
            raise _refuse("a publisher offer is for the camera or the screen")
        if self.action == "candidate" and self.sdp:
            raise _refuse("a candidate carries no sdp")
        if self.action != "candidate" and (self.candidate is not None or not self.sdp.startswith("v=0")):
            raise _refuse("an offer or answer carries an sdp and no candidate")
        return self


class Stats(Message):
    type: Literal["stats"]
    bitrate_in_kbps: Annotated[float, Field(ge=0, le=1e6)] = 0
    bitrate_out_kbps: Annotated[float, Field(ge=0, le=1e6)] = 0
    rtt_ms: Annotated[float, Field(ge=0, le=1e5)] | None = None
    jitter_ms: Annotated[float, Field(ge=0, le=1e5)] | None = None
    loss_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    width: Annotated[int, Field(ge=0, le=10_000)] = 0
    height: Annotated[int, Field(ge=0, le=10_000)] = 0
    fps: Annotated[float, Field(ge=0, le=240)] = 0
    peers: Annotated[int, Field(ge=0, le=1_000)] = 0


class Record(Message):
    type: Literal["record"]
    action: Literal["request", "stop"]


class RecordAnswer(Message):
    type: Literal["record_answer"]
    notice: Annotated[int, Field(ge=1, le=2**53)]
    accept: bool


class Admit(Message):
    type: Literal["admit"]
    pid: PID
    allow: bool


class MuteRequest(Message):
    type: Literal["mute_request"]
    pid: PID


class Remove(Message):
    type: Literal["remove"]
    pid: PID


class Lock(Message):
    type: Literal["lock"]
    locked: bool


class End(Message):
    type: Literal["end"]


class Ping(Message):
    type: Literal["ping"]


class Pong(Message):
    type: Literal["pong"]


class Leave(Message):
    type: Literal["leave"]


ClientMessage = Annotated[
    Auth
    | Signal
    | E2EE
    | App
    | Sfu
    | Stats
    | Record
    | RecordAnswer
    | Admit
    | MuteRequest
    | Remove
    | Lock
    | End
    | Ping
    | Pong
    | Leave,
    Field(discriminator="type"),
]
client_message = TypeAdapter(ClientMessage)
ORGANISER_ONLY = frozenset({"admit", "mute_request", "remove", "lock", "end"})


class Close(IntEnum):
    """WebSocket close codes (4000-4999 are the application's)."""

    NORMAL = 1000
    RETRY = 1013  # the server could not take this connection now (its channel layer was away): try again
    ROOM = 4000  # out of this room: replaced, refused the recording, or no longer a member
    AUTH = 4401
    DENIED = 4403  # removed, or not admitted
    TIMEOUT = 4408
    FULL = 4409
    ENDED = 4410
    TOO_LARGE = 4413
    FLOOD = 4429


# After these the client does not reconnect: trying again would meet the same answer.
FINAL_CLOSES = frozenset(
    {Close.NORMAL, Close.AUTH, Close.DENIED, Close.FULL, Close.ENDED, Close.TOO_LARGE, Close.FLOOD}
)


class Error(StrEnum):
    """The `code` of an error message: stable names the client acts on."""

    BAD_JSON = "bad_json"
    INVALID_MESSAGE = "invalid_message"
    INTERNAL = "internal"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    AUTH_TIMEOUT = "auth_timeout"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    NOT_AUTHENTICATED = "not_authenticated"
    ALREADY_AUTHENTICATED = "already_authenticated"
    # Refusals at the door (the states of a refused entry).
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    NOT_OPEN_YET = "not_open_yet"
    CANCELLED = "cancelled"
    MEETING_ENDED = "meeting_ended"
    ROOM_FULL = "room_full"
    LOBBY_FULL = "lobby_full"
    # In the room.
    NOT_IN_ROOM = "not_in_room"
    REPLACED = "replaced"
    UNKNOWN_PEER = "unknown_peer"
    INVALID_TARGET = "invalid_target"
    NOT_ADMITTED = "not_admitted"
    RECORDING_NOTICE_PENDING = "recording_notice_pending"
    FORBIDDEN = "forbidden"
    RECORDING_BUSY = "recording_busy"
    UNKNOWN_NOTICE = "unknown_notice"


# After these errors the client stops: the room will not take it back by reconnecting.
FINAL_ERRORS = frozenset(
    {
        Error.INVALID_TOKEN,
        Error.TOKEN_EXPIRED,
        Error.NOT_OPEN_YET,
        Error.CANCELLED,
        Error.ROOM_FULL,
        Error.LOBBY_FULL,
        Error.MEETING_ENDED,
        Error.REPLACED,
        Error.TOO_MANY_CONNECTIONS,
    }
)


def client_constants() -> dict:
    """The close codes and error names as the page's scripts read them (json_script, protocol.js)."""
    return {
        "close": {code.name: code.value for code in Close},
        "error": {error.name: error.value for error in Error},
        "final_closes": sorted(code.value for code in FINAL_CLOSES),
        "final_errors": sorted(error.value for error in FINAL_ERRORS),
    }


class ProtocolError(Exception):
    """A message the server refuses: `code` is stable for clients, `close` ends the connection."""

    def __init__(self, code: Error, detail: str = "", *, close: Close | None = None, **extra):
        super().__init__(code)
        self.code, self.detail, self.close, self.extra = code, detail, close, extra


def parse(raw: str) -> Message:
    """Validate one text message; raises ProtocolError(BAD_JSON | INVALID_MESSAGE)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser follows
        raise ProtocolError(Error.BAD_JSON, "the message is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(Error.INVALID_MESSAGE, "a message is a JSON object")
    try:
        return client_message.validate_python(data)
    except ValidationError as error:
        # Name the fields (or our own reason), never echo the input back.
        where = sorted(
            {
                e["msg"] if e["type"] == "meaningless" else ".".join(str(p) for p in e["loc"]) or "type"
                for e in error.errors(include_input=False)
            }
        )[:5]
        raise ProtocolError(Error.INVALID_MESSAGE, "invalid: " + ", ".join(where)) from None
