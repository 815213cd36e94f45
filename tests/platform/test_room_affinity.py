"""Several app processes behind nginx: each meeting room lives on one of them (docs/decisions/0005).

Debian's nginx runs the `map` and `hash` of deploy/nginx/tessera.conf, as written there, in front of two
`manage.py serve` processes on one SQLite file. The participants of every room must meet on one
process, the rooms must use both, and when a process dies its rooms must open again on the other.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "nginx" / "tessera.conf"
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


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.skip("Debian's nginx is not installed (make test installs it as root)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc=None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert proc is None or proc.poll() is None, "the process stopped"
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


def _routing_from_deploy() -> tuple[str, str]:
    """The room map and the upstream's balancing line, exactly as the deployment file has them."""
    text = DEPLOY.read_text()
    room_map = re.search(r"^map \$uri \$tessera_room \{.*?^\}", text, re.S | re.M)
    balancing = re.search(r"^upstream tessera_rooms \{\s*(hash [^;]+;)", text, re.M)
    assert room_map and balancing, "deploy/nginx/tessera.conf lost its room-affinity routing"
    return room_map.group(0), balancing.group(1)


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
    nginx = _nginx()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": str(tmp_path),
        "TESSERA_LOG_LEVEL": "ERROR",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL"):
        env.pop(name, None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    created = subprocess.run(
        [*manage, "shell", "-c", CREATE.format(count=ROOMS)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    rooms = json.loads(created.stdout.split("ROOMS=", 1)[1])
    ports = [_free_port(), _free_port()]
    nodes = {
        port: subprocess.Popen(
            [*manage, "serve", "--no-worker", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    }
    front = _free_port()
    room_map, balancing = _routing_from_deploy()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log error;
events {{ worker_connections 256; }}
http {{
  access_log off;
  {room_map}
  upstream tessera_rooms {{
    {balancing}
    {"".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in ports)}
  }}
  server {{
    listen 127.0.0.1:{front};
    location /ws/ {{
      proxy_pass http://tessera_rooms;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
      add_header X-Tessera-Node $upstream_addr always;
    }}
  }}
}}
"""
    )
    try:
        for port, proc in nodes.items():
            _wait_port(port, proc)
        subprocess.run([nginx, "-c", str(conf), "-e", str(tmp_path / "nginx-error.log")], check=True)
        _wait_port(front)
        yield front, rooms, nodes
    finally:
        if (tmp_path / "nginx.pid").exists():
            subprocess.run(
                [nginx, "-c", str(conf), "-s", "stop", "-e", str(tmp_path / "nginx-error.log")], check=False
            )
        for proc in nodes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in nodes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


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
