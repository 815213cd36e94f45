"""Join time: from navigating to the join link to the first decoded remote frame, 2 people on loopback.

It runs what `make run` runs, in its own process: `manage.py serve` with the base settings (one ASGI
process, the embedded worker, SQLite) on a fresh database in a temporary directory; this process creates
the meeting in that database and drives Debian's Chromium with fake devices. One participant stays in the
room; then 12 others join one after the other, each in a fresh browser context (nothing cached) with their
own invitation. The clock starts before `goto(invitation link)`, the link exactly as the invitation email
gives it (`/m/<room-id>#<token>.<secret>`), and stops when the page's peer connection has decoded a video
frame of the first participant (`framesDecoded > 0`). Everything a person does on the way is in the
measured time: the link's page asking the server what the link allows, the pre-join page with its camera
preview, and the click on "Join".

    .venv/bin/python bench/join_time.py
"""

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from invitations import _free_port, serve, stop  # noqa: E402

JOINS = 12
# The first remote video frame the page decodes: a tile's <video> fires `loadeddata` when its first frame
# is decoded and ready. An event, so the page is not slowed by polling getStats while it joins; afterwards
# the bench checks that the peer connection's framesDecoded agrees (getStats caches its figures briefly).
FIRST_FRAME_WATCH = """
window.__firstFrame = new Promise((resolve) => {
  document.addEventListener("loadeddata", (event) => {
    const video = event.target;
    if (video.tagName === "VIDEO" && video.closest("#stage") && video.videoWidth > 0) resolve(performance.now());
  }, true);
});
"""
DECODED = "async () => (await window.__inbound()).some((x) => x.video > 0)"


def main():
    var_dir = tempfile.mkdtemp(prefix="tessera-bench-join-")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": var_dir,
        "TESSERA_BASE_URL": f"http://127.0.0.1:{port}",
        "TESSERA_LOG_LEVEL": "ERROR",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TESSERA_SECRET_KEY"):
        env.pop(name, None)
    os.environ.update(env)  # this process writes the meeting into the server's database
    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from tessera.meetings import links
    from tests.e2e.room_helpers import PC_SPY, wait_until
    from tests.room.conftest import meeting_create

    call_command("migrate", verbosity=0)
    meeting = meeting_create(invitees=JOINS + 1)
    paths = []
    for invitation in meeting.invitations:
        emailed = urlsplit(
            links.join_url(event=meeting.event, invitation=invitation, room_secret=meeting.room_secret)
        )
        paths.append(f"{emailed.path}#{emailed.fragment}")
    proc = serve(env, port, Path(var_dir) / "serve.log")
    base = env["TESSERA_BASE_URL"]
    times = []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            host = browser.new_context().new_page()
            host.add_init_script(PC_SPY)
            host.goto(base + paths[0])
            host.click("#room-app[data-state=prejoin] #join-button")
            host.wait_for_selector("#room-app[data-state=in-room]")
            for path in paths[1:]:
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(PC_SPY)
                page.add_init_script(FIRST_FRAME_WATCH)
                started = time.perf_counter()
                page.goto(base + path)
                page.click("#room-app[data-state=prejoin] #join-button")
                page.evaluate("window.__firstFrame")  # resolves with the frame
                times.append((time.perf_counter() - started) * 1000)
                # getStats caches its figures for a moment: they follow within a few tens of ms.
                wait_until(
                    lambda p=page: p.evaluate(DECODED), timeout=2, interval=0.02, message="framesDecoded"
                )
                context.close()  # closing the tab is leaving: the host sees it at once
                time.sleep(1.0)
            browser.close()
    finally:
        stop(proc)
    print(f"join_time_samples_ms: {' '.join(f'{t:.0f}' for t in times)}")
    print(f"join_time_median_ms: {statistics.median(times):.0f}")


def launch(playwright):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


if __name__ == "__main__":
    main()
