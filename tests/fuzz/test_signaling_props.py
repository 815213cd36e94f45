"""The room's signaling protocol against any input: a message or a typed refusal, never another exception."""

import json

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tessera.meetings.room import live, protocol
from tessera.meetings.room.protocol import ProtocolError

FUZZ = settings.get_profile("fuzz")
TYPES = [
    "auth", "signal", "e2ee", "app", "stats", "record", "record_answer", "admit",
    "mute_request", "remove", "lock", "end", "ping", "pong", "leave",
]  # fmt: skip
FIELDS = [
    "kind", "token", "name", "resume", "to", "description", "candidate", "restart", "payload",
    "bitrate_in_kbps", "rtt_ms", "loss_pct", "width", "fps", "peers", "action", "notice", "accept",
    "pid", "allow", "locked", "sdp",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50) | st.sampled_from(TYPES),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=20,
)
# Objects that look like messages: a known type and known field names with any values, plus strangers.
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | json_values},
    optional={name: json_values for name in FIELDS} | {"extra": json_values},
)


def regex(pattern: str):
    return st.from_regex(pattern, fullmatch=True)


pids = regex(r"[A-Za-z0-9_-]{8,32}")
sealed = regex(r"[A-Za-z0-9_-]{38,200}")
descriptions = st.one_of(
    st.just({"type": "rollback"}),
    st.builds(
        lambda kind, rest: {"type": kind, "sdp": "v=0" + rest},
        st.sampled_from(["offer", "answer", "pranswer"]),
        st.text(max_size=200),
    ),
)
candidates = st.fixed_dictionaries(
    {"candidate": st.text(max_size=1_000)},
    optional={
        "sdpMid": st.none() | st.text(max_size=64),
        "sdpMLineIndex": st.none() | st.integers(0, 64),
        "usernameFragment": st.none() | st.text(max_size=256),
    },
)


def bounded(high: float):
    return st.floats(0, high) | st.integers(0, int(high))


valid_messages = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("auth"), "kind": st.sampled_from(["invite", "organiser"])},
        optional={"name": regex(r"[A-Za-z0-9_-]{0,600}"), "resume": regex(r"[A-Za-z0-9_-]{0,64}")},
    ).flatmap(lambda d: st.builds(lambda t: {**d, "token": t}, regex(r"[A-Za-z0-9_-]{16,64}"))),
    st.builds(
        lambda to, thing, restart: {"type": "signal", "to": to, **thing, **restart},
        pids,
        st.one_of(
            st.builds(lambda d: {"description": d}, descriptions),
            st.builds(lambda c: {"candidate": c}, candidates),
        ),
        st.one_of(st.just({}), st.builds(lambda r: {"restart": r}, st.booleans())),
    ),
    st.fixed_dictionaries(
        {"type": st.just("e2ee"), "payload": st.text(min_size=1, max_size=300)},
        optional={"to": st.none() | pids},
    ),
    st.fixed_dictionaries({"type": st.just("app"), "payload": sealed}, optional={"to": st.none() | pids}),
    st.fixed_dictionaries(
        {"type": st.just("stats")},
        optional={
            "bitrate_in_kbps": bounded(1e6),
            "bitrate_out_kbps": bounded(1e6),
            "rtt_ms": st.none() | bounded(1e5),
            "jitter_ms": st.none() | bounded(1e5),
            "loss_pct": st.none() | bounded(100),
            "width": st.integers(0, 10_000),
            "height": st.integers(0, 10_000),
            "fps": bounded(240),
            "peers": st.integers(0, 1_000),
        },
    ),
    st.fixed_dictionaries({"type": st.just("record"), "action": st.sampled_from(["request", "stop"])}),
    st.fixed_dictionaries(
        {"type": st.just("record_answer"), "notice": st.integers(1, 2**53), "accept": st.booleans()}
    ),
    st.fixed_dictionaries({"type": st.just("admit"), "pid": pids, "allow": st.booleans()}),
    st.fixed_dictionaries({"type": st.sampled_from(["mute_request", "remove"]), "pid": pids}),
    st.fixed_dictionaries({"type": st.just("lock"), "locked": st.booleans()}),
    st.fixed_dictionaries({"type": st.sampled_from(["end", "ping", "pong", "leave"])}),
)


def parsed_or_refused(raw: str):
    """The message, or None when refused with one of the codes the consumer sends back as an error."""
    try:
        return protocol.parse(raw)
    except ProtocolError as error:
        assert error.code in {"bad_json", "invalid_message"}, error.code
        assert error.close is None  # a bad message is answered, the connection stays
        return None


@settings(FUZZ)
@given(st.text(max_size=300))
@example('{"type": "auth"' + "[" * 100_000)
@example("[" * 3_000 + "]" * 3_000)
@example('{"type":"stats","width":' + "9" * 5_000 + "}")
@example('{"type": "app", "payload": "\\ud800"}')
def test_any_text_is_a_message_or_a_typed_refusal(text):
    parsed_or_refused(text)


@settings(FUZZ)
@given(json_values)
def test_any_json_value_is_a_message_or_a_typed_refusal(value):
    parsed_or_refused(json.dumps(value))


@settings(FUZZ)
@given(message_like)
@example({"type": "stats", "fps": float("nan")})
@example({"type": "stats", "rtt_ms": float("inf")})
@example(
    {"type": "signal", "to": "abcdefgh", "description": {"type": "offer"}, "candidate": {"candidate": ""}}
)
def test_any_message_like_object_is_a_message_or_a_typed_refusal(value):
    message = parsed_or_refused(json.dumps(value))
    if message is not None:
        assert message.type == value["type"]


@settings(FUZZ)
@given(valid_messages)
def test_valid_messages_round_trip(value):
    message = protocol.parse(json.dumps(value))
    assert message.type == value["type"]
    assert message.model_dump(exclude_unset=True) == value
    # What the server relays (its own JSON of the message) reads back as the same message.
    assert protocol.parse(message.model_dump_json()) == message


@settings(FUZZ)
@given(valid_messages, st.text(min_size=1, max_size=20), json_values)
def test_an_unknown_field_is_always_refused(value, name, extra):
    assume(name not in value)
    with pytest.raises(ProtocolError) as refused:
        protocol.parse(json.dumps({**value, name: extra}))
    assert refused.value.code == "invalid_message"


@settings(FUZZ)
@given(message_like, st.text(alphabet="<>&'\"=", min_size=8, max_size=12))
def test_a_refusal_never_echoes_a_value(value, marker):
    hostile = {key: marker for key in value if key != "type"} | {"type": value["type"]}
    try:
        protocol.parse(json.dumps(hostile))
    except ProtocolError as error:
        assert marker not in error.detail


# --- through the real consumer -------------------------------------------------------------------------

invalid_texts = st.one_of(
    st.text(max_size=200),
    st.builds(json.dumps, json_values),
    st.builds(json.dumps, message_like),
).filter(lambda raw: parsed_or_refused(raw) is None)


@settings(FUZZ, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=invalid_texts)
def test_hostile_messages_get_a_typed_error_and_change_nothing(meeting, clients, raw):
    if not hasattr(meeting, "fuzz_clients"):  # one room for every example: its state must outlive them
        sender, receiver = clients(meeting.room_id), clients(meeting.room_id)
        sender.join(meeting.tokens[0])
        receiver.join(meeting.tokens[1])
        meeting.fuzz_clients = (sender, receiver)
    sender, receiver = meeting.fuzz_clients
    sender.send_raw(raw)
    error = sender.recv("error")
    assert error["code"] in {"bad_json", "invalid_message"}, error
    assert set(error) == {"type", "code", "message"}
    # The connection and the room are as they were: the same two participants still talk.
    payload = "A" * 40
    sender.send(type="app", payload=payload)
    relayed = receiver.recv("app")
    assert relayed == {"type": "app", "payload": payload, "from": sender.pid}
    assert set(live.rooms[meeting.room_id].members) == {sender.pid, receiver.pid}
