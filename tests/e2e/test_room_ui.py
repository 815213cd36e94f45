"""The room as a person uses it, in real Chromium pages: the join page, the controls, the organiser's
tools, quality figures and the installable app."""

import json
from urllib.parse import urlsplit

from tessera.meetings.room.models import QualitySample

from .room_helpers import assert_stays, decoding_from_all, inbound, open_room, wait_until


def _options(page, select: str) -> list[list[str]]:
    return page.evaluate(f"[...document.querySelectorAll('#{select} option')].map(o => [o.value, o.text])")


def _tile(page, name: str):
    return page.locator(".tile[data-kind=camera]:not(.local)", has_text=name)


def _string(page, key: str) -> str:
    """A string of the page's own catalog, in the page's language."""
    return page.evaluate(f"JSON.parse(document.getElementById('room-strings').textContent)[{key!r}]")


def test_join_page_devices_name_camera_off_and_the_controls_seen_by_the_other_side(
    meeting, browser, server, contexts, settings
):
    # Figures every 2 s instead of 10, so that the test sees rows stored without waiting long.
    settings.TESSERA_ROOM = {"stats_interval_seconds": 2, "stats_min_interval_seconds": 1}
    a = open_room(browser, server, meeting.link(0), contexts=contexts, join=False)
    # The join page lists the devices, with their labels, and previews the camera.
    wait_until(lambda: len(_options(a, "speaker-select")) > 1, message="devices listed")
    assert [label for _, label in _options(a, "camera-select")] == ["fake_device_0"]
    assert len(_options(a, "mic-select")) >= 1 and all(label for _, label in _options(a, "mic-select"))
    speakers = _options(a, "speaker-select")
    chosen_id, chosen = next((value, label) for value, label in speakers if value != "default")
    wait_until(lambda: a.evaluate("document.getElementById('preview').readyState >= 2"), message="preview")
    a.select_option("#speaker-select", label=chosen)
    a.fill("#display-name", "Ana")
    a.click("#join-button")
    a.wait_for_selector("#room-app[data-state=in-room]")
    # The name is kept in this browser's storage only: no cookie.
    assert a.evaluate("localStorage.getItem('tessera.displayName')") == "Ana"
    assert a.evaluate("document.cookie") == "" and a.context.cookies() == []

    # Ben joins with his camera off: Ana gets his voice and no video frame at all.
    b = open_room(browser, server, meeting.link(1), name="Ben", contexts=contexts, join=False)
    b.uncheck("#join-camera")
    b.click("#join-button")
    b.wait_for_selector("#room-app[data-state=in-room]")
    assert b.get_attribute("#camera-button", "aria-pressed") == "true"
    assert b.get_attribute("#mic-button", "aria-pressed") == "false"
    wait_until(lambda: decoding_from_all(a, 1, "audio"), message="Ana hears Ben")
    wait_until(lambda: decoding_from_all(b, 1, "video"), message="Ben sees Ana")
    ben = _tile(a, "Ben")
    ben.wait_for(timeout=5000)
    wait_until(
        lambda: "no-video" in ben.get_attribute("class"), timeout=5, message="Ben's tile without video"
    )
    assert_stays(lambda: [s["video"] for s in inbound(a)] == [0], 1.0, message="no video from Ben")
    assert [s["video"] for s in inbound(a)] == [0]
    # The voices of the call play on the chosen speaker, not only the test tone.
    assert ben.locator("video").evaluate("v => v.sinkId") == chosen_id

    # Whoever talks is highlighted (the fake microphone beeps); each tile rates its connection.
    a.wait_for_selector(".tile.speaking[data-kind=camera]:not(.local)", timeout=10_000)
    wait_until(lambda: ben.get_attribute("data-quality") in {"good", "fair", "poor"}, message="quality")

    # He starts his camera: Ana decodes his video.
    b.click("#camera-button")
    wait_until(lambda: decoding_from_all(a, 1, "video"), message="Ana sees Ben")
    wait_until(lambda: "no-video" not in ben.get_attribute("class"), timeout=5, message="video tile")
    assert b.get_attribute("#camera-button", "aria-pressed") == "false"

    # Mute, raise a hand and react: Ana sees each of them on Ben's tile.
    b.click("#mic-button")
    assert b.get_attribute("#mic-button", "aria-pressed") == "true"
    wait_until(lambda: "is-muted" in ben.get_attribute("class"), timeout=5, message="muted on Ana's side")
    b.click("#hand-button")
    ben.locator(".hand").wait_for(state="visible", timeout=5000)
    emoji = b.locator("[data-reaction]").first.get_attribute("data-reaction")
    b.click("#reactions-button")  # the reactions menu
    b.locator("[data-reaction]").first.click()
    ben.locator(".reaction", has_text=emoji).wait_for(timeout=5000)
    b.click("#mic-button")
    wait_until(lambda: "is-muted" not in ben.get_attribute("class"), timeout=5, message="unmuted")

    # Grid and speaker views.
    assert a.locator("#stage.grid-view").count() == 1
    a.click("#view-button")
    assert a.locator("#stage.speaker-view").count() == 1
    assert a.locator("#stage .tile.featured").count() == 1
    a.click("#view-button")
    assert a.locator("#stage.grid-view").count() == 1

    # Each page sent its figures, stored per participant of the session.
    def stored():
        rows = list(QualitySample.objects.filter(session__event=meeting.event).values("participant", "width"))
        return len({r["participant"] for r in rows}) == 2 and len(rows) >= 4 and rows

    rows = wait_until(stored, timeout=15, message="quality figures stored")
    assert any(r["width"] > 0 for r in rows)


def test_organiser_admits_and_denies_from_the_lobby_locks_and_ends_for_everyone(
    meeting, browser, server, contexts
):
    organiser = open_room(browser, server, meeting.organiser_link(), name="Olga", contexts=contexts)
    organiser.wait_for_selector("#room-app[data-state=in-room]")
    guest_link = f"/room/{meeting.room_id}#{meeting.guest_token}.{meeting.room_secret}"
    guest = open_room(browser, server, guest_link, name="Gaston", contexts=contexts)
    guest.wait_for_selector("#room-app[data-state=lobby]")
    waiting = organiser.locator("#lobby-list li", has_text="Gaston")
    waiting.wait_for(timeout=5000)  # the side panel opens by itself
    waiting.locator("[data-admit=yes]").click()
    guest.wait_for_selector("#room-app[data-state=in-room]")
    for page in (organiser, guest):
        wait_until(lambda p=page: decoding_from_all(p, 1), message="admitted: media both ways")
    organiser.wait_for_selector("#lobby-panel", state="hidden")

    organiser.click("#lock-button")
    for page in (organiser, guest):
        page.wait_for_selector("#locked-indicator:not([hidden])", timeout=5000)
    assert organiser.get_attribute("#lock-button", "aria-pressed") == "true"
    # A locked room sends even an invitee to the lobby; the organiser denies them.
    invitee = open_room(browser, server, meeting.link(0), name="Ines", contexts=contexts)
    invitee.wait_for_selector("#room-app[data-state=lobby]")
    organiser.locator("#lobby-list li", has_text="Ines").locator("[data-admit=no]").click()
    invitee.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    assert invitee.text_content("#ended-title") == _string(invitee, "closed_denied")

    organiser.once("dialog", lambda dialog: dialog.accept())
    organiser.click("#end-button")
    guest.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    assert guest.text_content("#ended-title") == _string(guest, "closed_ended")


DENIED = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""
NO_DEVICE = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Requested device not found", "NotFoundError"));"""
NO_TRANSFORMS = "delete window.RTCRtpScriptTransform;"


def test_the_join_page_says_why_media_or_encryption_cannot_start(meeting, browser, server, contexts):
    for script, key in (
        (DENIED, "permission_denied"),
        (NO_DEVICE, "no_device"),
        (NO_TRANSFORMS, "unsupported"),
    ):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(script)
        page.goto(server.url + meeting.link(0))
        page.wait_for_selector("#prejoin-error:not([hidden])", timeout=10_000)
        assert page.text_content("#prejoin-error") == _string(page, key)
        # Without media one can still join and listen; without encoded transforms, nobody joins.
        assert page.is_disabled("#join-button") == (key == "unsupported")
        page.close()


def test_the_room_installs_as_an_app_whose_worker_caches_static_files_only(
    meeting, browser_type, browser_type_launch_args, server, tmp_path
):
    # A profile on disk: Chromium installs nothing from an incognito context.
    context = browser_type.launch_persistent_context(str(tmp_path / "profile"), **browser_type_launch_args)
    try:
        _installable(context, server, meeting)
    finally:
        context.close()


def _installable(context, server, meeting):
    page = context.new_page()
    page.goto(server.url + meeting.link(0))
    page.wait_for_selector("#room-app[data-state=prejoin]")
    manifest_url = page.evaluate("document.querySelector('link[rel=manifest]').href")
    manifest = json.loads(page.context.request.get(manifest_url).text())
    assert manifest["display"] == "standalone" and manifest["name"] and manifest["icons"]
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    assert cdp.send("Page.getAppManifest")["url"] == manifest_url
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    assert errors == [], errors
    # Once the worker controls the page, what it fetched is cached: static files, nothing else.
    page.reload()
    wait_until(lambda: page.evaluate("navigator.serviceWorker.controller !== null"), message="controlled")
    page.wait_for_selector("#room-app[data-state=prejoin]")
    cached = page.evaluate(
        """(async () => { const urls = [];
          for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
          }
          return urls; })()"""
    )
    assert cached and all(urlsplit(u).path.startswith("/static/") for u in cached), cached
    assert any(u.endswith("/room.js") for u in cached)
