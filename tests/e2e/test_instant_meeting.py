"""An instant meeting end to end in Chromium: "Start a meeting now" on the home page, the organiser joins
from the page's button, a guest opens the copied guest link, waits in the lobby, is admitted, is handed the
key by the organiser's page, and both decode each other's video. The key never reaches the server.
"""

import json
import os
from pathlib import Path

import pytest

from tessera.meetings.models import Event

from .aria import axe_results
from .room_helpers import PC_SPY, decoding_from_all, open_room, wait_until


@pytest.fixture
def room_reset():
    from tessera.meetings.room import live

    live.reset()
    yield
    live.reset()


def sent_by(context) -> list[str]:
    """What a browser context sends: URLs (fragments are never sent), bodies and WebSocket frames."""
    sent: list[str] = []
    context.on("request", lambda r: sent.extend([r.url.split("#")[0], r.post_data or ""]))
    context.on(
        "page",
        lambda page: page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f)))),
    )
    return sent


def start_from_home(browser, server, contexts, *, language: str = "en", viewport=None):
    context = browser.new_context(**({"viewport": viewport} if viewport else {}))
    contexts.append(context)
    sent = sent_by(context)
    page = context.new_page()
    page.add_init_script(PC_SPY)
    page.goto(server.url + ("/en/" if language == "en" else "/"))
    page.click("[data-testid=start-now]")
    page.wait_for_selector("[data-testid=join-now]", state="visible", timeout=10_000)
    return page, sent


def test_an_instant_meeting_from_the_home_page_to_a_guest_admitted_and_handed_the_key(
    browser, server, contexts, room_reset
):
    organiser, sent = start_from_home(browser, server, contexts)
    event = Event.objects.get()
    assert event.instant and event.title == "" and event.organiser_email == ""
    organiser_link = organiser.input_value("[data-testid=organiser-link]")
    guest_link = organiser.input_value("[data-testid=guest-link]")
    room_path, fragment = organiser_link.split("#")
    assert room_path.endswith(f"/room/{event.room_id}") and fragment.startswith("o.")
    secret = fragment.split(".")[2]
    assert len(secret) == 43
    # The guest link carries no key; the page's own HTML never held it; this browser keeps it.
    assert "." not in guest_link.split("#")[1] and secret not in guest_link
    kept = organiser.evaluate(f"localStorage.getItem('tessera.meetingKey.{event.room_id}')")
    assert json.loads(kept)["secret"] == secret

    organiser.click("[data-testid=join-now]")
    organiser.wait_for_selector("#room-app[data-state=prejoin]", timeout=10_000)
    organiser.fill("#display-name", "Olga")
    organiser.click("#join-button")
    organiser.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)

    guest_path = guest_link.split(server.url, 1)[1]
    assert guest_path.startswith("/en/m/") or guest_path.startswith("/m/")
    guest = open_room(browser, server, guest_path, contexts, name="Gaston")
    guest.wait_for_selector("#room-app[data-state=lobby]", timeout=10_000)
    # Without the key the guest cannot seal a name yet: the organiser admits the one person waiting.
    waiting = organiser.locator("#lobby-list li")
    waiting.first.wait_for(timeout=10_000)
    assert waiting.count() == 1
    waiting.first.locator("[data-admit=yes]").click()
    guest.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    guest.wait_for_selector("#key-from:not([hidden])", timeout=10_000)
    assert "Olga" in guest.text_content("#key-from")
    for page in (organiser, guest):
        wait_until(lambda p=page: decoding_from_all(p, 1), timeout=30, message="both decode each other")
    code = organiser.text_content("#safety-code").strip()
    wait_until(lambda: guest.text_content("#safety-code").strip() == code != "—", message="codes agree")
    assert not any(secret in item for item in sent), "the organiser's browser sent the key"


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_instant_page_fits_the_screen_in_both_languages(browser, server, contexts, language, width):
    page, _ = start_from_home(
        browser, server, contexts, language=language, viewport={"width": width, "height": 900}
    )
    assert page.get_attribute("html", "lang") == language
    # Nothing wider than the screen: the links wrap or scroll inside their fields.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for name in ("join-now", "organiser-link", "guest-link", "manage-link"):
        box = page.locator(f"[data-testid={name}]").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, name
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in axe_results(page)["violations"]]
    assert violations == [], (language, width)
    # Screenshots for review, only when asked for, outside the repository.
    shots = os.environ.get("TESSERA_SHOTS_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / f"instant-{language}-{width}.png"), full_page=True)
