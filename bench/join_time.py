"""Join time: from navigating to the join link to the first decoded remote frame, 2 people on loopback.

Starts its own ASGI server (uvicorn) and SQLite database with the test settings, and Debian's Chromium
with fake devices. One participant stays in the room; the second joins 12 times, each time in a fresh
browser context: the clock starts before `goto(invitation link)`, the link exactly as the invitation email
gives it (`/m/<room-id>#<token>.<secret>`), and stops when the page's peer connection has decoded a video
frame of the first participant (`framesDecoded > 0`). Everything a person does on the way is in the
measured time: the link's page (which asks the server what the link allows and, the room being open,
goes on by itself), the pre-join page and its "Join" click.

    .venv/bin/python bench/join_time.py
"""

import os
import statistics
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

JOINS = 12
FIRST_FRAME = "window.__pcs.some(() => true) && window.__inbound().then((s) => s.some((x) => x.video > 0))"


def setup_room(**room_settings):
    """A fresh database, a meeting, and the ASGI server; returns (server, meeting)."""
    from tests.conftest import ASGIServer
    from tests.room.conftest import meeting_create

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TESSERA_ROOM = {"resume_grace_seconds": 1, **room_settings}
    call_command("migrate", verbosity=0)
    meeting = meeting_create()
    server = ASGIServer()
    server.start()
    return server, meeting


def launch(playwright):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def main():
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    from tessera.meetings import links
    from tests.e2e.room_helpers import PC_SPY, open_room, wait_until

    server, meeting = setup_room()
    # The link of the invitation email, on this server's origin.
    emailed = links.join_url(
        event=meeting.event, invitation=meeting.invitations[1], room_secret=meeting.room_secret
    )
    parts = urlsplit(emailed)
    invitation_path = f"{parts.path}#{parts.fragment}"
    times = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        host = open_room(browser, server, meeting.link(0), name="Host")
        host.wait_for_selector("#room-app[data-state=in-room]")
        for _ in range(JOINS):
            context = browser.new_context()
            page = context.new_page()
            page.add_init_script(PC_SPY)
            started = time.perf_counter()
            page.goto(server.url + invitation_path)  # the open room's link goes on to the pre-join page
            page.click("#join-button")
            wait_until(
                lambda p=page: p.evaluate(FIRST_FRAME), timeout=20, interval=0.01, message="first frame"
            )
            times.append((time.perf_counter() - started) * 1000)
            context.close()
            time.sleep(1.5)  # the host sees the guest leave before the next join
        browser.close()
    server.stop()
    print(f"join_time_samples_ms: {' '.join(f'{t:.0f}' for t in times)}")
    print(f"join_time_median_ms: {statistics.median(times):.0f}")


if __name__ == "__main__":
    main()
