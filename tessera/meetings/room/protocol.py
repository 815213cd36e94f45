"""The signaling protocol: every message a client may send, as a schema.

It says nothing about the media topology: `signal` carries SDP and ICE between two participants, which a
mesh uses peer to peer and an SFU will use between a participant and the SFU. `e2ee` and `app` carry
opaque strings (keys encrypted per participant, chat ciphertext) that the server only relays.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PID = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,32}$")]
TOKEN = Annotated[str, Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Opaque client ciphertext (base64url or JSON of base64 parts): the server never reads it.
OPAQUE = Annotated[str, Field(min_length=1, max_length=24_000)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Auth(Message):
    type: Literal["auth"]
    kind: Literal["invite", "organiser"]
    token: TOKEN
    name: Annotated[str, Field(max_length=600)] = ""  # the display name, encrypted by the client
    resume: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = ""


class Description(Message):
    type: Literal["offer", "answer", "rollback", "pranswer"]
    sdp: Annotated[str, Field(max_length=40_000)] = ""


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


class E2EE(Message):
    type: Literal["e2ee"]
    to: PID | None = None
    payload: Annotated[str, Field(min_length=1, max_length=4_096)]


class App(Message):
    type: Literal["app"]
    to: PID | None = None
    payload: OPAQUE


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
    notice: Annotated[int, Field(ge=1)]
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


class ProtocolError(Exception):
    """A message the server refuses: `code` is stable for clients, `close` ends the connection."""

    def __init__(self, code: str, detail: str = "", *, close: int | None = None):
        super().__init__(code)
        self.code, self.detail, self.close = code, detail, close


def parse(raw: str) -> Message:
    """Validate one text message; raises ProtocolError("bad_json" | "invalid_message")."""
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("bad_json", "the message is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "a message is a JSON object")
    try:
        return client_message.validate_python(data)
    except ValidationError as error:
        # Name the fields, never echo the input back.
        where = sorted({".".join(str(p) for p in e["loc"]) or "type" for e in error.errors()})[:5]
        raise ProtocolError("invalid_message", "invalid: " + ", ".join(where)) from None
