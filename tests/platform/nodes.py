"""App nodes behind Debian's nginx, routed as deploy/nginx/tessera.conf routes them (decision 0005), and
Debian's Redis.

`nodes_behind_nginx` migrates the database the environment names, runs a `manage.py shell` script of the
test's (its printed `NAME=<json>` line is returned), starts `manage.py serve --no-worker` processes on
ports of their own, and nginx in front: pages to the least busy node, each room's WebSocket to one node
by the deployment's `map` and `hash`, with the node that answered in `X-Tessera-Node`.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "nginx" / "tessera.conf"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.skip("Debian's nginx is not installed (make test installs it as root)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc=None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert proc is None or proc.poll() is None, "the process stopped"
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


def routing_from_deploy() -> tuple[str, str]:
    """The room map and the upstream's balancing line, exactly as the deployment file has them."""
    text = DEPLOY.read_text()
    room_map = re.search(r"^map \$uri \$tessera_room \{.*?^\}", text, re.S | re.M)
    balancing = re.search(r"^upstream tessera_rooms \{\s*(hash [^;]+;)", text, re.M)
    assert room_map and balancing, "deploy/nginx/tessera.conf lost its room-affinity routing"
    return room_map.group(0), balancing.group(1)


def _conf(folder: Path, front: int, ports: list[int]) -> str:
    room_map, balancing = routing_from_deploy()
    servers = "".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in ports)
    return f"""worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log error;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {folder}/nginx-body;
  proxy_temp_path {folder}/nginx-proxy;
  {room_map}
  upstream tessera_rooms {{ {balancing} {servers} }}
  upstream tessera_app {{ least_conn; {servers} }}
  server {{
    listen 127.0.0.1:{front};
    location /ws/ {{
      proxy_pass http://tessera_rooms;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      add_header X-Tessera-Node $upstream_addr always;
    }}
    location / {{
      proxy_pass http://tessera_app;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
    }}
  }}
}}
"""


@contextlib.contextmanager
def nodes_behind_nginx(folder: Path, env: dict, *, script: str, name: str, count: int = 2):
    """Yield (front port, what `script` printed after `NAME=`, {port: node process})."""
    nginx = nginx_binary()
    front = free_port()
    env = {**env, "TESSERA_BASE_URL": f"http://127.0.0.1:{front}"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    made = subprocess.run(
        [*manage, "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    printed = json.loads(made.stdout.split(f"{name}=", 1)[1])
    ports = [free_port() for _ in range(count)]
    nodes = {
        port: subprocess.Popen(
            [*manage, "serve", "--no-worker", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=(folder / f"node-{port}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for port in ports
    }
    conf = folder / "nginx.conf"
    conf.write_text(_conf(folder, front, ports))
    signals = [nginx, "-c", str(conf), "-e", str(folder / "nginx-error.log")]
    try:
        for port, proc in nodes.items():
            wait_port(port, proc)
        subprocess.run(signals, check=True)
        wait_port(front)
        yield front, printed, nodes
    finally:
        if (folder / "nginx.pid").exists():
            subprocess.run([*signals, "-s", "stop"], check=False)
        for proc in nodes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in nodes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Redis:
    """Debian's redis-server on a port of its own, nothing written to disk; a test may restart it empty."""

    def __init__(self, folder: Path):
        if not os.path.exists(REDIS):
            pytest.fail("redis-server is missing: `make test` installs it from Debian when run as root")
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        command = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*command, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        wait_port(self.port, self.process, timeout=10)
        return self

    def stop(self, *, crash: bool = False) -> None:
        """Stop it (SIGTERM), or kill it as a crash would (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill() if crash else self.process.terminate()
            self.process.wait(10)
