"""Encryption really happens, and the room secret never reaches the server."""

import json
import logging
import time

from django.apps import apps

from .room_helpers import (
    KEEP_CONNECTIONS,
    assert_stays,
    cut_websocket,
    decoding_from_all,
    frames,
    inbound,
    open_room,
    wait_settled,
    wait_until,
)


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def epoch(page) -> str:
    return page.get_attribute("#e2ee-badge", "data-epoch")


def test_a_wrong_room_secret_decodes_nothing_and_cannot_stall_key_rotation(
    meeting, browser, server, contexts
):
    wrong_secret = ("B" if meeting.room_secret[0] != "B" else "C") + meeting.room_secret[1:]
    # The intruder comes first: the earliest joiner would lead the key exchange if it were trusted.
    intruder = open_room(
        browser,
        server,
        f"/room/{meeting.room_id}#{meeting.tokens[2]}.{wrong_secret}",
        name="Eve",
        contexts=contexts,
    )
    intruder.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    a = open_room(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = open_room(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    c = open_room(browser, server, meeting.link(3), name="Chloé", contexts=contexts)
    for page in (a, b, c):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="the right participants decode each other")
    wait_until(
        lambda: len([s for s in inbound(intruder) if s["state"] == "connected"]) == 3, message="connected"
    )
    assert_stays(
        lambda: all(s["video"] == 0 and s["audio"] == 0 for s in inbound(intruder)),
        2.0,
        message="intruder decodes",
    )
    assert all(s["video"] == 0 and s["audio"] == 0 for s in inbound(intruder)), inbound(intruder)
    # The others receive its frames but decode none, and show it as unverified.
    for page in (a, b, c):
        assert sorted(s["video"] for s in inbound(page))[0] == 0
        page.wait_for_selector(".tile[data-note=unverified]", timeout=5000)
    code_before = a.text_content("#safety-code")
    c.click("#leave-button")
    # The earliest verified participant leads: the key rotates although the intruder joined first.
    wait_until(lambda: epoch(a) == "1" and epoch(b) == "1", timeout=5, message="key rotated")
    wait_until(lambda: a.text_content("#safety-code") == b.text_content("#safety-code"), timeout=5)
    assert a.text_content("#safety-code") != code_before
    before = [frames(a), frames(b)]
    wait_until(lambda: frames(a) > before[0] and frames(b) > before[1], timeout=10, message="new key decodes")
    assert frames(a) > before[0] and frames(b) > before[1]
    # Alone in its own view, the intruder may make itself a key: not the one the others use.
    assert frames(intruder) == 0 and intruder.text_content("#safety-code") != a.text_content("#safety-code")


def test_a_removed_participant_receives_ciphertext_but_decodes_nothing_new(
    meeting, browser, server, contexts
):
    # Every connection stays up after the removal, so the removed page still receives the others' media:
    # only the key rotation stands between it and what they say next.
    keep = {"init_scripts": [KEEP_CONNECTIONS]}
    organiser = open_room(browser, server, meeting.organiser_link(), name="Olga", contexts=contexts, **keep)
    a = open_room(browser, server, meeting.link(0), name="Ana", contexts=contexts, **keep)
    b = open_room(browser, server, meeting.link(1), name="Ben", contexts=contexts, **keep)
    for page in (organiser, a, b):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")
    code_before = a.text_content("#safety-code")
    ben = organiser.locator(".tile[data-kind=camera]", has_text="Ben")
    organiser.once("dialog", lambda dialog: dialog.accept())
    ben.hover()
    ben.locator("[data-act=remove]").click()
    b.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    # The key leader rotated the key: the remaining two agree on a new safety code.
    wait_until(lambda: epoch(a) == "1" and epoch(organiser) == "1", timeout=5, message="key rotated")
    wait_until(lambda: organiser.text_content("#safety-code") == a.text_content("#safety-code"), timeout=5)
    assert a.text_content("#safety-code") != code_before
    wait_settled(lambda: frames(b), message="frames of the old key still in flight")
    removed_before = inbound(b)
    others_before = [frames(a), frames(organiser)]
    stalled = sum(s["video"] for s in removed_before)
    # Long enough for ciphertext to keep arriving: none of it may decrypt meanwhile.
    assert_stays(lambda: frames(b) == stalled, 3.0, message="the removed page decodes nothing new")
    removed_after = inbound(b)
    assert [s["state"] for s in removed_after] == ["connected", "connected"], removed_after
    received = sum(s["bytes"] for s in removed_after) - sum(s["bytes"] for s in removed_before)
    assert received > 20_000, (removed_before, removed_after)  # the ciphertext keeps coming...
    assert frames(b) == sum(s["video"] for s in removed_before)  # ...and none of it decrypts
    assert frames(a) > others_before[0] and frames(organiser) > others_before[1]


def test_after_a_gap_a_resumed_page_learns_who_left_and_gets_the_new_key(meeting, browser, server, contexts):
    a = open_room(browser, server, meeting.link(0), name="Ana", contexts=contexts)
    b = open_room(browser, server, meeting.link(1), name="Ben", contexts=contexts)
    c = open_room(browser, server, meeting.link(2), name="Chloé", contexts=contexts)
    for page in (a, b, c):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")
    b.context.set_offline(True)  # WebRTC goes on; the signaling cannot come back
    cut_websocket(server, meeting.room_id, meeting.invitations[1].pk)
    try:
        b.wait_for_selector("#connection-status:not([hidden])", timeout=15_000)
        c.click("#leave-button")
        # Ana leads and rotates; the key for Ben is dropped with his connection.
        wait_until(lambda: epoch(a) == "1", timeout=15, message="key rotated")
        stalled = wait_settled(lambda: frames(b), message="frames of the old key in flight")
        assert_stays(lambda: frames(b) == stalled and epoch(b) == "0", 1.5, message="Ben decodes nothing new")
        assert frames(b) == stalled and epoch(b) == "0"  # Ana's frames use a key Ben lacks
    finally:
        b.context.set_offline(False)
    b.wait_for_selector("#connection-status[hidden]", state="attached", timeout=20_000)
    wait_until(lambda: epoch(b) == "1", timeout=15, message="the leader handed the key over again")
    assert b.text_content("#safety-code") == a.text_content("#safety-code")
    wait_until(lambda: frames(b) > stalled + 5, timeout=15, message="Ben decodes Ana again")
    ana_before = frames(a)
    wait_until(lambda: frames(a) > ana_before + 5, timeout=15, message="Ana decodes Ben on the new key")
    # Chloé left during the gap: her tile is gone from Ben's page too.
    assert "Chloé" not in b.text_content("#stage")


def test_the_room_secret_never_reaches_the_server_and_no_cookie_nor_third_party(
    meeting, browser, server, contexts, caplog
):
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    # uvicorn's loggers do not propagate to the root logger: the handler goes on each of them too.
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error")]
    loggers += [logging.getLogger(name) for name in ("django.request", "django.db.backends")]
    old_levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger.name in {"root", "uvicorn", "uvicorn.access"}:
            logger.addHandler(capture)
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
        a = open_room(browser, server, meeting.organiser_link(), contexts, name="Olga", join=False)
        b = open_room(browser, server, meeting.link(0), contexts, name="Ana", join=False)
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
        b.wait_for_function("() => document.getElementById('chat-log').textContent.includes('secret plans')")
        cookies = a.context.cookies() + b.context.cookies()
    finally:
        for logger, level in zip(loggers, old_levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
    secret = meeting.room_secret
    assert len(sent) > 20 and any("/ws/meet/" in u for u in urls)
    assert not [s for s in sent if secret in s]
    # The capture saw the server's own lines (every HTTP request, the WebSocket), none with the secret.
    assert any(line.startswith("uvicorn.access") and "/room/" in line for line in capture.lines)
    assert any("WebSocket /ws/meet/" in line for line in capture.lines)
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


# In a room page (no link fragment: the room itself does not start), the page's own E2EE module with
# its real worker: S stays alone while five people leave (five rotations), then R joins and gets the
# current key from S; M holds nothing but the room secret (key 0), as everyone removed before does.
# Each sends R a real video stream through a loopback peer connection.
KEY_ZERO_SETUP = """async ({ secret, roomId }) => {
  const base = "/static/tessera/js/room/";
  const { E2EE } = await import(base + "e2ee.js");
  const { roomKeys } = await import(base + "keys.js");
  const keys = await roomKeys(secret, roomId);
  const parties = {};
  const relay = (from) => (m) => {
    for (const [pid, party] of Object.entries(parties)) {
      if (pid !== from && (!m.to || m.to === pid)) setTimeout(() => party.receive(from, m.payload));
    }
  };
  const S = new E2EE({ roomId, keys, send: relay("s") });
  const R = new E2EE({ roomId, keys, send: relay("r") });
  const M = new E2EE({ roomId, keys, send: () => {} });
  parties.s = S;
  await Promise.all([S.ready, R.ready, M.ready]);
  await S.start({ pid: "s", seq: 1 }, []);
  for (let i = 0; i < 5; i++) await S.rotate();
  const camera = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
  async function link(from) {
    const tx = new RTCPeerConnection();
    const rx = new RTCPeerConnection();
    tx.onicecandidate = (e) => e.candidate && rx.addIceCandidate(e.candidate);
    rx.onicecandidate = (e) => e.candidate && tx.addIceCandidate(e.candidate);
    rx.ontrack = (e) => R.receiverTransform(e.receiver, "video");
    from.senderTransform(tx.addTrack(camera.clone()), "video");
    await tx.setLocalDescription();
    await rx.setRemoteDescription(tx.localDescription);
    await rx.setLocalDescription();
    await tx.setRemoteDescription(rx.localDescription);
    return rx;
  }
  const decoded = async (pc) => {
    let n = 0;
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") n += s.framesDecoded || 0; });
    return n;
  };
  const links = { s: await link(S), m: await link(M) };
  window.__keyZero = {
    frames: async () => ({ s: await decoded(links.s), m: await decoded(links.m), epoch: R.epoch }),
    join: async () => {
      parties.r = R;
      await R.start({ pid: "r", seq: 2 }, [{ pid: "s", seq: 1 }]);
      await S.peerJoined({ pid: "r", seq: 2 });
    },
  };
}"""


def test_a_later_joiner_forgets_key_zero_so_the_room_secret_alone_gets_nothing_decoded(
    meeting, browser, server
):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/room/{meeting.room_id}")
        page.evaluate(KEY_ZERO_SETUP, {"secret": meeting.room_secret, "roomId": meeting.room_id})
        state = lambda: page.evaluate("window.__keyZero.frames()")  # noqa: E731
        # Before it has any other key, R decodes what key 0 encrypts, and nothing of S (epoch 5).
        wait_until(lambda: state()["m"] > 5, message="key 0 frames decoded")
        assert state()["s"] == 0
        page.evaluate("window.__keyZero.join()")
        wait_until(lambda: state()["epoch"] == 5, timeout=5, message="R got the current key")
        joined = time.monotonic()
        wait_until(lambda: state()["s"] > 5, message="S decoded on the current key")
        # Past the grace for frames in flight, key 0 is gone: M's frames decode no more.
        # The grace is a duration the worker measures: nothing observable marks its end but time.
        page.wait_for_timeout(max(0, 5.5 - (time.monotonic() - joined)) * 1000)
        before = state()
        assert_stays(lambda: state()["m"] == before["m"], 1.5, message="key 0 frames no longer decode")
        after = state()
        assert after["m"] == before["m"], (before, after)
        assert after["s"] > before["s"], (before, after)
    finally:
        context.close()
