"""Meaningless messages: each gets a typed error, the connection stays usable, nothing is stored or relayed."""

import json

from django.apps import apps

from .conftest import meeting_create

SEALED = "c2VhbGVkLWNoYXQtbWVzc2FnZS1mb3ItdGhlLXJvb20"
NOBODY = "nobodyHere0"


def _rows() -> dict:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_meaningless_messages_get_typed_errors_and_change_nothing(meeting, clients):
    other = meeting_create()
    bystander = clients(other.room_id)
    bystander.join(other.tokens[0])
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    a.recv("peer_joined")
    before = _rows()
    invalid = [
        # A signal carries exactly one description or one candidate.
        {"type": "signal", "to": b.pid},
        {"type": "signal", "to": b.pid, "restart": True},
        {
            "type": "signal",
            "to": b.pid,
            "description": {"type": "offer", "sdp": "v=0"},
            "candidate": {"candidate": ""},
        },
        {"type": "signal", "to": b.pid, "description": {"type": "offer"}},
        {"type": "signal", "to": b.pid, "description": {"type": "answer", "sdp": "not an sdp"}},
        {"type": "signal", "to": b.pid, "description": {"type": "rollback", "sdp": "v=0"}},
        {"type": "signal", "to": b.pid, "candidate": {"candidate": "x" * 1001}},
        {"type": "signal", "to": b.pid, "candidate": {"candidate": "x", "sdpMLineIndex": -1}},
        {"type": "signal", "to": 12345678, "candidate": {"candidate": "x"}},
        {"type": "signal", "to": "short", "candidate": {"candidate": "x"}},
        # Chat is sealed by the page: base64url of IV, ciphertext and tag.
        {"type": "app", "payload": ""},
        {"type": "app", "payload": "hello"},
        {"type": "app", "payload": "this is plain text, not a sealed message at all"},
        {"type": "app", "payload": "A" * 24_001},
        {"type": "app", "payload": SEALED, "to": ["x"]},
        {"type": "e2ee", "payload": ""},
        {"type": "e2ee", "payload": "x" * 4_097},
        {"type": "e2ee", "payload": {"k": "hello"}},
        # Wrong types and impossible figures.
        {"type": "stats", "rtt_ms": "3"},
        {"type": "stats", "fps": 1000},
        {"type": "stats", "loss_pct": -1},
        {"type": "stats", "width": 1.5},
        {"type": "record", "action": "start"},
        {"type": "record_answer", "notice": "1", "accept": True},
        {"type": "record_answer", "notice": 2**60, "accept": True},
        {"type": "record_answer", "notice": 1, "accept": "yes"},
        {"type": "lock", "locked": "true"},
        {"type": "admit", "pid": b.pid},
        {"type": "leave", "now": True},
    ]
    for message in invalid:
        a.send(**message)
        error = a.recv("error")
        assert error["code"] == "invalid_message", message
    assert "description or a candidate" in _error_of(a, {"type": "signal", "to": b.pid})["message"]
    # Numbers JSON does not have, and nesting deeper than the parser follows.
    for raw, code in (
        ('{"type": "stats", "rtt_ms": NaN}', "invalid_message"),
        ('{"type": "stats", "fps": Infinity}', "invalid_message"),
        ("[" * 5_000 + "]" * 5_000, "bad_json"),
        ('{"type": "app", "payload": ' + "[" * 5_000 + "]" * 5_000 + "}", "bad_json"),
    ):
        a.send_raw(raw)
        assert a.recv("error")["code"] == code, raw[:40]
    # Unknown or wrong targets.
    for message, code in (
        ({"type": "signal", "to": NOBODY, "candidate": {"candidate": "x"}}, "unknown_peer"),
        ({"type": "e2ee", "to": NOBODY, "payload": "{}"}, "unknown_peer"),
        ({"type": "app", "to": NOBODY, "payload": SEALED}, "unknown_peer"),
        ({"type": "signal", "to": a.pid, "candidate": {"candidate": "x"}}, "invalid_target"),
        ({"type": "app", "to": a.pid, "payload": SEALED}, "invalid_target"),
        ({"type": "record_answer", "notice": 1, "accept": True}, "unknown_notice"),
    ):
        assert _error_of(a, message)["code"] == code, message
    # Nothing reached the other participant, nothing was written, and everyone carries on.
    assert b.nothing("signal", 0.3) and b.nothing("app", 0.1) and b.nothing("e2ee", 0.1)
    assert _rows() == before
    a.send(type="signal", to=b.pid, candidate={"candidate": ""})  # end of candidates is meaningful
    assert b.recv("signal")["candidate"] == {"candidate": ""}
    a.send(type="app", payload=SEALED)
    assert b.recv("app")["payload"] == SEALED
    bystander.send(type="ping")
    assert bystander.recv("pong")


def test_the_organiser_s_controls_refuse_unknown_and_wrong_targets(meeting, clients):
    organiser, a = clients(meeting.room_id), clients(meeting.room_id)
    organiser.join(meeting.manage_token, kind="organiser")
    a.join(meeting.tokens[0])
    for message, code in (
        ({"type": "admit", "pid": NOBODY, "allow": True}, "unknown_peer"),
        ({"type": "admit", "pid": a.pid, "allow": True}, "unknown_peer"),  # in the room, not waiting
        ({"type": "mute_request", "pid": NOBODY}, "unknown_peer"),
        ({"type": "mute_request", "pid": organiser.pid}, "invalid_target"),
        ({"type": "remove", "pid": NOBODY}, "unknown_peer"),
        ({"type": "remove", "pid": organiser.pid}, "forbidden"),
    ):
        assert _error_of(organiser, message)["code"] == code, message
    assert a.nothing("mute_request", 0.3) and a.nothing("removed", 0.1)
    organiser.send(type="mute_request", pid=a.pid)
    assert a.recv("mute_request")["by"] == organiser.pid


def test_a_malformed_auth_is_refused_and_the_page_may_try_again(meeting, clients):
    a = clients(meeting.room_id)
    for message in (
        {"type": "auth", "kind": "invite", "token": meeting.tokens[0], "name": "plain name"},
        {"type": "auth", "kind": "invite", "token": meeting.tokens[0], "name": "A" * 601},
        {"type": "auth", "kind": "invite", "token": meeting.tokens[0], "resume": "x" * 65},
        {"type": "auth", "kind": "guest", "token": meeting.tokens[0]},
        {"type": "auth", "kind": "invite", "token": "short"},
        {"type": "auth", "kind": "invite", "token": 42},
    ):
        assert _error_of(a, message)["code"] == "invalid_message", message
    assert a.join(meeting.tokens[0])["type"] == "welcome"


def _error_of(client, message: dict) -> dict:
    client.send_raw(json.dumps(message))
    return client.recv("error")
