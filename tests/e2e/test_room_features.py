"""Recording with notice, screen sharing and network loss, in real Chromium pages."""

import time
from pathlib import Path

import pytest

from tests.room.webm import webm_summary

from .room_helpers import (
    TURNSERVER,
    TurnRelay,
    assert_stays,
    cut_websocket,
    decoding_from_all,
    frames,
    inbound,
    open_room,
    wait_settled,
    wait_until,
)


def _open(browser, server, path, contexts, **kwargs):
    return open_room(browser, server, path, contexts, context_args={"accept_downloads": True}, **kwargs)


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
    # Someone joining now sees the notice before any peer connection exists, so before any media.
    d = _open(browser, server, meeting.link(3), name="Dora", contexts=contexts)
    d.wait_for_selector("#record-dialog[open]", timeout=10_000)
    assert d.get_attribute("#room-app", "data-state") == "notice"
    assert "Ana" in d.text_content("#record-text")
    assert_stays(
        lambda: d.evaluate("window.__pcs.length") == 0, 1.0, message="no connection before an answer"
    )
    assert d.evaluate("window.__pcs.length") == 0
    d.click("#record-accept")
    d.wait_for_selector("#recording-indicator:not([hidden])", timeout=5000)
    wait_until(lambda: decoding_from_all(d, 2), message="after accepting, Dora decodes Ana and Ben")
    a.wait_for_timeout(2000)  # what is measured is the recording's length: only time makes it
    with a.expect_download(timeout=15_000) as download_info:
        a.click("#record-button")
    path = tmp_path / "recording.webm"
    download_info.value.save_as(path)
    summary = webm_summary(path.read_bytes())
    assert summary["duration_ms"] > 1000, summary
    assert any("VP8" in codec for codec in summary["codecs"]), summary
    assert "A_OPUS" in summary["codecs"], summary  # the voices are mixed in
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


@pytest.fixture
def turn_relay(tmp_path):
    """A real coturn on loopback; the product hands out its time-limited REST-API credentials."""
    if not Path(TURNSERVER).exists():
        pytest.skip("Debian's coturn is not installed (make system-test-deps installs it)")
    relay = TurnRelay(tmp_path)
    relay.start()
    yield relay
    relay.stop()


def test_after_a_network_loss_the_page_resumes_and_media_within_5_seconds(
    meeting, browser, server, contexts, settings, turn_relay
):
    from tessera.meetings.room import live

    # Media goes through the relay only, so that freezing the relay really cuts it.
    settings.TESSERA_ROOM = {
        "turn_urls": [turn_relay.url],
        "turn_secret": turn_relay.secret,
        "ice_transport_policy": "relay",
    }
    a = _open(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = _open(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    for page in (a, b):
        wait_until(lambda p=page: decoding_from_all(p, 1), message="decoding")
        assert [s["path"] for s in inbound(page)] == [["relay"]], inbound(page)
    # The WebSocket drops and cannot come back (offline), and the relay forwards nothing.
    b.context.set_offline(True)
    pid = cut_websocket(server, meeting.room_id, meeting.invitations[1].pk)
    turn_relay.freeze()
    try:
        b.wait_for_selector("#connection-status:not([hidden])", timeout=5000)
        # Frames already in the jitter buffers are played out first.
        flat = wait_settled(lambda: [frames(a), frames(b)], message="frames in flight")
        assert_stays(lambda: [frames(a), frames(b)] == flat, 2.3, message="no media through the frozen relay")
        assert [frames(a), frames(b)] == flat, "media still flowed while the relay was frozen"
        assert not live.rooms[meeting.room_id].members[pid].connected
    finally:
        turn_relay.thaw()
        b.context.set_offline(False)
    unblocked = time.monotonic()
    b.wait_for_selector("#connection-status[hidden]", state="attached", timeout=5000)
    assert live.rooms[meeting.room_id].members[pid].connected  # the same participant, resumed
    left = max(0.1, 5 - (time.monotonic() - unblocked))
    wait_until(
        lambda: frames(b) > flat[1] + 5 and frames(a) > flat[0] + 5, timeout=left, message="media resumed"
    )
    assert [s["path"] for s in inbound(b)] == [["relay"]]
