"""Media through Janus with the product's E2EE on both ends: forwarding, pause, simulcast layers, wrong key.

One Chromium page publishes its fake camera in three simulcast layers through a room that requires E2EE,
and subscribes to it twice: once with the room's key and once with another room's. Tessera's Janus client
relays every offer, answer and candidate. Janus switches layers on key frames it finds through the clear
VP8 header of the frame format, so a layer change that shows at the subscriber shows that too.
"""

import re
import secrets
import time

import pytest

from tessera.meetings.room.janus import JanusConnection, Publisher, Subscriber, VideoRoomAdmin
from tests.room.conftest import meeting_create

from .conftest import KEEPALIVE

SETUP = """async ({ roomId, secret, otherSecret }) => {
  const base = "/static/tessera/js/room/";
  const { E2EE } = await import(base + "e2ee.js");
  const { roomKeys } = await import(base + "keys.js");
  const party = async (s, pid) => {
    const e = new E2EE({ roomId, keys: await roomKeys(s, roomId), send: () => {} });
    await e.ready;
    await e.start({ pid, seq: 1 }, []);
    return e;
  };
  const sender = await party(secret, "s");
  const parties = { good: await party(secret, "g"), wrong: await party(otherSecret, "w") };
  const pcs = {};
  const gathered = {};
  const candidates = {};
  const track = (name, pc) => {
    pcs[name] = pc;
    candidates[name] = [];
    gathered[name] = false;
    pc.onicecandidate = (e) => { if (e.candidate) candidates[name].push(e.candidate.toJSON()); else gathered[name] = true; };
  };
  const camera = (await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } })).getVideoTracks()[0];
  const pub = new RTCPeerConnection();
  track("pub", pub);
  const transceiver = pub.addTransceiver(camera, {
    direction: "sendonly",
    sendEncodings: [
      { rid: "h", maxBitrate: 1200000 },
      { rid: "m", maxBitrate: 300000, scaleResolutionDownBy: 2 },
      { rid: "l", maxBitrate: 100000, scaleResolutionDownBy: 4 },
    ],
  });
  transceiver.setCodecPreferences(RTCRtpSender.getCapabilities("video").codecs.filter((c) => c.mimeType === "video/VP8"));
  sender.senderTransform(transceiver.sender, "video");
  await pub.setLocalDescription(await pub.createOffer());
  window.__sfu = {
    offer: pub.localDescription.sdp,
    published: (sdp) => pub.setRemoteDescription({ type: "answer", sdp }),
    subscribe: async (name, sdp) => {
      const pc = new RTCPeerConnection();
      track(name, pc);
      pc.ontrack = (e) => parties[name].receiverTransform(e.receiver, e.track.kind);
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription.sdp;
    },
    candidates: (name) => ({ list: candidates[name].splice(0), gathered: gathered[name] }),
    state: async (name) => {
      const pc = pcs[name];
      const out = { state: pc.connectionState, decoded: 0, bytes: 0, width: 0, layers: {} };
      (await pc.getStats()).forEach((r) => {
        if (r.type === "outbound-rtp" && r.kind === "video") out.layers[r.rid] = [r.frameWidth || 0, r.framesSent || 0];
        if (r.type !== "inbound-rtp" || r.kind !== "video") return;
        out.decoded += r.framesDecoded || 0;
        out.bytes += r.bytesReceived || 0;
        out.width = r.frameWidth || out.width;
      });
      return out;
    },
  };
  return window.__sfu.offer;
}"""


def relay_candidates(page, aio, name, handle):
    deadline = time.monotonic() + 10
    while True:
        batch = page.evaluate("(name) => window.__sfu.candidates(name)", name)
        for candidate in batch["list"]:
            aio.run(handle.trickle(candidate))
        if batch["gathered"]:
            aio.run(handle.trickle(None))
            return
        assert time.monotonic() < deadline, f"{name} never finished gathering candidates"
        time.sleep(0.05)


def wait_for(page, name, check, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate("(name) => window.__sfu.state(name)", name)
        if check(state):
            return state
        if time.monotonic() > deadline:
            others = {n: page.evaluate("(n) => window.__sfu.state(n)", n) for n in ("pub", "good", "wrong")}
            raise AssertionError(f"{name}: {what} (last {state}, all {others})")
        time.sleep(0.2)


@pytest.fixture
def room_page_path(server, settings):
    from tessera.meetings.room import live

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    live.reset()
    yield f"/room/{meeting_create().room_id}"
    live.reset()


def test_janus_forwards_sealed_frames_pauses_and_switches_layers_and_a_wrong_key_decodes_nothing(
    janus, aio, server, room_page_path, page
):
    room, room_secret = f"fwd-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    page.goto(server.url + room_page_path)
    offer = page.evaluate(
        SETUP, {"roomId": room, "secret": secrets.token_urlsafe(32), "otherSecret": secrets.token_urlsafe(32)}
    )

    async def publish():
        connection = await JanusConnection(janus.url, janus.api_secret).open()
        session = await connection.session(keepalive=KEEPALIVE)
        admin = await VideoRoomAdmin.attach(session, admin_key=janus.admin_key)
        await admin.room_create(room=room, secret=room_secret, publishers=4)
        publisher = await Publisher.join(session, room=room, participant="s")
        return connection, session, admin, publisher, await publisher.configure(sdp=offer)

    connection, session, admin, publisher, answer = aio.run(publish())
    assert answer.get("e2ee") is True  # Janus's subscriber offers (1.1.2) do not repeat it; ours do
    page.evaluate("(sdp) => window.__sfu.published(sdp)", answer["sdp"])
    relay_candidates(page, aio, "pub", publisher)
    # A feed exists for subscribers once Janus has the publisher's media (its "webrtcup").
    aio.run(publisher.handle.next_event(lambda event: event.get("janus") == "webrtcup", timeout=15))

    subscribers = {}
    for name in ("good", "wrong"):
        subscriber, jsep = aio.run(Subscriber.join(session, room=room, feeds=[publisher.id]))
        sdp = page.evaluate("([name, sdp]) => window.__sfu.subscribe(name, sdp)", [name, jsep["sdp"]])
        aio.run(subscriber.start(sdp=sdp))
        relay_candidates(page, aio, name, subscriber)
        subscribers[name] = (subscriber, re.findall(r"a=mid:(\S+)", jsep["sdp"])[0])

    good, mid = subscribers["good"]
    wait_for(page, "good", lambda s: s["decoded"] > 30, "frames decoded through Janus")
    # The wrong key receives the same ciphertext and decodes none of it.
    wrong = wait_for(page, "wrong", lambda s: s["bytes"] > 50_000, "ciphertext received")
    assert wrong["decoded"] == 0, wrong

    aio.run(good.layer(mid=mid, substream=0, temporal=2))
    low = wait_for(page, "good", lambda s: 0 < s["width"] <= 320, "the low layer", timeout=25)
    aio.run(good.layer(mid=mid, substream=2, temporal=2))
    high = wait_for(page, "good", lambda s: s["width"] >= 2 * low["width"], "the high layer", timeout=25)
    assert high["width"] > low["width"]

    aio.run(good.pause())
    time.sleep(1)  # frames already in flight still arrive
    paused = page.evaluate("window.__sfu.state('good')")
    time.sleep(1.5)
    assert page.evaluate("window.__sfu.state('good')")["decoded"] - paused["decoded"] <= 2
    aio.run(good.resume())
    wait_for(page, "good", lambda s: s["decoded"] > paused["decoded"] + 15, "frames again after the pause")

    async def close():
        await admin.room_destroy(room=room, secret=room_secret)
        await session.destroy()
        await connection.close()

    aio.run(close())
