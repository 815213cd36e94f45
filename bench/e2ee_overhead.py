"""E2EE CPU overhead: browser CPU time of a 30 s two-party call with E2EE, divided by the same without.

Starts its own ASGI server and SQLite database (test settings). Each call is two participants in a fresh
room, in their own Debian Chromium with fake devices: with E2EE, or with `?e2ee=off` (honoured only because
this benchmark sets `allow_plaintext_benchmark`). Once both decode each other and a few seconds have
passed, it sums the user+system CPU time of that browser's processes (read from /proc) over 30 s. Three
pairs of calls, one at a time, in the order E P P E E P, so that a drift of the machine's speed during the
run weighs on both modes alike. (Running the two calls side by side saturates the two cores, and the
contention then costs the encrypted call's extra thread hops more than the plain one's: that measures the
machine, not the encryption.)

    .venv/bin/python bench/e2ee_overhead.py [seconds] [pairs]
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


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
    from playwright.sync_api import sync_playwright

    from tests.e2e.room_helpers import decoding_from_all, wait_until
    from tests.room.conftest import meeting_create

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # E, P, P, E, E, P...: each mode as often first as second, so that a drift of the machine's speed
    # during the run weighs on both alike.
    order = [mode for i in range(pairs) for mode in (("e2ee", "plain") if i % 2 == 0 else ("plain", "e2ee"))]
    server, _ = setup_room(allow_plaintext_benchmark=True)
    used = {"e2ee": [], "plain": []}
    with sync_playwright() as playwright:
        for index, mode in enumerate(order):
            marker = f"{mode}-{index}"
            browser, pages = start_call(
                playwright, server, meeting_create(), e2ee=mode == "e2ee", marker=marker
            )
            for page in pages:
                wait_until(lambda p=page: decoding_from_all(p, 1), timeout=30, message="decoding")
            time.sleep(5)  # past the start-up (bandwidth ramp-up)
            before = browser_cpu_seconds(marker)
            time.sleep(seconds)
            used[mode].append(browser_cpu_seconds(marker) - before)
            browser.close()
            time.sleep(2)
    server.stop()
    print(f"e2ee_cpu_seconds: {' '.join(f'{v:.2f}' for v in used['e2ee'])}")
    print(f"plain_cpu_seconds: {' '.join(f'{v:.2f}' for v in used['plain'])}")
    print(f"e2ee_cpu_ratio: {sum(used['e2ee']) / sum(used['plain']):.3f}")


if __name__ == "__main__":
    main()
