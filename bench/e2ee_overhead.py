"""E2EE CPU overhead: browser CPU time of a 30 s two-party call with E2EE, divided by the same without.

Starts its own ASGI server and SQLite database (test settings). Each call is two participants in a fresh
room, in their own Debian Chromium with fake devices: with E2EE, or with `?e2ee=off` (honoured only because
this benchmark sets `allow_plaintext_benchmark`). Once both decode each other and a few seconds have
passed, it sums the user+system CPU time of that browser's processes (read from /proc) over 30 s. Three
pairs of calls, one at a time, in the order E P P E E P, so that a drift of the machine's speed during the
run weighs on both modes alike. (Running the two calls side by side saturates the two cores, and the
contention then costs the encrypted call's extra thread hops more than the plain one's: that measures the
machine, not the encryption.)

    .venv/bin/python bench/e2ee_overhead.py [--busy] [seconds] [pairs]      (about 4 minutes)

The reference is the plain call, measured in the same run: `e2ee_cpu_ratio` is already a ratio.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from _busy import bench_arguments, busy, load_average, load_lines, ratio  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# Video frames decoded so far and the pixels of the last one, per page: the work a call did. WebRTC lowers
# the resolution or frame rate of a starved encoder, so a ratio of CPU alone needs the same work on both sides.
DECODED_WORK = """async () => {
  let frames = 0, pixels = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        frames += r.framesDecoded || 0;
        pixels += (r.frameWidth || 0) * (r.frameHeight || 0);
      }
    });
  }
  return [frames, pixels];
}"""


def decoded_work(pages) -> tuple[int, int]:
    """(video frames decoded, pixels of the current frames) summed over the call's pages."""
    work = [page.evaluate(DECODED_WORK) for page in pages]
    return sum(w[0] for w in work), sum(w[1] for w in work)


def setup_room(**room_settings):
    """A fresh database, a meeting, and the ASGI server in this process; returns (server, meeting)."""
    from tests.conftest import ASGIServer
    from tests.room.conftest import meeting_create

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TESSERA_ROOM = {"resume_grace_seconds": 1, **room_settings}
    call_command("migrate", verbosity=0)
    meeting = meeting_create()
    server = ASGIServer()
    server.start()
    return server, meeting


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def browser_cpu_seconds(marker: str) -> float:
    """CPU seconds of the Chromium started with `marker` on its command line, and of all its children."""
    table = _processes()
    roots = {pid for pid, (_, cmdline, _) in table.items() if marker in cmdline and "chrom" in cmdline}
    total = 0.0
    for pid, (_parent, _, cpu) in table.items():
        node = pid
        while node and node not in roots:
            node = table.get(node, (0, "", 0))[0]
        if node:
            total += cpu
    return total


def launch(playwright, marker: str):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    # An unknown switch is ignored by Chromium; it only tells this browser's processes apart.
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--tessera-bench={marker}"], headless=True
    )


def start_call(playwright, server, meeting, *, e2ee: bool, marker: str):
    from tests.e2e.room_helpers import open_room

    browser = launch(playwright, marker)  # closed with its contexts after the call
    suffix = "" if e2ee else "?e2ee=off"
    pages = [
        open_room(browser, server, meeting.link(i).replace("#", f"{suffix}#"), [], name=name)
        for i, name in ((0, "A"), (1, "B"))
    ]
    return browser, pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=30, help="measured seconds per call")
    parser.add_argument("pairs", nargs="?", type=int, default=3, help="pairs of calls (E P, then P E, ...)")
    args = bench_arguments(__doc__, parser=parser)
    with busy(args.busy):
        load_before = load_average()
        used, frames, sizes = measure(args.seconds, args.pairs)
        load_after = load_average()
    print(f"e2ee_cpu_seconds: {' '.join(f'{v:.2f}' for v in used['e2ee'])}")
    print(f"plain_cpu_seconds: {' '.join(f'{v:.2f}' for v in used['plain'])}")
    print(f"e2ee_cpu_ratio: {ratio(sum(used['e2ee']), sum(used['plain'])):.3f}")
    # The same work on both sides or not: frames decoded in the window, and the pixels of a frame at its end.
    print(f"e2ee_frames_decoded: {' '.join(str(n) for n in frames['e2ee'])}")
    print(f"plain_frames_decoded: {' '.join(str(n) for n in frames['plain'])}")
    print(f"e2ee_frame_pixels: {' '.join(str(n) for n in sizes['e2ee'])}")
    print(f"plain_frame_pixels: {' '.join(str(n) for n in sizes['plain'])}")
    per_frame = ratio(sum(used["e2ee"]) / sum(frames["e2ee"]), sum(used["plain"]) / sum(frames["plain"]))
    print(f"e2ee_cpu_per_frame_ratio: {per_frame:.3f}")
    print(load_lines(load_before, load_after))
    print(f"# busy core: {args.busy}")


def measure(seconds: float, pairs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.room_helpers import decoding_from_all, wait_until
    from tests.room.conftest import meeting_create

    # E, P, P, E, E, P...: each mode as often first as second, so that a drift of the machine's speed
    # during the run weighs on both alike.
    order = [mode for i in range(pairs) for mode in (("e2ee", "plain") if i % 2 == 0 else ("plain", "e2ee"))]
    server, _ = setup_room(allow_plaintext_benchmark=True)
    used = {"e2ee": [], "plain": []}
    frames = {"e2ee": [], "plain": []}
    sizes = {"e2ee": [], "plain": []}
    with sync_playwright() as playwright:
        for index, mode in enumerate(order):
            marker = f"{mode}-{index}"
            browser, pages = start_call(
                playwright, server, meeting_create(), e2ee=mode == "e2ee", marker=marker
            )
            for page in pages:
                wait_until(lambda p=page: decoding_from_all(p, 1), timeout=30, message="decoding")
            time.sleep(5)  # past the start-up (bandwidth ramp-up)
            # getStats is read outside the measured CPU time, before and after it.
            frames_before, _ = decoded_work(pages)
            before = browser_cpu_seconds(marker)
            time.sleep(seconds)
            used[mode].append(browser_cpu_seconds(marker) - before)
            frames_after, pixels = decoded_work(pages)
            frames[mode].append(frames_after - frames_before)
            sizes[mode].append(pixels)
            browser.close()
            time.sleep(2)
    server.stop()
    return used, frames, sizes


if __name__ == "__main__":
    main()
