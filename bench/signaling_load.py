"""Signaling load: 2,000 participants in 500 rooms on one server process, against a bare broadcast server.

The parent creates 500 meetings of 4 invitees in a fresh SQLite database (test settings), then starts the
Tessera ASGI server (uvicorn, one process) in a child process. One asyncio client process opens 2,000
WebSockets, authenticates each with its invitation token, and for 20 s every room sends one encrypted-size
chat message per second (fan-out to the 3 others) and one peer-to-peer signal every 2 s. The latency of a
delivery is the time from the send to its receipt, on the same clock. Memory per connection is the server's
RSS growth from before the first connection to after the last, divided by the connections.

The reference is a bare `websockets` server in its own process that broadcasts each message to the other
connections of its path, driven by the same client code in the same run.

    .venv/bin/python bench/signaling_load.py [participants] [seconds]
"""

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
PER_ROOM = 4
PAYLOAD = "x" * 160  # the size of a short encrypted chat message


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


def serve_tessera(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
    import django

    django.setup()
    import uvicorn
    from django.conf import settings

    settings.TESSERA_ROOM = {
        "rate_per_second": 1000,
        "rate_burst": 1000,
        "auth_failures_per_ip": (100_000, 60),
        "heartbeat_seconds": 30,
    }
    uvicorn.run("tessera.asgi:application", host="127.0.0.1", port=port, log_level="warning", lifespan="off")


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


def start_child(kind: str, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port)], env=env)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.5)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the {kind} server did not start")


# --- load (this process) ----------------------------------------------------------------------------


async def run_load(port: int, rooms: list[tuple[str, list[str]]], seconds: float, pid: int) -> dict:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    peers: dict[str, list] = {}
    base = rss_kib(pid)

    async def participant(room_id: str, token: str):
        ws = await connect(f"ws://127.0.0.1:{port}/ws/meet/{room_id}", max_size=None, open_timeout=60)
        await ws.send(json.dumps({"type": "auth", "kind": "invite", "token": token, "name": "bmFtZQ"}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "welcome":
                return ws, message.get("pid", "")
            if message["type"] == "error":
                raise RuntimeError(message)

    async def reader(ws):
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send('{"type":"pong"}')
                elif message["type"] in {"app", "signal"}:
                    sent = (
                        float(message.get("payload", "0:").split(":")[0])
                        if message["type"] == "app"
                        else float(message["candidate"]["candidate"].split(":")[0])
                    )
                    latencies.append(time.perf_counter() - sent)
        except Exception:  # the connection closed at the end of the run
            return

    semaphore = asyncio.Semaphore(50)

    async def join(room_id, token):
        async with semaphore:
            return await participant(room_id, token)

    connected = await asyncio.gather(*(join(room_id, token) for room_id, tokens in rooms for token in tokens))
    index = 0
    for room_id, tokens in rooms:
        peers[room_id] = connected[index : index + len(tokens)]
        index += len(tokens)
    grown = rss_kib(pid) - base
    readers = [asyncio.create_task(reader(ws)) for ws, _pid in connected]

    async def room_traffic(members):
        await asyncio.sleep(random.random())
        tick = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            ws, _ = random.choice(members)
            await ws.send(json.dumps({"type": "app", "payload": f"{time.perf_counter()}:{PAYLOAD}"}))
            if tick % 2 == 0:
                (ws, _), (_, to) = random.sample(members, 2)
                candidate = {
                    "candidate": f"{time.perf_counter()}:candidate 1 udp 2122194687 192.0.2.2 9 typ host"
                }
                await ws.send(
                    json.dumps({"type": "signal", "to": to or "abcdefghij", "candidate": candidate})
                )
            tick += 1
            await asyncio.sleep(1)

    latencies.clear()
    await asyncio.gather(*(room_traffic(members) for members in peers.values()))
    await asyncio.sleep(1)
    for task in readers:
        task.cancel()
    for ws, _ in connected:
        await ws.close()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return {
        "participants": len(connected),
        "deliveries": len(latencies),
        "p99_ms": p99,
        "kib": grown / len(connected),
    }


def create_rooms(count: int) -> list[tuple[str, list[str]]]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.room.conftest import meeting_create

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    rooms = []
    for _ in range(count):
        meeting = meeting_create(invitees=PER_ROOM)
        rooms.append((meeting.room_id, meeting.tokens[:PER_ROOM]))
    return rooms


def main():
    participants = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    var_dir = tempfile.mkdtemp(prefix="tessera-bench-")
    os.environ["TESSERA_VAR_DIR"] = var_dir
    env = {**os.environ, "TESSERA_VAR_DIR": var_dir}
    rooms = create_rooms(participants // PER_ROOM)

    port = free_port()
    server = start_child("tessera", port, env)
    try:
        tessera = asyncio.run(run_load(port, rooms, seconds, server.pid))
    finally:
        server.terminate()
        server.wait()
    port = free_port()
    reference = start_child("reference", port, env)
    try:
        bare = asyncio.run(run_load(port, rooms, seconds, reference.pid))
    finally:
        reference.terminate()
        reference.wait()
    print(f"signaling_deliveries: {tessera['deliveries']}")
    print(f"signaling_participants: {tessera['participants']}")
    print(f"signaling_p99_ms: {tessera['p99_ms']:.1f}")
    print(f"signaling_kib_per_connection: {tessera['kib']:.1f}")
    print(f"signaling_reference_p99_ms: {bare['p99_ms']:.1f}")
    print(f"signaling_reference_kib_per_connection: {bare['kib']:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        (serve_tessera if sys.argv[2] == "tessera" else serve_reference)(int(sys.argv[3]))
    else:
        main()
