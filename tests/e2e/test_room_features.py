"""Recording with notice, screen sharing and network loss, in real Chromium pages."""

import pytest

from tests.room.conftest import meeting_create
from tests.room.webm import webm_summary

from .room_helpers import decoding_from_all, inbound, open_room, wait_until


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
    page = open_room(browser, server, path, context_args={"accept_downloads": True}, **kwargs)
    contexts.append(page.context)
    return page


def test_recording_needs_every_answer_a_refusal_leaves_and_the_recorder_gets_a_webm(
    meeting, browser, server, contexts, tmp_path
):
    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    c = _open(browser, server, meeting.link(2), name="Chloé", contexts=contexts)
    for page in (a, b, c):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")
    a.click("#record-button")
    for page in (b, c):
        page.wait_for_selector("#record-dialog[open]", timeout=5000)
        assert "Ana" in page.text_content("#record-text")
        assert page.is_visible("#record-accept") and page.is_visible("#record-refuse")
    assert a.is_hidden("#recording-indicator")
    b.click("#record-accept")
    assert a.is_hidden("#recording-indicator")  # C has not answered yet
    c.click("#record-refuse")
    c.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    for page in (a, b):
        page.wait_for_selector("#recording-indicator:not([hidden])", timeout=5000)
    a.wait_for_timeout(3000)
    with a.expect_download(timeout=15_000) as download_info:
        a.click("#record-button")
    path = tmp_path / "recording.webm"
    download_info.value.save_as(path)
    summary = webm_summary(path.read_bytes())
    assert summary["duration_ms"] > 1000, summary
    assert any("VP8" in codec for codec in summary["codecs"]), summary
    b.wait_for_selector("#recording-indicator[hidden]", state="attached", timeout=5000)


def test_a_shared_screen_is_decoded_on_the_other_side_in_its_own_tile(meeting, browser, server, contexts):
    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    for page in (a, b):
        wait_until(lambda p=page: decoding_from_all(p, 1), message="decoding")
    a.click("#screen-button")
    b.wait_for_selector(".tile[data-kind=screen]", timeout=10_000)
    assert b.locator("#stage.presenter").count() == 1
    wait_until(
        lambda: b.evaluate(
            "(() => { const v = document.querySelector('.tile[data-kind=screen] video');"
            " return v && v.getVideoPlaybackQuality().totalVideoFrames > 3; })()"
        ),
        message="screen frames decoded",
    )


def test_after_a_network_loss_the_page_resumes_and_media_within_5_seconds(meeting, browser, server, contexts):
    import asyncio

    from tessera.meetings.room import live

    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    for page in (a, b):
        wait_until(lambda p=page: decoding_from_all(p, 1), message="decoding")
    room = live.rooms[meeting.room_id]
    member = next(m for m in room.members.values() if m.invitation_id == meeting.invitations[1].pk)
    pid = member.pid
    b.context.set_offline(True)
    # Cut the WebSocket from the server side too (a dropped TCP connection).
    loop = server.server.servers[0].get_loop()
    asyncio.run_coroutine_threadsafe(
        live._layer().send(
            member.channel, {"type": "room.close", "text": '{"type":"error","code":"network"}', "code": 1012}
        ),
        loop,
    ).result(5)
    b.wait_for_selector("#connection-status:not([hidden])", timeout=5000)
    b.wait_for_timeout(2000)
    b.context.set_offline(False)
    b.wait_for_selector("#connection-status[hidden]", state="attached", timeout=5000)
    assert live.rooms[meeting.room_id].members[pid].connected
    before = [s["video"] for s in inbound(b)]
    wait_until(
        lambda: sum(s["video"] for s in inbound(b)) > sum(before) + 5, timeout=5, message="media resumed"
    )
