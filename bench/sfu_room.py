"""Rooms through Janus: join time against a bare pair and the mesh, the largest room this machine holds,
and Janus's own CPU per forwarded stream (decision 0011).

It runs what a deployment with a Janus runs, in processes of its own: Debian's Janus started by
`deploy/janus/janus-run.sh` with secrets drawn for the run, and `manage.py serve` (base settings, SQLite
on a fresh database, the embedded worker) pointed at it with `JANUS_URLS`. This process writes the
meetings into the server's database and drives Debian's Chromium with fake devices (headless pages).

Join time: a host stays in a large meeting (through Janus from its first participant) and another stays in
an ordinary meeting of two (a mesh); then 10 people join each, one after the other, alternating with the
reference. Each join is a fresh browser context: the clock starts before `goto(link)` and stops at the
first decoded frame of the host's video, as in `bench/join_time.py`. The reference is a bare pair of
RTCPeerConnections in one page of the same browser (`bare_pair_join_ms`), the floor of this machine.

Capacity: a large meeting with 4 video publishers, then audio-only participants added one at a time, every
page 480x360 so that its tiles ask for the low layer. After each arrival every page's decoded frames are
counted over a window: the room holds when every page decodes at least 10 frames a second from each
video publisher other than itself. `sfu_participants` is the largest such room (at most `--max`).
During each window, Janus's CPU time is read from /proc: `janus_cpu_ms_per_forwarded_stream_s` is that
CPU over the streams Janus forwarded (each inbound stream of each page, audio and video, bytes rising)
and the window's length, from the largest room that held.

    .venv/bin/python bench/sfu_room.py [--busy] [--max 16]     (about 4 minutes)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines, ratio  # noqa: E402
from invitations import _free_port, serve, stop  # noqa: E402
from join_time import bare_pair_ms, emailed_paths, server_here, timed_join  # noqa: E402

JOINS = 10
PUBLISHERS = 4
MIN_FPS = 10.0
WINDOW_S = 3.0
SETTLE_S = 3.0
SMALL = {"width": 480, "height": 360}
# Every inbound stream of every open connection of the page: its kind, frames decoded and bytes.
INBOUND = """async () => {
  const out = {};
  for (const [index, pc] of window.__pcs.entries()) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") out[`${index}:${s.id}`] = { kind: s.kind, frames: s.framesDecoded || 0, bytes: s.bytesReceived || 0 };
    });
  }
  return { at: performance.now(), streams: out };
}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--max", type=int, default=16, help="the largest room tried (default 16)")
    parser.add_argument("--fps", type=int, default=30, help="the fake cameras' frame rate (default 30)")
    parser.add_argument(
        "--verbose", action="store_true", help="print each page's rates and the busiest processes per window"
    )
    args = bench_arguments(__doc__, parser=parser)
    with busy(args.busy):
        load_before = load_average()
        figures = measure(args)
        load_after = load_average()
    sfu, mesh, bare = (statistics.median(figures[k]) for k in ("sfu", "mesh", "bare"))
    for name in ("sfu", "mesh", "bare"):
        print(f"# {name}_samples_ms: {' '.join(f'{t:.0f}' for t in figures[name])}")
    for size, fps, held in figures["steps"]:
        print(
            f"# room of {size}: lowest decoded rate {fps:.1f} frames/s, {'held' if held else 'did not hold'}"
        )
    print(f"sfu_join_time_median_ms: {sfu:.0f}")
    print(f"mesh_join_time_median_ms: {mesh:.0f}")
    print(f"bare_pair_join_ms: {bare:.0f}")
    print(f"sfu_join_time_ratio: {ratio(sfu, bare):.3f}")
    print(f"sfu_participants: {figures['participants']}")
    print(f"janus_forwarded_streams: {figures['streams']}")
    print(f"janus_cpu_ms_per_forwarded_stream_s: {figures['cpu']:.3f}")
    print(load_lines(load_before, load_after))
    print(f"# busy core: {args.busy}")


def start_janus(folder: Path):
    from tests.sfu import conftest as janus_conftest

    janus = janus_conftest.JanusServer(folder)
    janus.session_timeout = 60  # a deployment's: the server's keepalives every 25 s keep its sessions
    return janus.start()


def janus_cpu_ms(pid: int) -> float:
    """The CPU time (user and system) Janus has used so far, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(args) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-sfu-"))
    port = _free_port()
    env = server_here(str(var_dir), port, TESSERA_ROOM_TOPOLOGY="auto")
    janus = start_janus(var_dir)  # its fixtures' module needs Django set up
    env.update(
        {"JANUS_URLS": janus.url, "JANUS_API_SECRET": janus.api_secret, "JANUS_ADMIN_KEY": janus.admin_key}
    )
    from django.conf import settings

    settings.JANUS_URLS = [janus.url]  # this process creates large meetings, which need one
    proc = serve(env, port, var_dir / "serve.log")
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = launch_fps(playwright, args.fps)
            figures = joins(browser, env["TESSERA_BASE_URL"])
            figures.update(capacity(browser, env["TESSERA_BASE_URL"], janus, args.max, args.verbose))
            browser.close()
    finally:
        stop(proc)
        janus.stop()
    return figures


def launch_fps(playwright, fps: int):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"]
    args.append(f"--use-fake-device-for-media-stream=fps={fps}")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


def enter(browser, base: str, path: str, contexts: list, *, camera: bool = True, viewport=None):
    """A page of the room in a context of its own (added to `contexts`), joined with or without camera."""
    from tests.e2e.room_helpers import open_room

    server = SimpleNamespace(url=base)
    args = {"viewport": viewport} if viewport else None
    page = open_room(browser, server, path, contexts, join=False, context_args=args)
    if not camera:
        page.uncheck("#join-camera")
    page.click("#join-button")
    return page


def joins(browser, base: str) -> dict:
    sfu_paths = emailed_paths(invitees=JOINS + 1, large=True)
    mesh_paths = emailed_paths(invitees=JOINS + 1)
    contexts = []
    for paths in (sfu_paths, mesh_paths):
        enter(browser, base, paths[0], contexts).wait_for_selector("#room-app[data-state=in-room]")
    figures = {"sfu": [], "mesh": [], "bare": []}
    for sfu_path, mesh_path in zip(sfu_paths[1:], mesh_paths[1:], strict=True):
        figures["bare"].append(bare_pair_ms(browser, base))
        figures["sfu"].append(timed_join(browser, base, sfu_path))
        figures["mesh"].append(timed_join(browser, base, mesh_path))
    for context in contexts:
        context.close()
    return figures


def rates(before: dict, after: dict) -> tuple[list[float], int]:
    """The frame rate of each inbound video stream between two samples, and how many streams (audio and
    video) received bytes meanwhile."""
    seconds = (after["at"] - before["at"]) / 1000
    fps, flowing = [], 0
    for key, stream in after["streams"].items():
        was = before["streams"].get(key)
        if was is None:
            continue
        if stream["bytes"] > was["bytes"]:
            flowing += 1
        if stream["kind"] == "video":
            fps.append((stream["frames"] - was["frames"]) / seconds)
    return fps, flowing


def window(pages: list, janus, verbose: bool) -> tuple[float, int, float]:
    """Every page's lowest video rate over WINDOW_S, the streams forwarded, and Janus's CPU ms per
    forwarded stream-second."""
    before = [p.evaluate(INBOUND) for p in pages]
    cpu_before, started = janus_cpu_ms(janus.process.pid), time.monotonic()
    if verbose:  # the busiest processes, over the window's first 2 s
        top = subprocess.run(  # noqa: S603 - top, to show where the CPU goes
            [shutil.which("top") or "top", "-b", "-n", "2", "-d", "2", "-w", "120"],
            capture_output=True,
            text=True,
        )
        print("\n".join("# " + line for line in top.stdout.split("top - ")[-1].splitlines()[6:20]))
    time.sleep(max(0.0, WINDOW_S - (time.monotonic() - started)))
    after = [p.evaluate(INBOUND) for p in pages]
    cpu, seconds = janus_cpu_ms(janus.process.pid) - cpu_before, time.monotonic() - started
    lowest, streams = float("inf"), 0
    for index, (b, a) in enumerate(zip(before, after, strict=True)):
        fps, flowing = rates(b, a)
        expected = PUBLISHERS - 1 if index < PUBLISHERS else PUBLISHERS
        if len(fps) < expected:
            return 0.0, streams, 0.0
        lowest = min(lowest, *sorted(fps, reverse=True)[:expected])
        if verbose:
            print("# page", index, "frames/s", [round(f, 1) for f in fps], "streams", flowing)
        streams += flowing
    return lowest, streams, cpu / max(streams, 1) / seconds


def capacity(browser, base: str, janus, largest: int, verbose: bool) -> dict:
    from tests.e2e.room_helpers import wait_until
    from tests.sfu.test_sfu_room import decoding

    paths = emailed_paths(invitees=largest, large=True)
    contexts, pages, steps = [], [], []
    best = {"participants": 0, "streams": 0, "cpu": 0.0}
    try:
        for index, path in enumerate(paths):
            pages.append(enter(browser, base, path, contexts, camera=index < PUBLISHERS, viewport=SMALL))
            pages[-1].wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
            size = len(pages)
            if size < PUBLISHERS:
                continue
            for position, page in enumerate(pages):
                expected = PUBLISHERS - 1 if position < PUBLISHERS else PUBLISHERS
                try:
                    wait_until(
                        lambda p=page, e=expected: decoding(p, e), timeout=20, message="every video publisher"
                    )
                except AssertionError:
                    break
            time.sleep(SETTLE_S)  # the newcomer's layers settle, and Janus switches them
            lowest, streams, cpu = window(pages, janus, verbose)
            held = lowest >= MIN_FPS
            steps.append((size, lowest, held))
            if not held:
                break
            best = {"participants": size, "streams": streams, "cpu": cpu}
    finally:
        for context in contexts:
            context.close()
    return {**best, "steps": steps}


if __name__ == "__main__":
    main()
