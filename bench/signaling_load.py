"""Signaling load: 2,000 participants in 500 rooms on one server process, against a bare broadcast server.

The parent creates 500 meetings of 4 invitees in a fresh temporary SQLite database, then starts Tessera as
production does (`manage.py serve --no-worker`: one uvicorn process, the embedded in-memory channel layer)
in a child process with the default room settings. One asyncio client process opens 2,000 WebSockets in
batches, authenticates each with its invitation token and answers the server's heartbeats from the first
message on. For 20 s every room then sends one encrypted-size chat message per second (fan-out to the 3
others) and one peer-to-peer signal every 2 s. The latency of a delivery is the time from the send to its
receipt, on the same clock. Memory per connection is the server's RSS growth from before the first
connection to after the last, divided by the connections.

The reference is a bare `websockets` server in its own process that broadcasts each message to the other
connections of its path, driven by the same client code in the same run.

    .venv/bin/python bench/signaling_load.py [participants] [seconds]
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines  # noqa: E402 - shared by every benchmark

PER_ROOM = 4
BATCH = 100  # connections opened together during the ramp-up
PAYLOAD = "x" * 160  # the size of a short encrypted chat message (base64url, as the room checks)


def stamped(payload: str) -> str:
    """A sealed-looking chat payload that starts with its send time, in microseconds, as 20 digits."""
    return f"{int(time.perf_counter() * 1e6):020d}{payload}"


def stamp_of(payload: str) -> float:
    return int(payload[:20]) / 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- servers (child processes) ----------------------------------------------------------------------


def serve_reference(port: int) -> None:
    from websockets.asyncio.server import serve

    rooms: dict[str, set] = {}

    async def handler(ws):
        room = rooms.setdefault(ws.request.path, set())
        room.add(ws)
        try:
            async for message in ws:
                data = json.loads(message)
                if data.get("type") == "auth":
                    await ws.send(json.dumps({"type": "welcome"}))
                    continue
                for other in list(room):
                    if other is not ws:
                        with contextlib.suppress(Exception):
                            await other.send(message)
        finally:
            room.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", port, max_size=64 * 1024):
            await asyncio.Future()

    asyncio.run(main())


def start_child(command: list[str], port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.5)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def stop_child(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- load (this process) ----------------------------------------------------------------------------


class Participant:
    """One simulated page: it answers heartbeats from its first message on, as the room's script does."""

    def __init__(self, ws, latencies: list):
        self.ws, self.latencies, self.pid = ws, latencies, ""
        self.welcome = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        with contextlib.suppress(Exception):  # the connection closes at the end of the run
            await self._read()
        if not self.welcome.done():
            self.welcome.set_exception(RuntimeError("closed before the welcome"))

    async def _read(self):
        async for raw in self.ws:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await self.ws.send('{"type":"pong"}')
            elif kind == "app":
                self.latencies.append(time.perf_counter() - stamp_of(message["payload"]))
            elif kind == "signal":
                sent = float(message["candidate"]["candidate"].split(":")[0])
                self.latencies.append(time.perf_counter() - sent)
            elif kind == "welcome" and not self.welcome.done():
                self.pid = message.get("pid", "")
                self.welcome.set_result(None)
            elif kind == "error" and not self.welcome.done():
                self.welcome.set_exception(RuntimeError(message))


async def run_load(port: int, rooms: list[tuple[str, list[str]]], seconds: float, pid: int) -> dict:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    base = rss_kib(pid)

    async def join(room_id: str, token: str) -> Participant:
        ws = await connect(f"ws://127.0.0.1:{port}/ws/meet/{room_id}", max_size=None, open_timeout=60)
        participant = Participant(ws, latencies)
        await ws.send(json.dumps({"type": "auth", "kind": "invite", "token": token, "name": "bmFtZQ"}))
        await asyncio.wait_for(participant.welcome, 60)
        return participant

    wanted = [(room_id, token) for room_id, tokens in rooms for token in tokens]
    connected: list[Participant] = []
    ramp = time.perf_counter()
    for start in range(0, len(wanted), BATCH):
        connected += await asyncio.gather(*(join(r, t) for r, t in wanted[start : start + BATCH]))
    ramp = time.perf_counter() - ramp
    await asyncio.sleep(1)
    grown = rss_kib(pid) - base
    peers: dict[str, list] = {}
    for (room_id, _token), participant in zip(wanted, connected, strict=True):
        peers.setdefault(room_id, []).append(participant)

    async def room_traffic(members):
        await asyncio.sleep(random.random())
        tick = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sender = random.choice(members)
            await sender.ws.send(json.dumps({"type": "app", "payload": stamped(PAYLOAD)}))
            if tick % 2 == 0:
                sender, receiver = random.sample(members, 2)
                candidate = {
                    "candidate": f"{time.perf_counter()}:candidate 1 udp 2122194687 192.0.2.2 9 typ host"
                }
                await sender.ws.send(
                    json.dumps({"type": "signal", "to": receiver.pid or "abcdefghij", "candidate": candidate})
                )
            tick += 1
            await asyncio.sleep(1)

    latencies.clear()
    await asyncio.gather(*(room_traffic(members) for members in peers.values()))
    await asyncio.sleep(1)
    closed = sum(1 for p in connected if p.reader.done())
    for participant in connected:
        participant.reader.cancel()
    await asyncio.gather(*(p.ws.close() for p in connected), return_exceptions=True)
    latencies.sort()
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000 if latencies else float("nan")
    return {
        "participants": len(connected) - closed,
        "deliveries": len(latencies),
        "p99_ms": p99,
        "kib": grown / len(connected),
        "ramp_s": ramp,
    }


def create_rooms(count: int) -> list[tuple[str, list[str]]]:
    """Meetings made through the services, in the database named by the environment (set by main)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from tests.room.conftest import meeting_create

    call_command("migrate", verbosity=0)
    rooms = []
    for _ in range(count):
        meeting = meeting_create(invitees=PER_ROOM)
        rooms.append((meeting.room_id, meeting.tokens[:PER_ROOM]))
    return rooms


def embedded_environment() -> dict:
    """Point this process (and the servers it starts) at a fresh embedded set-up: SQLite, no Redis."""
    env = {
        **os.environ,
        "TESSERA_VAR_DIR": tempfile.mkdtemp(prefix="tessera-bench-"),
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    os.environ.clear()
    os.environ.update(env)
    return env


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("participants", nargs="?", type=int, default=2000)
    parser.add_argument("seconds", nargs="?", type=float, default=20)
    args = bench_arguments(__doc__, parser=parser)
    with busy(args.busy):
        load_before = load_average()
        measure(args.participants, args.seconds)
        print(load_lines(load_before))
        print(f"# busy core: {args.busy}")


def measure(participants: int, seconds: float):
    env = embedded_environment()
    began = time.perf_counter()
    rooms = create_rooms(participants // PER_ROOM)
    print(f"signaling_setup_s: {time.perf_counter() - began:.0f}", flush=True)

    port = free_port()
    command = [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port)]
    server = start_child(command, port, env)
    try:
        tessera = asyncio.run(run_load(port, rooms, seconds, server.pid))
    finally:
        stop_child(server)
    port = free_port()
    reference = start_child([sys.executable, __file__, "--serve-reference", str(port)], port, env)
    try:
        bare = asyncio.run(run_load(port, rooms, seconds, reference.pid))
    finally:
        stop_child(reference)
    print(f"signaling_ramp_up_s: {tessera['ramp_s']:.1f} (reference {bare['ramp_s']:.1f})")
    print(f"signaling_deliveries: {tessera['deliveries']}")
    print(f"signaling_participants: {tessera['participants']}")
    print(f"signaling_p99_ms: {tessera['p99_ms']:.1f}")
    print(f"signaling_kib_per_connection: {tessera['kib']:.1f}")
    print(f"signaling_reference_p99_ms: {bare['p99_ms']:.1f}")
    print(f"signaling_reference_kib_per_connection: {bare['kib']:.1f}")
    print(f"signaling_total_s: {time.perf_counter() - began:.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-reference":
        serve_reference(int(sys.argv[2]))
    else:
        main()
