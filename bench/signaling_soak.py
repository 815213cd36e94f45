"""Signaling soak: 1,000 participants in 250 rooms signaling for 10 minutes; the server's memory stays flat.

Same server and client as bench/signaling_load.py (Tessera as production runs it, `manage.py serve
--no-worker`, on a fresh temporary SQLite database; the client answers heartbeats from the first message
on). For the whole run every room sends one encrypted-size chat message per second (fan-out to the 3
others) and one peer-to-peer signal every 2 s, each participant sends its connection statistics every
10 s as the room page does, and once a minute one participant of each room leaves and joins again with
its invitation (a new connection, a new participant id): what a leak would keep is per connection and
per join. The server's RSS is sampled every 30 s after a warm-up (the first minute): growth is the last
sample against the first one after the warm-up.

The reference is the bare `websockets` broadcast server of bench/signaling_load.py under the same load,
driven by the same client in the same run, for as long.

    .venv/bin/python bench/signaling_soak.py [--minutes 10] [--participants 1000] [--busy]

The issue asks for 10 minutes, so that is the default, although benchmarks here usually stay under 5
minutes: a full run takes about 22 minutes (Tessera, then the reference). `--busy` keeps one core busy
with a spinning process for the whole run, as a loaded machine would.
"""

import argparse
import asyncio
import atexit
import contextlib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signaling_load as load
from _busy import busy_core, load_average, load_lines

ROOT = load.ROOT
PER_ROOM = load.PER_ROOM
WARMUP_SECONDS = 60
SAMPLE_SECONDS = 30
STATS_SECONDS = 10
CHURN_SECONDS = 60
STATS = json.dumps(
    {"type": "stats", "bitrate_in_kbps": 900, "bitrate_out_kbps": 850, "rtt_ms": 12, "fps": 30}
)


class Participant(load.Participant):
    """The load benchmark's participant, which also counts the errors and drops it did not ask for."""

    def __init__(self, ws, latencies: list, errors: dict):
        self.errors, self.leaving = errors, False
        super().__init__(ws, latencies)

    async def _read(self):
        async for raw in self.ws:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await self.ws.send('{"type":"pong"}')
            elif kind == "app":
                self.latencies.append(time.perf_counter() - load.stamp_of(message["payload"]))
            elif kind == "signal":
                sent = float(message["candidate"]["candidate"].split(":")[0])
                self.latencies.append(time.perf_counter() - sent)
            elif kind == "welcome" and not self.welcome.done():
                self.pid = message.get("pid", "")
                self.welcome.set_result(None)
            elif kind == "error":
                if not self.welcome.done():
                    self.welcome.set_exception(RuntimeError(message))
                self.errors[message.get("code", "?")] = self.errors.get(message.get("code", "?"), 0) + 1
        if not self.leaving:
            self.errors["dropped"] = self.errors.get("dropped", 0) + 1


async def run_soak(port: int, rooms: list[tuple[str, list[str]]], seconds: float, pid: int) -> dict:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0

    async def join(room_id: str, token: str, attempts: int = 3) -> Participant:
        # As the room page does, a join that fails (an authentication timeout under load) is tried again.
        for attempt in range(1, attempts + 1):
            ws = await connect(f"ws://127.0.0.1:{port}/ws/meet/{room_id}", max_size=None, open_timeout=60)
            participant = Participant(ws, latencies, errors)
            try:
                await ws.send(
                    json.dumps({"type": "auth", "kind": "invite", "token": token, "name": "bmFtZQ"})
                )
                await asyncio.wait_for(participant.welcome, 60)
                return participant
            except Exception:
                errors["join_failed"] = errors.get("join_failed", 0) + 1
                participant.leaving = True
                await ws.close()
                if attempt == attempts:
                    raise
                await asyncio.sleep(attempt)
        raise AssertionError("unreachable")

    slots = [(room_id, token) for room_id, tokens in rooms for token in tokens]
    connected: list[Participant] = []
    for start in range(0, len(slots), load.BATCH):
        connected += await asyncio.gather(*(join(r, t) for r, t in slots[start : start + load.BATCH]))
    # Each room's members by position, so that a member who joins again takes the place of the one who left.
    members = {room_id: [] for room_id, _ in rooms}
    for (room_id, _token), participant in zip(slots, connected, strict=True):
        members[room_id].append(participant)
    tokens = dict(rooms)

    began = time.perf_counter()
    end = began + seconds

    async def send(participant: Participant, text: str) -> None:
        nonlocal sent
        with contextlib.suppress(Exception):  # a member who is leaving may be closed already
            await participant.ws.send(text)
            sent += 1

    async def room_traffic(room_id: str):
        room = members[room_id]
        await asyncio.sleep(random.random())
        tick, next_churn = 0, time.perf_counter() + random.uniform(0, CHURN_SECONDS)
        while time.perf_counter() < end:
            await send(
                random.choice(room), json.dumps({"type": "app", "payload": load.stamped(load.PAYLOAD)})
            )
            if tick % 2 == 0:
                sender, receiver = random.sample(room, 2)
                candidate = {
                    "candidate": f"{time.perf_counter()}:candidate 1 udp 2122194687 192.0.2.2 9 typ host"
                }
                await send(
                    sender,
                    json.dumps(
                        {"type": "signal", "to": receiver.pid or "abcdefghij", "candidate": candidate}
                    ),
                )
            if tick % STATS_SECONDS == 0:
                for member in room:
                    await send(member, STATS)
            if time.perf_counter() >= next_churn:
                next_churn += CHURN_SECONDS
                index = random.randrange(len(room))
                leaving = room[index]
                leaving.leaving = True
                await send(leaving, '{"type":"leave"}')
                with contextlib.suppress(Exception):
                    await leaving.ws.close()
                with contextlib.suppress(Exception):  # counted in join_failed; the slot stays closed
                    room[index] = await join(room_id, tokens[room_id][index])
            tick += 1
            await asyncio.sleep(1)

    samples: list[tuple[float, int]] = []

    async def sample_memory():
        await asyncio.sleep(min(WARMUP_SECONDS, seconds / 3))
        interval = min(SAMPLE_SECONDS, seconds / 10)
        while True:
            samples.append((time.perf_counter() - began, load.rss_kib(pid)))
            if time.perf_counter() + interval > end + 0.5:
                return
            await asyncio.sleep(interval)

    warm_until = began + min(WARMUP_SECONDS, seconds / 3)
    sampler = asyncio.create_task(sample_memory())
    traffic = asyncio.gather(*(room_traffic(room_id) for room_id in members))
    # Latencies of the warm-up are dropped once it ends.
    await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
    latencies.clear()
    await traffic
    await sampler
    await asyncio.sleep(1)
    everyone = [p for room in members.values() for p in room]
    for participant in everyone:
        participant.leaving = True
    await asyncio.gather(*(p.ws.close() for p in everyone), return_exceptions=True)
    latencies.sort()
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000 if latencies else float("nan")
    first, last = samples[0][1], samples[-1][1]
    return {
        "participants": len(everyone),
        "messages": sent,
        "deliveries": len(latencies),
        "p99_ms": p99,
        "rss_start_mb": first / 1024,
        "rss_end_mb": last / 1024,
        "rss_max_mb": max(s for _, s in samples) / 1024,
        "growth_pct": (last - first) / first * 100,
        "samples": samples,
        "errors": errors,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic time for each server")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--busy", action="store_true", help="keep one core busy for the whole run")
    args = parser.parse_args()
    # Printed last, even when the run fails: the figures above were taken under this load.
    atexit.register(lambda before: print(load_lines(before)), load_average())
    seconds = args.minutes * 60
    env = load.embedded_environment()
    began = time.perf_counter()
    rooms = load.create_rooms(args.participants // PER_ROOM)
    print(f"soak_setup_s: {time.perf_counter() - began:.0f}", flush=True)
    busy = busy_core(2 * seconds + 600) if args.busy else None
    # The client never waits longer than this for a run: the servers are stopped either way.
    limit = seconds + 600
    try:
        port = load.free_port()
        command = [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port)]
        server = load.start_child(command, port, env)
        try:
            tessera = asyncio.run(asyncio.wait_for(run_soak(port, rooms, seconds, server.pid), limit))
        finally:
            load.stop_child(server)
        port = load.free_port()
        reference = load.start_child(
            [sys.executable, load.__file__, "--serve-reference", str(port)], port, env
        )
        try:
            bare = asyncio.run(asyncio.wait_for(run_soak(port, rooms, seconds, reference.pid), limit))
        finally:
            load.stop_child(reference)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    samples = " ".join(f"{at:.0f}s={kib / 1024:.1f}" for at, kib in tessera["samples"])
    print(f"# server RSS (MB) after warm-up: {samples}")
    print(f"# errors seen by clients: {tessera['errors'] or 'none'} (reference {bare['errors'] or 'none'})")
    print(f"soak_participants: {tessera['participants']}")
    print(f"soak_minutes: {args.minutes:g}")
    print(f"soak_messages: {tessera['messages']}")
    print(f"soak_deliveries: {tessera['deliveries']}")
    print(f"soak_rss_start_mb: {tessera['rss_start_mb']:.1f}")
    print(f"soak_rss_end_mb: {tessera['rss_end_mb']:.1f}")
    print(f"soak_rss_max_mb: {tessera['rss_max_mb']:.1f}")
    print(f"soak_rss_growth_pct: {tessera['growth_pct']:.1f}")
    print(f"soak_p99_ms: {tessera['p99_ms']:.1f}")
    print(f"soak_reference_rss_start_mb: {bare['rss_start_mb']:.1f}")
    print(f"soak_reference_rss_end_mb: {bare['rss_end_mb']:.1f}")
    print(f"soak_reference_rss_growth_pct: {bare['growth_pct']:.1f}")
    print(f"soak_reference_p99_ms: {bare['p99_ms']:.1f}")
    print(f"soak_total_s: {time.perf_counter() - began:.0f}")


if __name__ == "__main__":
    main()
