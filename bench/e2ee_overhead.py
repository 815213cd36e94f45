"""E2EE CPU overhead: browser CPU time of a 30 s two-party call with E2EE, divided by the same without.

Starts its own ASGI server and SQLite database (test settings), then for each mode launches Debian's
Chromium with fake devices, opens two participants, waits until both decode each other, and sums the
user+system CPU time of every Chromium process (read from /proc) over the next 30 s. "Without" is the
same page with `?e2ee=off`, honoured only because this benchmark sets `allow_plaintext_benchmark`.

    .venv/bin/python bench/e2ee_overhead.py [seconds] [rounds]
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from join_time import launch, setup_room

TICKS = os.sysconf("SC_CLK_TCK")


def descendants_cpu_seconds(root: int) -> float:
    """CPU seconds of every Chromium process below `root` (the Playwright driver's children)."""
    parents, comm, cpu = {}, {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        parents[pid], comm[pid] = int(fields[1]), name
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    total = 0.0
    for pid in cpu:
        parent, is_child = parents.get(pid), False
        while parent:
            if parent == root:
                is_child = True
                break
            parent = parents.get(parent)
        if is_child and comm[pid].startswith("chrom"):
            total += cpu[pid]
    return total


def call_cpu(playwright, server, meeting, *, e2ee: bool, seconds: float) -> float:
    from tests.e2e.room_helpers import decoding_from_all, open_room, wait_until

    browser = launch(playwright)
    suffix = "" if e2ee else "?e2ee=off"
    link_a = meeting.link(0).replace("#", f"{suffix}#")
    link_b = meeting.link(1).replace("#", f"{suffix}#")
    a = open_room(browser, server, link_a, name="A")
    b = open_room(browser, server, link_b, name="B")
    for page in (a, b):
        wait_until(lambda p=page: decoding_from_all(p, 1), timeout=20, message="decoding")
    time.sleep(3)  # past the start-up (bandwidth ramp-up)
    before = descendants_cpu_seconds(os.getpid())
    time.sleep(seconds)
    used = descendants_cpu_seconds(os.getpid()) - before
    browser.close()
    time.sleep(2)
    return used


def main():
    from playwright.sync_api import sync_playwright

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    server, meeting = setup_room(allow_plaintext_benchmark=True)
    with_e2ee, without = [], []
    with sync_playwright() as playwright:
        for _ in range(rounds):
            with_e2ee.append(call_cpu(playwright, server, meeting, e2ee=True, seconds=seconds))
            without.append(call_cpu(playwright, server, meeting, e2ee=False, seconds=seconds))
    server.stop()
    print(f"e2ee_cpu_seconds: {' '.join(f'{v:.2f}' for v in with_e2ee)}")
    print(f"plain_cpu_seconds: {' '.join(f'{v:.2f}' for v in without)}")
    print(f"e2ee_cpu_ratio: {sum(with_e2ee) / sum(without):.3f}")


if __name__ == "__main__":
    main()
