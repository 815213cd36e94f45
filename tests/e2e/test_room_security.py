"""Encryption really happens, and the room secret never reaches the server."""

import json
import logging

import pytest
from django.apps import apps

from tests.room.conftest import meeting_create

from .room_helpers import decoding_from_all, inbound, open_room, wait_until


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def meeting(server, settings):
    from tessera.meetings.room import live

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    live.reset()
    yield meeting_create()
    live.reset()


@pytest.fixture
def contexts(browser):
    opened = []
    yield opened
    for context in opened:
        context.close()


def _open(browser, server, path, contexts, **kwargs):
    page = open_room(browser, server, path, **kwargs)
    contexts.append(page.context)
    return page


def test_a_wrong_room_secret_decodes_nothing(meeting, browser, server, contexts):
    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    wrong_secret = ("B" if meeting.room_secret[0] != "B" else "C") + meeting.room_secret[1:]
    intruder = _open(
        browser,
        server,
        f"/room/{meeting.room_id}#{meeting.tokens[2]}.{wrong_secret}",
        name="Eve",
        contexts=contexts,
    )
    for page in (a, b):
        wait_until(lambda p=page: decoding_from_all(p, 1), message="the right participants decode each other")
    wait_until(
        lambda: len([s for s in inbound(intruder) if s["state"] == "connected"]) == 2, message="connected"
    )
    a.wait_for_timeout(3000)
    assert all(s["video"] == 0 and s["audio"] == 0 for s in inbound(intruder)), inbound(intruder)
    # The others receive its frames but decode none, and show it as unverified.
    for page in (a, b):
        assert sorted(s["video"] for s in inbound(page))[0] == 0
        page.wait_for_selector(".tile[data-note=unverified]", timeout=5000)


def test_a_removed_participant_decodes_nothing_new_while_the_others_go_on(meeting, browser, server, contexts):
    organiser = _open(browser, server, meeting.organiser_link(), name="Olga", contexts=contexts)
    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    for page in (organiser, a, b):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")
    code_before = a.text_content("#safety-code")
    ben = organiser.locator(".tile[data-kind=camera]", has_text="Ben")
    organiser.once("dialog", lambda dialog: dialog.accept())
    ben.hover()
    ben.locator("[data-act=remove]").click()
    b.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    frames_b = sum(s["video"] for s in inbound(b))
    # The key leader rotated the key: the remaining two agree on a new safety code.
    wait_until(lambda: a.get_attribute("#e2ee-badge", "data-epoch") == "1", timeout=5, message="key rotated")
    wait_until(lambda: organiser.text_content("#safety-code") == a.text_content("#safety-code"), timeout=5)
    assert a.text_content("#safety-code") != code_before
    before = [s["video"] for s in inbound(a)]
    a.wait_for_timeout(2000)
    assert sum(s["video"] for s in inbound(a)) > sum(before)
    assert sum(s["video"] for s in inbound(b)) == frames_b


def test_the_room_secret_never_reaches_the_server_and_no_cookie_nor_third_party(
    meeting, browser, server, contexts, caplog
):
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for name in ("uvicorn.access", "uvicorn.error", "django.request", "django.db.backends"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    sent, urls, set_cookies = [], [], []

    def watch(page):
        page.on(
            "request",
            lambda r: (
                urls.append(r.url),
                sent.append(r.url.split("#")[0]),
                sent.append(r.post_data or ""),
                sent.append(json.dumps(r.headers)),
            ),
        )
        page.on(
            "response",
            lambda r: set_cookies.extend(v for k, v in r.headers.items() if k.lower() == "set-cookie"),
        )
        page.on(
            "websocket",
            lambda ws: (urls.append(ws.url), ws.on("framesent", lambda payload: sent.append(str(payload)))),
        )

    try:
        a = open_room(browser, server, meeting.organiser_link(), name="Olga", join=False)
        contexts.append(a.context)
        b = open_room(browser, server, meeting.link(0), name="Ana", join=False)
        contexts.append(b.context)
        for page in (a, b):
            watch(page)
            page.reload()
            page.wait_for_selector("#room-app[data-state=prejoin]")
            page.click("#join-button")
        for page in (a, b):
            wait_until(lambda p=page: decoding_from_all(p, 1), message="decoding")
        a.click("#chat-toggle")
        a.fill("#chat-input", "secret plans")
        a.press("#chat-input", "Enter")
        b.wait_for_function("document.getElementById('chat-log').textContent.includes('secret plans')")
        cookies = a.context.cookies() + b.context.cookies()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    secret = meeting.room_secret
    assert len(sent) > 20 and any("/ws/meet/" in u for u in urls)
    assert not [s for s in sent if secret in s]
    assert not [line for line in capture.lines if secret in line]
    for model in apps.get_models():
        for row in model.objects.all().values():
            text = json.dumps(row, default=str)
            assert secret not in text and "secret plans" not in text, model
    assert cookies == [] and set_cookies == []
    own = server.url.split("//")[1]
    assert [
        u for u in urls if u.split("//")[1].split("/")[0] != own and not u.startswith(("data:", "blob:"))
    ] == []
