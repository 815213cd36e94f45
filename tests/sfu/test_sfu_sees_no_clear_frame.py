"""The proof that the SFU never sees a clear frame (issue 16, point 2).

A real Chromium publishes its fake camera, fed with a known picture, through Janus twice: into a room that
requires E2EE, with the product's own sender transform (e2ee.js and its worker), and into a control room
without it. Janus records both. Its post-processor converts each recording and ffmpeg decodes it.

What is asserted, precisely: a decoded frame is a *picture* when each quadrant of it, sampled at its
centre, has the colour the camera showed there (four distinct colours; a frame that fails to decode, or
decodes to noise, matches none of them by chance). The control recording decodes to pictures (most of its
frames); the encrypted recording carries as much video (packets, key frames with the camera's size in their
clear header) and decodes to no picture at all, whatever ffmpeg makes of it.
"""

import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tessera.meetings.room.janus import JanusConnection, JanusError, Publisher, VideoRoomAdmin, videoroom
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.room.conftest import meeting_create

from .conftest import KEEPALIVE
from .mjr import mjr_read, mjr_without_e2ee_flag, vp8_key_frames

WIDTH, HEIGHT = 320, 240
# The camera's picture: four quadrants of distinct colours (RGB), top-left, top-right, bottom-left, bottom-right.
QUADRANTS = [(220, 30, 30), (30, 200, 40), (30, 50, 220), (235, 235, 235)]
RECORD_SECONDS = 4
# A decoded frame is scaled to 4x4 pixels; each quadrant's 2x2 block must be within this of its colour.
TOLERANCE = 60

PUBLISH_SETUP = """async ({ e2ee, roomId, secret }) => {
  const base = "/static/tessera/js/room/";
  const { E2EE } = await import(base + "e2ee.js");
  const { roomKeys } = await import(base + "keys.js");
  const keys = await roomKeys(secret, roomId);
  // The product's E2EE: with `plaintext` (the benchmark switch) it installs no transform at all.
  const crypto = new E2EE({ roomId, keys, send: () => {}, plaintext: !e2ee });
  await crypto.ready;
  await crypto.start({ pid: "p", seq: 1 }, []);
  const camera = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
  const pc = new RTCPeerConnection();
  const candidates = [];
  let gathered = false;
  pc.onicecandidate = (e) => { if (e.candidate) candidates.push(e.candidate.toJSON()); else gathered = true; };
  const transceiver = pc.addTransceiver(camera, { direction: "sendonly" });
  const vp8 = RTCRtpSender.getCapabilities("video").codecs.filter((c) => c.mimeType === "video/VP8");
  transceiver.setCodecPreferences(vp8);
  crypto.senderTransform(transceiver.sender, "video");
  await pc.setLocalDescription(await pc.createOffer());
  window.__sfu = {
    offer: pc.localDescription.sdp,
    candidates: () => ({ list: candidates.splice(0), gathered }),
    answer: (sdp) => pc.setRemoteDescription({ type: "answer", sdp }),
    sent: async () => {
      let frames = 0;
      (await pc.getStats()).forEach((r) => { if (r.type === "outbound-rtp") frames += r.framesEncoded || 0; });
      return { frames, state: pc.connectionState };
    },
    close: () => { pc.close(); camera.stop(); },
  };
  return window.__sfu.offer;
}"""


def y4m_write(path: Path, frames: int = 30) -> None:
    """A still Y4M clip (4:2:0, full range) of the four quadrants, for Chromium's fake camera."""

    def yuv(r, g, b):
        y = 0.299 * r + 0.587 * g + 0.114 * b
        return round(y), round(128 + 0.564 * (b - y)), round(128 + 0.713 * (r - y))

    half_w, half_h = WIDTH // 2, HEIGHT // 2
    colours = [yuv(*c) for c in QUADRANTS]
    planes = []
    for plane, (w, h) in enumerate([(WIDTH, HEIGHT), (half_w, half_h), (half_w, half_h)]):
        rows = []
        for row in range(h):
            top = row < h // 2
            left, right = (colours[0], colours[1]) if top else (colours[2], colours[3])
            rows.append(bytes([left[plane]]) * (w // 2) + bytes([right[plane]]) * (w // 2))
        planes.append(b"".join(rows))
    frame = b"FRAME\n" + b"".join(planes)
    path.write_bytes(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


def pictures(frames: list[bytes]) -> int:
    """How many decoded 4x4 RGB frames show the camera's four quadrants."""

    def block(frame, x0, y0):
        pixels = [frame[(y * 4 + x) * 3 : (y * 4 + x) * 3 + 3] for y in (y0, y0 + 1) for x in (x0, x0 + 1)]
        return [sum(p[c] for p in pixels) / 4 for c in range(3)]

    count = 0
    for frame in frames:
        seen = [block(frame, 0, 0), block(frame, 2, 0), block(frame, 0, 2), block(frame, 2, 2)]
        if all(max(abs(a - b) for a, b in zip(got, want)) <= TOLERANCE for got, want in zip(seen, QUADRANTS)):
            count += 1
    return count


def decode(recording: Path, folder: Path) -> dict:
    """janus-pp-rec to .webm, then every frame ffmpeg decodes, scaled to 4x4 RGB."""
    webm = folder / (recording.stem + ".webm")
    converted = subprocess.run(
        ["janus-pp-rec", str(recording), str(webm)], capture_output=True, text=True, timeout=120
    )
    if converted.returncode != 0 or not webm.exists():
        return {"converted": False, "frames": [], "errors": converted.stderr[-500:]}
    decoded = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-i", str(webm), "-fps_mode", "passthrough"),
            *("-vf", "scale=4:4:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        capture_output=True,
        timeout=120,
    )
    frames = [decoded.stdout[i : i + 48] for i in range(0, len(decoded.stdout) - 47, 48)]
    probed = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0"),
            *("-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(webm)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {
        "converted": True,
        "packets": int(probed.stdout.strip() or 0),  # video frames in the container, decodable or not
        "frames": frames,
        "errors": decoded.stderr.decode(errors="replace")[-500:],
    }


@pytest.fixture
def camera_browser(playwright, tmp_path):
    for tool in ("janus-pp-rec", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is not installed: install Debian's janus-tools and ffmpeg (make system-test-deps)"
            )
    clip = tmp_path / "quadrants.y4m"
    y4m_write(clip)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={clip}"],
    )
    yield browser
    browser.close()


def publish_and_record(page, aio, janus, *, room: str, e2ee: bool, rec_dir: Path) -> dict:
    """Relay the page's offer and candidates to Janus through Tessera's client; record RECORD_SECONDS."""
    secret = secrets.token_urlsafe(16)
    offer = page.evaluate(PUBLISH_SETUP, {"e2ee": e2ee, "roomId": room, "secret": secrets.token_urlsafe(32)})

    async def open_room():
        connection = await JanusConnection(janus.url, janus.api_secret).open()
        session = await connection.session(keepalive=KEEPALIVE)
        admin = await VideoRoomAdmin.attach(session, admin_key=janus.admin_key)
        await admin.room_create(
            room=room, secret=secret, publishers=4, require_e2ee=e2ee, record=True, rec_dir=str(rec_dir)
        )
        refused = None
        if e2ee:
            clear = await Publisher.join(session, room=room, participant=f"clear-{room}")
            try:  # the same offer without `e2ee: true` is refused by an E2EE room
                await clear.configure(sdp=offer, e2ee=False)
            except JanusError as exc:
                refused = exc.code
            await clear.leave()
        publisher = await Publisher.join(session, room=room, participant=f"p-{room}")
        answer = await publisher.configure(sdp=offer, e2ee=e2ee)
        return connection, session, admin, publisher, answer, refused

    connection, session, admin, publisher, answer, refused = aio.run(open_room())
    page.evaluate("(sdp) => window.__sfu.answer(sdp)", answer["sdp"])
    deadline = time.monotonic() + 10
    while True:
        batch = page.evaluate("window.__sfu.candidates()")
        for candidate in batch["list"]:
            aio.run(publisher.trickle(candidate))
        if batch["gathered"]:
            aio.run(publisher.trickle(None))
            break
        assert time.monotonic() < deadline, "the page never finished gathering candidates"
        time.sleep(0.05)
    deadline = time.monotonic() + 15
    while page.evaluate("window.__sfu.sent()")["state"] != "connected":
        assert time.monotonic() < deadline, "the page never connected to Janus: " + janus.log()[-2000:]
        time.sleep(0.1)
    start = page.evaluate("window.__sfu.sent()")["frames"]
    time.sleep(RECORD_SECONDS)
    sent = page.evaluate("window.__sfu.sent()")["frames"] - start

    async def close_room():
        await publisher.leave()  # closes the recorder: the .mjr is complete
        await admin.room_destroy(room=room, secret=secret)
        await session.destroy()
        await connection.close()

    aio.run(close_room())
    page.evaluate("window.__sfu.close()")
    return {"answer": answer, "refused_clear": refused, "frames_sent": sent}


@pytest.fixture
def room_page_path(server, settings):
    """A live room's page: the origin that serves the E2EE modules and may use the camera."""
    from tessera.meetings.room import live

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    live.reset()
    yield f"/room/{meeting_create().room_id}"
    live.reset()


def test_janus_records_only_ciphertext_of_an_e2ee_room_and_pictures_of_a_clear_one(
    janus, aio, server, room_page_path, camera_browser, tmp_path
):
    context = camera_browser.new_context()
    results = {}
    try:
        for name, e2ee in (("sealed", True), ("control", False)):
            rec_dir = tmp_path / name
            rec_dir.mkdir()
            page = context.new_page()
            page.goto(server.url + room_page_path)
            room = f"{name}-{secrets.token_hex(4)}"
            published = publish_and_record(page, aio, janus, room=room, e2ee=e2ee, rec_dir=rec_dir)
            videos = [p for p in rec_dir.glob("*.mjr") if mjr_read(p).header.get("t") == "v"]
            assert len(videos) == 1, sorted(p.name for p in rec_dir.iterdir())
            recording = mjr_read(videos[0])
            results[name] = {**published, "path": videos[0], "recording": recording}
            page.close()
    finally:
        context.close()

    sealed, control = results["sealed"], results["control"]
    # Janus was told, and said back, that the media is end-to-end encrypted; clear media was refused.
    assert sealed["answer"].get("e2ee") is True and "e2ee" not in control["answer"]
    assert sealed["refused_clear"] == videoroom.UNAUTHORIZED
    assert not control["recording"].encrypted
    # Both recordings carry a comparable amount of video: the sealed one is not empty by accident.
    for result in (sealed, control):
        assert result["frames_sent"] > 30, result["frames_sent"]
        assert len(result["recording"].packets) > 50, len(result["recording"].packets)
    # What Janus can read of a sealed frame: the clear VP8 header, key frames with the camera's size.
    assert (WIDTH, HEIGHT) in set(vp8_key_frames(sealed["recording"]))
    assert (WIDTH, HEIGHT) in set(vp8_key_frames(control["recording"]))

    # janus-pp-rec refuses a recording marked encrypted (Janus 1.1.2 does not mark a first publish's):
    # it is handed a copy without the mark, and converts it like any VP8 recording.
    unmarked = tmp_path / "unmarked.mjr"
    mjr_without_e2ee_flag(sealed["path"], unmarked)
    sealed_decoded = decode(unmarked, tmp_path)
    control_decoded = decode(control["path"], tmp_path)

    assert control_decoded["converted"], control_decoded["errors"]
    control_frames = control_decoded["frames"]
    assert len(control_frames) >= 30, control_decoded["errors"]
    assert pictures(control_frames) >= 0.8 * len(control_frames), control_frames[:3]
    # The ciphertext reached ffmpeg as VP8 frames in a valid container ...
    assert sealed_decoded["converted"], sealed_decoded["errors"]
    assert sealed_decoded["packets"] >= 30, sealed_decoded
    # ... and not one picture comes out of it, whether ffmpeg decoded nothing, failed, or decoded noise.
    assert pictures(sealed_decoded["frames"]) == 0, (len(sealed_decoded["frames"]), sealed_decoded["errors"])
