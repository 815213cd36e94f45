"""The `sfu` messages a page sends through Tessera, the topology switch, and placement by load."""

import json

import pytest

from tessera.meetings.room import services
from tessera.meetings.room.protocol import Error, ProtocolError, parse
from tessera.meetings.room.selectors import sfu_least_loaded
from tessera.meetings.room.sfu import topology

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


@pytest.mark.parametrize(
    "message",
    [
        {"type": "sfu", "action": "publish", "sdp": SDP},
        {"type": "sfu", "action": "answer", "sdp": SDP},
        {"type": "sfu", "action": "candidate", "side": "sub", "candidate": CANDIDATE},
        {"type": "sfu", "action": "candidate", "side": "pub", "candidate": None},
        {"type": "sfu", "action": "layers", "layers": [{"pid": "abcdefgh1", "layer": "l"}]},
        {"type": "sfu", "action": "publish", "side": "screen", "sdp": SDP},
        {"type": "sfu", "action": "candidate", "side": "screen", "candidate": CANDIDATE},
        {"type": "sfu", "action": "unpublish", "side": "screen"},
        {
            "type": "sfu",
            "action": "layers",
            "layers": [{"pid": f"participant{i:03}", "layer": "hmlo"[i % 3]} for i in range(200)],
        },
    ],
)
def test_the_page_s_sfu_messages_are_accepted(message):
    assert parse(json.dumps(message)).type == "sfu"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "sfu", "action": "publish"},  # an offer without its SDP
        {"type": "sfu", "action": "publish", "sdp": "hello"},  # not a session description
        {"type": "sfu", "action": "answer", "sdp": SDP, "candidate": CANDIDATE},  # two things at once
        {"type": "sfu", "action": "candidate", "sdp": SDP},
        {"type": "sfu", "action": "candidate", "side": "janus", "candidate": CANDIDATE},
        {"type": "sfu", "action": "publish", "sdp": SDP + "a" * 40_000},  # too large
        {"type": "sfu", "action": "configure", "sdp": SDP},  # not a page's action
        {"type": "sfu", "action": "publish", "sdp": SDP, "room": "another"},  # Janus's ids are the server's
        {"type": "sfu", "action": "candidate", "candidate": {**CANDIDATE, "candidate": "c" * 1_001}},
        {"type": "sfu", "action": "layers", "layers": []},  # a choice of nothing
        {"type": "sfu", "action": "publish", "side": "sub", "sdp": SDP},  # the subscription is Janus's offer
        {"type": "sfu", "action": "unpublish"},  # only a screen is unpublished
        {"type": "sfu", "action": "unpublish", "side": "screen", "sdp": SDP},
        {"type": "sfu", "action": "layers", "layers": [{"pid": "abcdefgh1", "layer": "ultra"}]},
        {"type": "sfu", "action": "layers", "layers": [{"pid": "../../x", "layer": "h"}]},
        {"type": "sfu", "action": "layers", "layers": [{"pid": "abcdefgh1", "layer": "h", "substream": 2}]},
        {
            "type": "sfu",
            "action": "layers",
            "layers": [{"pid": "abcdefgh1", "layer": "h"}, {"pid": "abcdefgh1", "layer": "l"}],
        },
        {"type": "sfu", "action": "layers", "sdp": SDP, "layers": [{"pid": "abcdefgh1", "layer": "h"}]},
        {"type": "sfu", "action": "publish", "sdp": SDP, "layers": [{"pid": "abcdefgh1", "layer": "h"}]},
        {
            "type": "sfu",
            "action": "layers",
            "layers": [{"pid": f"participant{i:03}", "layer": "l"} for i in range(201)],
        },
    ],
)
def test_malformed_sfu_messages_are_refused(message):
    with pytest.raises(ProtocolError) as refused:
        parse(json.dumps(message))
    assert refused.value.code == Error.INVALID_MESSAGE


def test_rooms_stay_a_mesh_unless_a_janus_is_named_and_rooms_are_set_to_go_through_it(settings):
    settings.JANUS_URLS = []
    settings.TESSERA_ROOM = {"topology": "sfu"}
    assert topology() == "mesh"
    settings.JANUS_URLS = ["ws://127.0.0.1:1"]
    settings.TESSERA_ROOM = {}
    assert topology() == "mesh"
    settings.TESSERA_ROOM = {"topology": "sfu"}
    assert topology() == "sfu"


@pytest.mark.django_db
def test_a_room_goes_to_the_janus_with_the_fewest_participants():
    urls = ["ws://janus-a", "ws://janus-b"]
    assert sfu_least_loaded(urls=urls) == "ws://janus-a"  # none placed: the first one
    services.sfu_placement_record(room_id="r1", janus_url="ws://janus-a", janus_room="j1")
    services.sfu_placement_count(room_id="r1", participants=5)
    assert sfu_least_loaded(urls=urls) == "ws://janus-b"
    services.sfu_placement_record(room_id="r2", janus_url="ws://janus-b", janus_room="j2")
    services.sfu_placement_count(room_id="r2", participants=7)
    assert sfu_least_loaded(urls=urls) == "ws://janus-a"
    services.sfu_placement_release(room_id="r2")
    assert sfu_least_loaded(urls=urls) == "ws://janus-b"
    # A Janus no longer configured takes no room, whatever its rows say.
    assert sfu_least_loaded(urls=["ws://janus-c"]) == "ws://janus-c"


def test_a_mesh_grows_into_janus_past_the_setting_only_where_a_janus_is_named(settings):
    from tessera.meetings.room import sfu
    from tessera.meetings.room.state import ACTIVE, Member, Room

    def room_of(count: int) -> tuple[Room, Member]:
        room = Room(room_id="r" * 16, event_id=1)
        for i in range(count):
            pid = f"member{i:04}"
            room.members[pid] = Member(pid, f"c{i}", "invitee", None, "", "", status=ACTIVE)
        newcomer = Member("newcomer01", "cn", "invitee", None, "", "")
        room.members[newcomer.pid] = newcomer
        return room, newcomer

    settings.TESSERA_ROOM = {"mesh_move_past": 4, "mesh_max": 8, "room_max": 100}
    settings.JANUS_URLS = []
    room, newcomer = room_of(4)
    # Without a Janus: a mesh of mesh_max, which never moves.
    assert (sfu.should_move(room, newcomer), sfu.capacity(room)) == (False, 8)
    settings.JANUS_URLS = ["ws://127.0.0.1:1"]
    settings.JANUS_API_SECRET = "s" * 32
    # "auto", the default: the fifth moves the room, the fourth does not; such a room holds room_max.
    assert (sfu.should_move(room, newcomer), sfu.capacity(room)) == (True, 100)
    assert sfu.should_move(*room_of(3)) is False
    room.moved = True
    assert sfu.topology(room) == "sfu" and sfu.should_move(room, newcomer) is False
    # "mesh": only large meetings go through Janus, and a room never moves.
    settings.TESSERA_ROOM = {**settings.TESSERA_ROOM, "topology": "mesh"}
    room, newcomer = room_of(7)
    assert (sfu.should_move(room, newcomer), sfu.capacity(room), sfu.topology(room)) == (False, 8, "mesh")
