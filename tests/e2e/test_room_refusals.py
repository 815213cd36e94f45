"""What a person sees when the room turns them away at the door, in real Chromium pages."""

from django.utils import translation
from django.utils.translation import gettext

from .room_helpers import assert_stays, open_room


def _in_french(*texts: str) -> tuple[str, ...]:
    """The room page speaks the site's default language, French."""
    with translation.override("fr"):
        return tuple(gettext(text) for text in texts)


def _refused(page) -> tuple[str, str]:
    page.wait_for_selector("#room-app[data-state=ended]", timeout=10_000)
    return page.text_content("#ended-title").strip(), page.text_content("#ended-text").strip()


def test_a_full_lobby_says_so_and_the_page_does_not_keep_knocking(
    meeting, browser, server, contexts, settings, request_log
):
    settings.TESSERA_ROOM = {**getattr(settings, "TESSERA_ROOM", {}), "lobby_max": 0}
    guest = open_room(
        browser, server, f"/room/{meeting.room_id}#{meeting.guest_token}.{meeting.room_secret}", contexts
    )
    assert _refused(guest) == _in_french(
        "The lobby is full",
        "Too many people are waiting to be admitted. Try again in a moment.",
    )
    attempts = []
    guest.on("websocket", lambda ws: attempts.append(ws.url))
    assert_stays(
        lambda: not attempts and guest.locator("#room-app").get_attribute("data-state") == "ended",
        2.5,
        message="no reconnection attempt",
    )
    assert guest.locator("#room-app").get_attribute("data-state") == "ended"


def test_too_many_connections_from_one_address_says_what_to_do(meeting, browser, server, contexts, settings):
    settings.TESSERA_ROOM = {
        **getattr(settings, "TESSERA_ROOM", {}),
        "connections_per_ip": 1,
        "connection_limit_exempt": (),
    }
    first = open_room(browser, server, meeting.link(0), contexts, name="Ana")
    first.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    second = open_room(browser, server, meeting.link(1), contexts, name="Ben")
    assert _refused(second) == _in_french(
        "Too many connections from your network",
        "Close the other tabs of this meeting, then reload the page.",
    )
