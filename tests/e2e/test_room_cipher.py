"""The frame cipher in real Chromium: WebAssembly by default, WebCrypto as the fallback, the two interoperate."""

from .room_helpers import decoding_from_all, inbound, open_room, wait_until


def frame_cipher(page) -> str:
    """What the page's E2EE worker encrypts with, once it has decided."""
    worker = next(w for w in page.workers if w.url.endswith("/e2ee-worker.js"))
    wait_until(lambda: worker.evaluate("self.frameCipher || ''"), message="the worker chose its cipher")
    return worker.evaluate("self.frameCipher")


def test_a_webassembly_page_and_a_webcrypto_page_decode_each_other(meeting, browser, server, contexts):
    fast = open_room(browser, server, meeting.link(0), contexts, name="Ana")
    # The second person's browser cannot load the module: its worker falls back to WebCrypto.
    slow = open_room(browser, server, meeting.link(1), contexts, name="Ben", join=False)
    slow.context.route("**/aesgcm.wasm", lambda route: route.fulfill(status=404, body=""))
    slow.reload()
    slow.wait_for_selector("#room-app[data-state=prejoin]")
    slow.click("#join-button")
    for page in (fast, slow):
        wait_until(lambda p=page: decoding_from_all(p, 1, "video"), message="video from the other")
        wait_until(lambda p=page: decoding_from_all(p, 1, "audio"), message="audio from the other")
    assert frame_cipher(fast) == "webassembly"
    assert frame_cipher(slow) == "webcrypto"
    before = [inbound(p) for p in (fast, slow)]

    def rising():
        now = [inbound(p) for p in (fast, slow)]
        return all(
            a[0]["video"] > b[0]["video"] and a[0]["audio"] > b[0]["audio"] for b, a in zip(before, now)
        )

    wait_until(rising, timeout=10, message="both keep decoding video and audio")
    after = [inbound(p) for p in (fast, slow)]
    for b, a in zip(before, after, strict=True):
        assert a[0]["video"] > b[0]["video"] and a[0]["audio"] > b[0]["audio"], (b, a)
