"""Join time: from navigating to the join link to the first decoded remote frame, 2 people on loopback.

It runs what `make run` runs, in its own process: `manage.py serve` with the base settings (one ASGI
process, the embedded worker, SQLite) on a fresh database in a temporary directory; this process creates
the meeting in that database and drives Debian's Chromium with fake devices. One participant stays in the
room; then 12 others join one after the other, each in a fresh browser context (nothing cached) with their
own invitation. The clock starts before `goto(invitation link)`, the link exactly as the invitation email
gives it (`/m/<room-id>#<token>.<secret>`), and stops when the page's peer connection has decoded a video
frame of the first participant (`framesDecoded > 0`). Everything a person does on the way is in the
measured time: the link's page asking the server what the link allows, the pre-join page with its camera
preview, and the click on "Join". The links carry a room secret the benchmark makes itself, as the
organiser's browser would (`/m/<room-id>#<token>.<secret>`).

The reference, in the same run and the same browser, alternating with the joins: a bare pair of
RTCPeerConnections in one page. A fresh context opens a one-line page from the same origin, takes the
fake camera and microphone, connects two peer connections to each other (offer, answer and candidates
handed over in the page) and stops at the first decoded frame of the remote video, the same event.
`join_time_ratio` is the median join over the median bare pair.

    .venv/bin/python bench/join_time.py [--busy]       (about 1 minute)
"""

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines, ratio  # noqa: E402
from invitations import _free_port, serve, stop  # noqa: E402

JOINS = 12
# The first remote video frame the page decodes: a tile's <video> fires `loadeddata` when its first frame
# is decoded and ready. An event, so the page is not slowed by polling getStats while it joins; afterwards
# the bench checks that the peer connection's framesDecoded agrees (getStats caches its figures briefly).
FIRST_FRAME_WATCH = """
window.__firstFrame = new Promise((resolve) => {
  document.addEventListener("loadeddata", (event) => {
    const video = event.target;
    if (video.tagName === "VIDEO" && video.closest("#stage") && video.videoWidth > 0) resolve(performance.now());
  }, true);
});
"""
DECODED = "async () => (await window.__inbound()).some((x) => x.video > 0)"
BARE_PAIR_PATH = "/bench-bare-pair"
BARE_PAIR_PAGE = """<!doctype html><meta charset="utf-8"><title>bare pair</title><body><script>
window.__firstFrame = (async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (event) => event.candidate && b.addIceCandidate(event.candidate);
  b.onicecandidate = (event) => event.candidate && a.addIceCandidate(event.candidate);
  const video = Object.assign(document.createElement("video"), { autoplay: true, muted: true, playsInline: true });
  document.body.append(video);
  const frame = new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
  b.ontrack = (event) => { if (event.track.kind === "video") video.srcObject = new MediaStream([event.track]); };
  for (const track of stream.getTracks()) a.addTrack(track, stream);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await frame;
  return video.videoWidth;
})();
</script>"""


def bare_pair_ms(browser, base: str) -> float:
    """One reference measurement: a fresh context, a one-line page, two peer connections, the first frame."""
    context = browser.new_context()
    context.route(
        base + BARE_PAIR_PATH, lambda route: route.fulfill(body=BARE_PAIR_PAGE, content_type="text/html")
    )
    page = context.new_page()
    started = time.perf_counter()
    page.goto(base + BARE_PAIR_PATH)
    width = page.evaluate("window.__firstFrame")
    elapsed = (time.perf_counter() - started) * 1000
    assert width > 0, "the bare pair decoded no video"
    context.close()
    return elapsed


def main():
    args = bench_arguments(__doc__)
    with busy(args.busy):
        load_before = load_average()
        times, bare = measure()
        load_after = load_average()
    join, reference = statistics.median(times), statistics.median(bare)
    print(f"join_time_samples_ms: {' '.join(f'{t:.0f}' for t in times)}")
    print(f"bare_pair_samples_ms: {' '.join(f'{t:.0f}' for t in bare)}")
    print(f"join_time_median_ms: {join:.0f}")
    print(f"bare_pair_join_ms: {reference:.0f}")
    print(f"join_time_ratio: {ratio(join, reference):.3f}")
    print(load_lines(load_before, load_after))
    print(f"# busy core: {args.busy}")


def server_here(var_dir: str, port: int, **extra) -> dict:
    """The environment of `manage.py serve` as `make run` has it (a fresh SQLite database in `var_dir`),
    made this process's too, Django set up and migrated: this process writes the meetings the server
    serves."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": var_dir,
        "TESSERA_BASE_URL": f"http://127.0.0.1:{port}",
        "TESSERA_LOG_LEVEL": "ERROR",
        **extra,
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TESSERA_SECRET_KEY"):
        env.pop(name, None)
    os.environ.update(env)
    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def emailed_paths(*, invitees: int, large: bool = False) -> list[str]:
    """A new meeting's links as the invitation emails give them (`/m/<room-id>#<token>`), each with the
    room secret after the token, as the organiser's browser hands them out (256 bits, drawn here)."""
    from tessera.meetings import links
    from tests.room.conftest import meeting_create

    meeting = meeting_create(invitees=invitees, large_meeting=large)
    paths = []
    for invitation in meeting.invitations:
        emailed = urlsplit(links.join_url(event=meeting.event, invitation=invitation))
        paths.append(f"{emailed.path}#{emailed.fragment.split('.')[0]}.{meeting.room_secret}")
    return paths


def measure() -> tuple[list[float], list[float]]:
    var_dir = tempfile.mkdtemp(prefix="tessera-bench-join-")
    port = _free_port()
    env = server_here(var_dir, port)
    from playwright.sync_api import sync_playwright

    from tests.e2e.room_helpers import PC_SPY

    paths = emailed_paths(invitees=JOINS + 1)
    proc = serve(env, port, Path(var_dir) / "serve.log")
    base = env["TESSERA_BASE_URL"]
    times, bare = [], []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            host = browser.new_context().new_page()
            host.add_init_script(PC_SPY)
            host.goto(base + paths[0])
            host.click("#room-app[data-state=prejoin] #join-button")
            host.wait_for_selector("#room-app[data-state=in-room]")
            for path in paths[1:]:
                bare.append(bare_pair_ms(browser, base))
                times.append(timed_join(browser, base, path))
            browser.close()
    finally:
        stop(proc)
    return times, bare


def timed_join(browser, base: str, path: str) -> float:
    """One join in a fresh context: from `goto(link)` to the first decoded frame, then the tab closes."""
    from tests.e2e.room_helpers import PC_SPY, wait_until

    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(PC_SPY)
    page.add_init_script(FIRST_FRAME_WATCH)
    started = time.perf_counter()
    page.goto(base + path)
    page.click("#room-app[data-state=prejoin] #join-button")
    page.evaluate("window.__firstFrame")  # resolves with the frame
    elapsed = (time.perf_counter() - started) * 1000
    # getStats caches its figures for a moment: they follow within a few tens of ms.
    wait_until(lambda: page.evaluate(DECODED), timeout=10, interval=0.05, message="framesDecoded")
    context.close()  # closing the tab is leaving: the host sees it at once
    time.sleep(1.0)
    return elapsed


def launch(playwright):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


if __name__ == "__main__":
    main()
