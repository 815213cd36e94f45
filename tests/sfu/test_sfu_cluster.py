"""Two app nodes behind nginx, on Redis (channel layer, cache, queue) and the suite's Janus: an app node
killed mid-meeting, and Redis restarted mid-meeting (decision 0011).

An app node killed: the pages reconnect through nginx to the surviving node, which makes the room again,
and media resumes within 5 s.

Debian's nginx routes as deploy/nginx/tessera.conf does (pages to either node, each room's WebSocket to
one node by a consistent hash of its id) in front of two `manage.py serve --no-worker` processes on one
SQLite file, both pointed at the suite's Janus. Three people talk through Janus; the node that holds
their room is killed (SIGKILL). Each page's signaling reconnects, lands on the other node, which knows
nothing of the room: it is a fresh join there, with a new participant id, and a new Janus room whose
epoch differs, so each page publishes and subscribes afresh, and drops the tiles of the old ids. Within 5 s
of the kill every page decodes both others again on new connections, with one tile for each.

Redis restarted (an empty one on the same port, as after a crash without persistence): the channel layer's
groups are gone with it. The nodes reconnect, each connection puts itself back in its room's group at its
next heartbeat, and nothing is lost but the signaling in flight: the three keep decoding each other, and
a fourth who joins afterwards sees, hears and is seen by all three.
"""

import os
import time

import pytest
from websockets.sync.client import connect

from tests.e2e.room_helpers import inbound, open_room, wait_until
from tests.platform.nodes import Redis, nodes_behind_nginx

from .conftest import JanusServer
from .test_sfu_room import decoding_anew, rising, streams

PEOPLE = ["Ana", "Ben", "Chloé"]
RESUME_MS = 5000

CREATE = """
import json
from tests.room.conftest import meeting_create
meeting = meeting_create(invitees={count}, large_meeting=True)
paths = [meeting.link(i) for i in range({count})]
print("MEETING=" + json.dumps({{"room": meeting.room_id, "paths": paths}}))
"""


@pytest.fixture
def redis(tmp_path):
    server = Redis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def janus(tmp_path):
    """A Janus of the test's own, with a deployment's session timeout: the nodes keep their sessions with
    keepalives every 25 s, where the suite's Janus reaps a session silent for 4 s."""
    server = JanusServer(tmp_path / "janus")
    server.folder.mkdir()
    server.session_timeout = 60
    server.start()
    yield server
    server.stop()


@pytest.fixture
def two_nodes(tmp_path, janus, redis):
    """Two app nodes on one database, Redis and the test's Janus; nginx in front with the deployment's
    routing."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": str(tmp_path),
        "TESSERA_LOG_LEVEL": "ERROR",
        "JANUS_URLS": janus.url,
        "JANUS_API_SECRET": janus.api_secret,
        "JANUS_ADMIN_KEY": janus.admin_key,
        "TESSERA_ROOM_TOPOLOGY": "auto",
        "REDIS_URL": redis.url,
    }
    for name in ("DATABASE_URL", "EMAIL_URL"):
        env.pop(name, None)
    script = CREATE.format(count=len(PEOPLE) + 1)
    with nodes_behind_nginx(tmp_path, env, script=script, name="MEETING") as cluster:
        yield cluster


class Front:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"


def _node_of(front: int, room: str) -> int:
    """The node nginx sends the room's WebSocket to (the last one it tried)."""
    with connect(f"ws://127.0.0.1:{front}/ws/meet/{room}", open_timeout=10) as ws:
        return int(ws.response.headers["X-Tessera-Node"].split(", ")[-1].rsplit(":", 1)[1])


def _talking(browser, server, meeting, contexts) -> list:
    """The three people join one after the other, and each decodes the two others."""
    pages = []
    for path, name in zip(meeting["paths"], PEOPLE, strict=False):
        pages.append(open_room(browser, server, path, contexts, name=name))
        pages[-1].wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
    for page in pages:
        wait_until(lambda p=page: decoding_anew(p) >= len(PEOPLE) - 1, timeout=90, message="the others")
    return pages


def test_an_app_node_killed_mid_meeting_the_pages_move_to_the_other_and_media_resumes_within_5_seconds(
    two_nodes, browser, contexts
):
    front, meeting, nodes = two_nodes
    server = Front(front)
    pages = _talking(browser, server, meeting, contexts)
    others = len(PEOPLE) - 1
    connections = [{pc["pc"] for pc in inbound(p)} for p in pages]

    victim = _node_of(front, meeting["room"])
    nodes[victim].kill()
    nodes[victim].wait(10)
    killed = time.monotonic()

    for page, old in zip(pages, connections, strict=True):
        wait_until(lambda p=page, o=old: decoding_anew(p, o) >= others, timeout=30, message="the other node")
    resumed_in = time.monotonic() - killed
    assert _node_of(front, meeting["room"]) != victim
    before = [streams(p) for p in pages]
    wait_until(
        lambda: all(rising(b, streams(p)) >= others for b, p in zip(before, pages, strict=True)),
        timeout=30,
        message="everyone keeps decoding every other one",
    )
    for page in pages:
        # One tile per other participant: the old ones went with the node.
        assert page.locator("#stage .tile[data-kind=camera]:not(.local)").count() == others
    # Within 5 s of the kill every page decodes both others again (an upper bound: the pages are polled).
    assert resumed_in <= RESUME_MS / 1000, resumed_in


def test_redis_restarted_mid_meeting_loses_only_signaling_in_flight(two_nodes, redis, browser, contexts):
    front, meeting, _nodes = two_nodes
    server = Front(front)
    pages = _talking(browser, server, meeting, contexts)
    others = len(PEOPLE) - 1

    redis.stop(crash=True)
    redis.start()  # empty: the channel layer's groups went with the old one

    before = [streams(p) for p in pages]
    wait_until(
        lambda: all(rising(b, streams(p)) >= others for b, p in zip(before, pages, strict=True)),
        timeout=30,
        message="the three keep decoding each other",
    )
    # A newcomer after the restart: its arrival, its key hand-over and its media reach everyone.
    newcomer = open_room(browser, server, meeting["paths"][len(PEOPLE)], contexts, name="Dan")
    newcomer.wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
    for page in [*pages, newcomer]:
        wait_until(lambda p=page: decoding_anew(p) >= len(PEOPLE), timeout=60, message="all four")
    for page in pages:
        assert page.locator("#stage .tile[data-kind=camera]:not(.local)").count() == len(PEOPLE)
