"""Three people in a room, in real Chromium pages with fake devices: media, chat, encryption."""

from .room_helpers import decoding_from_all, inbound, open_room, wait_until


def test_three_participants_decode_and_hear_each_other_and_chat(meeting, browser, server, contexts):
    pages = [
        open_room(browser, server, meeting.link(i), contexts, name=n)
        for i, n in enumerate(["Ana", "Ben", "Chloé"])
    ]
    for page in pages:
        page.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    for page in pages:
        wait_until(lambda p=page: decoding_from_all(p, 2, "video"), message="video from both peers")
        wait_until(lambda p=page: decoding_from_all(p, 2, "audio"), message="audio from both peers")
    before = [inbound(p) for p in pages]

    def rising_from_both(b, a) -> int:
        frames = {s["pc"]: s for s in b}
        return len(
            [s for s in a if s["video"] > frames[s["pc"]]["video"] and s["audio"] > frames[s["pc"]]["audio"]]
        )

    wait_until(
        lambda: all(rising_from_both(b, inbound(p)) == 2 for b, p in zip(before, pages)),
        timeout=10,
        message="everyone keeps decoding both peers",
    )
    after = [inbound(p) for p in pages]
    for b, a in zip(before, after, strict=True):
        frames = {s["pc"]: s for s in b}
        rising = [
            s for s in a if s["video"] > frames[s["pc"]]["video"] and s["audio"] > frames[s["pc"]]["audio"]
        ]
        assert len(rising) == 2, (b, a)
    codes = {p.text_content("#safety-code") for p in pages}
    assert len(codes) == 1 and codes.pop().strip()
    # Names travel encrypted and are shown.
    assert "Ben" in pages[0].text_content("#stage")
    pages[0].click("#chat-toggle")
    pages[0].fill("#chat-input", "Bonjour à tous")
    pages[0].press("#chat-input", "Enter")
    for page in pages[1:]:
        page.wait_for_function(
            "() => document.getElementById('chat-log').textContent.includes('Bonjour à tous')", timeout=5000
        )
        assert "Ana" in page.text_content("#chat-log")

    # Closing a tab is leaving: the others drop its tile long before the resume grace (20 s) runs out,
    # and rotate to a key the closed page never had.
    epoch = pages[0].get_attribute("#e2ee-badge", "data-epoch")
    pages[2].context.close()
    for page in pages[:2]:
        page.wait_for_function(
            "() => !document.getElementById('stage').textContent.includes('Chloé')", timeout=5000
        )
        page.wait_for_function(
            f"() => document.getElementById('e2ee-badge').dataset.epoch !== '{epoch}'", timeout=5000
        )
