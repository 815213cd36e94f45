"""Several app processes behind nginx: each meeting room lives on one of them (docs/decisions/0005).

Debian's nginx runs the `map` and `hash` of deploy/nginx/tessera.conf, as written there, in front of two
`manage.py serve` processes on one SQLite file. The participants of every room must meet on one
process, the rooms must use both, and when a process dies its rooms must open again on the other.
"""

import json
import os
import time
from contextlib import ExitStack

import pytest
from websockets.sync.client import connect

from .nodes import nodes_behind_nginx

ROOMS = 16

CREATE = """
import json
from datetime import timedelta
from django.utils import timezone
from tessera.meetings import links, services
rooms = []
for n in range({count}):
    created = services.event_create(
        title=f"Room {{n}}", starts_at=timezone.now() + timedelta(minutes=5), time_zone="Europe/Paris",
        duration_minutes=60, organiser_email="organiser@example.org",
        invitees=["a@example.org", "b@example.org"], age_confirmed=True,
    )
    services.event_verify(event=created.event, room_secret=created.room_secret)
    tokens = [links.invite_token(i.public_id) for i in created.event.invitations.order_by("position")]
    rooms.append({{"room": created.event.room_id, "tokens": tokens}})
print("ROOMS=" + json.dumps(rooms))
"""


class Participant:
    def __init__(self, port: int, room: str, token: str, resume: str = ""):
        self.stack = ExitStack()
        self.ws = self.stack.enter_context(connect(f"ws://127.0.0.1:{port}/ws/meet/{room}", open_timeout=10))
        # The process that answered (nginx lists the ones it tried first, such as a dead one).
        self.node = self.ws.response.headers["X-Tessera-Node"].split(", ")[-1]
        auth = {"type": "auth", "kind": "invite", "token": token, "name": "bmFtZQ", "resume": resume}
        self.ws.send(json.dumps(auth))
        self.welcome = self.recv("welcome")

    def recv(self, type_: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == type_:
                return message
            assert message["type"] in {"ping", "peer_joined", "peer_left", "peer_resumed"}, message

    def close(self):
        self.stack.close()


@pytest.fixture
def cluster(tmp_path):
    """Two app processes on one database, nginx in front with the deployment's room routing."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": str(tmp_path),
        "TESSERA_LOG_LEVEL": "ERROR",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL"):
        env.pop(name, None)
    with nodes_behind_nginx(tmp_path, env, script=CREATE.format(count=ROOMS), name="ROOMS") as cluster:
        yield cluster


def test_each_room_lives_on_one_process_and_moves_when_it_dies(cluster):
    front, rooms, nodes = cluster
    pairs = []
    for room in rooms:
        first = Participant(front, room["room"], room["tokens"][0])
        second = Participant(front, room["room"], room["tokens"][1])
        # Same process: the second participant finds the first, who hears of the second.
        assert second.node == first.node, room
        assert [p["pid"] for p in second.welcome["peers"]] == [first.welcome["pid"]]
        assert first.recv("peer_joined")["peer"]["pid"] == second.welcome["pid"]
        pairs.append((room, first, second))
    used = {first.node for _room, first, _second in pairs}
    assert len(used) == 2, f"every room went to {used}: the hash does not spread rooms"

    # One process dies: its rooms open again on the other, where their participants meet again.
    victim = next(port for port in nodes if f"127.0.0.1:{port}" == pairs[0][1].node)
    nodes[victim].kill()
    nodes[victim].wait(timeout=10)
    for room, first, second in pairs:
        first.close()
        second.close()
        if first.node != f"127.0.0.1:{victim}":
            continue
        # The page reconnects with its resume token, which the new process never saw: a fresh join.
        again = Participant(front, room["room"], room["tokens"][0], resume=first.welcome["resume"])
        other = Participant(front, room["room"], room["tokens"][1], resume=second.welcome["resume"])
        assert again.node == other.node != first.node
        assert again.welcome["resumed"] is False and again.welcome["pid"] != first.welcome["pid"]
        assert [p["pid"] for p in other.welcome["peers"]] == [again.welcome["pid"]]
        again.close()
        other.close()
