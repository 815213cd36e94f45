"""A Janus killed mid-meeting: the server makes the room again on the other Janus, every page publishes
and subscribes afresh, and media resumes within 5 s (decision 0011).

Two Janus instances with the same secrets, as a deployment lists them in JANUS_URLS. Three people talk
through the one the room was placed on; it is killed (SIGKILL: no goodbye on its WebSocket, as in a
crash). Every page samples each remote tile's rendered frames every 100 ms: no tile goes more than 5 s
without a new frame, each decodes the two others again through the surviving Janus, the placement in the
database names that Janus, and the E2EE key did not change: Janus never held it.
"""

import os
import signal
import time

import pytest

from tessera.meetings.room.models import SfuPlacement
from tests.e2e.room_helpers import inbound, open_room, wait_until
from tests.room.conftest import meeting_create

from .conftest import KEEPALIVE, JanusServer
from .test_sfu_live_move import GAP_MONITOR
from .test_sfu_room import decoding, decoding_anew, epoch, rising, streams

PEOPLE = ["Ana", "Ben", "Chloé"]
RESUME_MS = 5000


@pytest.fixture
def two_janus(tmp_path):
    """Two Janus instances of this test's own (one is killed), with the same secrets: the room may be
    placed on either."""
    first = JanusServer(tmp_path / "first")
    second = JanusServer(tmp_path / "second")
    for secret in ("api_secret", "admin_secret", "admin_key"):
        setattr(second, secret, getattr(first, secret))
    servers = []
    try:
        for janus in (first, second):
            janus.folder.mkdir()
            servers.append(janus.start())
        yield first, second
    finally:
        for janus in servers:
            janus.stop()


@pytest.fixture
def failover_meeting(two_janus, server, settings):
    from tessera.meetings.room import live

    first, second = two_janus
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.JANUS_URLS = [first.url, second.url]
    settings.JANUS_API_SECRET = first.api_secret
    settings.JANUS_ADMIN_KEY = first.admin_key
    settings.TESSERA_ROOM = {
        **getattr(settings, "TESSERA_ROOM", {}),
        "topology": "sfu",
        "janus_keepalive_seconds": KEEPALIVE,
    }
    live.reset()
    yield meeting_create(invitees=len(PEOPLE))
    live.reset()


def _placed(room_id: str) -> str:
    return SfuPlacement.objects.get(room_id=room_id).janus_url


def test_a_janus_killed_mid_meeting_moves_the_room_to_the_other_and_media_resumes_within_5_seconds(
    failover_meeting, two_janus, browser, server, contexts
):
    meeting = failover_meeting
    pages = []
    for i, name in enumerate(PEOPLE):
        pages.append(
            open_room(browser, server, meeting.link(i), contexts, name=name, init_scripts=[GAP_MONITOR])
        )
        pages[-1].wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
    others = len(PEOPLE) - 1
    for page in pages:
        wait_until(lambda p=page: decoding(p, others), timeout=90, message="video from every other one")
    epochs = [epoch(p) for p in pages]
    lost = next(j for j in two_janus if j.url == _placed(meeting.room_id))
    survivor = next(j for j in two_janus if j is not lost)
    connections = [{pc["pc"] for pc in inbound(p)} for p in pages]
    watched = [sorted(p.evaluate("window.__gapsFrom()")) for p in pages]
    assert all(len(pids) == others for pids in watched)

    os.kill(lost.process.pid, signal.SIGKILL)
    lost.process.wait(10)
    killed = time.monotonic()

    # Placed on the survivor, and every page decodes the two others through it, on new connections.
    wait_until(lambda: _placed(meeting.room_id) == survivor.url, timeout=15, message="the room moved")
    for page, old in zip(pages, connections, strict=True):
        wait_until(lambda p=page, o=old: decoding_anew(p, o) >= others, timeout=30, message="the other Janus")
        assert not {pc["pc"] for pc in inbound(page)} & old, "the connections to the lost Janus are closed"
    resumed_in = time.monotonic() - killed
    before = [streams(p) for p in pages]
    wait_until(
        lambda: all(rising(b, streams(p)) >= others for b, p in zip(before, pages, strict=True)),
        timeout=30,
        message="everyone keeps decoding every other one",
    )
    for page, pids in zip(pages, watched, strict=True):
        longest = page.evaluate("window.__gapsLongest()")
        print("gaps after the kill (ms):", longest, "decoding anew after (s):", round(resumed_in, 2))
        assert {pid: longest[pid] for pid in pids} == {pid: min(longest[pid], RESUME_MS) for pid in pids}, (
            longest,
            resumed_in,
        )
    assert SfuPlacement.objects.get(room_id=meeting.room_id).participants == len(PEOPLE)
    # The key is the page's, not Janus's: moving to another Janus does not change it.
    assert [epoch(p) for p in pages] == epochs
