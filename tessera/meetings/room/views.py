import json
from pathlib import Path

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from tessera.core.http import cookie_free, permissions

from .conf import room_setting
from .protocol import client_constants


def catalog() -> dict:
    """The strings the room's scripts show, translated on the server."""
    return {
        "you": _("You"),
        "you_label": _("%(name)s (you)"),
        "your_screen": _("Your screen"),
        "screen_of": _("Screen of %(name)s"),
        "guest": _("Guest"),
        "someone": _("Someone"),
        "unknown_name": _("Unverified participant"),
        "waiting_for_key": _("Waiting for the meeting key"),
        "key_from": _("Key received from %(name)s"),
        "unsupported": _(
            "This browser cannot encrypt calls end to end (it lacks encoded transforms). "
            "Use a current Chromium, Firefox or Safari."
        ),
        "permission_denied": _(
            "Access to the camera or microphone was refused. Allow it in the browser's address bar, "
            "or join without them."
        ),
        "no_device": _("No camera or microphone was found. You can still join and listen."),
        "device_busy": _("The camera or microphone is used by another application."),
        "device_error": _("The camera or microphone could not be started."),
        "mute": _("Mute"),
        "unmute": _("Unmute"),
        "camera_off": _("Stop camera"),
        "camera_on": _("Start camera"),
        "share_screen": _("Share screen"),
        "stop_sharing": _("Stop sharing"),
        "speaker_view": _("Speaker view"),
        "grid_view": _("Grid view"),
        "raise_hand": _("Raise hand"),
        "lower_hand": _("Lower hand"),
        "participants": _("Participants"),
        "chat": _("Chat"),
        "shortcuts": _("Keyboard shortcuts"),
        "leave": _("Leave"),
        "leave_keys": _("Ctrl+Shift+L"),
        "previous_page": _("Previous page of participants"),
        "next_page": _("Next page of participants"),
        "page_of": _("%(page)s / %(pages)s"),
        "hand_raised": _("Hand raised"),
        "mic_on": _("Microphone on"),
        "mic_off": _("Microphone off"),
        "camera_is_on": _("Camera on"),
        "camera_is_off": _("Camera off"),
        "pin_name": _("Pin %(name)s"),
        "ask_to_mute_name": _("Ask %(name)s to mute"),
        "remove_name": _("Remove %(name)s"),
        "mute_asked": _("%(name)s was asked to mute."),
        "record": pgettext("button: start recording the meeting", "Record"),
        "stop_recording": _("Stop recording"),
        "record_notice": _("%(name)s wants to record this meeting"),
        # The count is filled in by the script, which has no plural rules: keep the sentence count-neutral.
        "record_waiting": _("Recording starts once everyone has answered (answers awaited: %(count)s)."),
        "record_refused": _("%(name)s refused the recording and left."),
        "muted_by_organiser": _("The organiser asked you to mute: your microphone is off."),
        "someone_waiting": _("Someone is waiting in the lobby."),
        "admit": _("Admit"),
        "deny": _("Deny"),
        "end_confirm": _("End the meeting for everyone?"),
        "remove_confirm": _("Remove %(name)s from the meeting?"),
        "bad_link_text": _("This link is incomplete: open the whole link from your email again."),
        "closed_invalid_token": _("This link does not open the room"),
        "closed_invalid_token_text": _("It was revoked, or it is incomplete."),
        "closed_token_expired": _("This meeting has ended"),
        "closed_token_expired_text": "",
        "closed_not_open_yet": _("The room is not open yet"),
        "closed_not_open_yet_text": _("It opens 15 minutes before the start."),
        "closed_cancelled": _("This meeting was cancelled"),
        "closed_cancelled_text": "",
        "closed_room_full": _("The room is full"),
        "closed_room_full_text": ngettext(
            "A peer-to-peer room holds %(max)s participant at most.",
            "A peer-to-peer room holds %(max)s participants at most.",
            room_setting("mesh_max"),
        )
        % {"max": room_setting("mesh_max")},
        "closed_lobby_full": _("The lobby is full"),
        "closed_lobby_full_text": _("Too many people are waiting to be admitted. Try again in a moment."),
        "closed_too_many_connections": _("Too many connections from your network"),
        "closed_too_many_connections_text": _("Close the other tabs of this meeting, then reload the page."),
        "closed_rate_limited": _("Too many attempts"),
        "closed_rate_limited_text": _("Please wait a minute, then reload the page."),
        "closed_removed": _("The organiser removed you from the meeting"),
        "closed_removed_text": "",
        "closed_ended": _("The organiser ended the meeting"),
        "closed_ended_text": _("Thank you for taking part."),
        "closed_meeting_ended": _("The organiser ended the meeting"),
        "closed_meeting_ended_text": "",
        "closed_denied": _("The organiser did not admit you"),
        "closed_denied_text": "",
        "closed_left": _("You left the meeting"),
        "closed_left_text": "",
        "closed_refused_recording": _("You refused the recording and left the meeting"),
        "closed_refused_recording_text": _("Nothing of you was recorded."),
        "closed_left_self": _("You left the meeting"),
        "closed_left_self_text": _("You can close this page, or come back with the same link."),
        "closed_disconnected": _("The connection to the room was lost"),
        "closed_disconnected_text": _("Reload the page to join again."),
    }


# Every module of the room, page and frame worker alike, and the worker's cipher: announced in the page's
# head so that the browser fetches them at once instead of discovering them import by import.
_ROOM_STATIC = Path(__file__).resolve().parents[2] / "static" / "tessera" / "js" / "room"
ROOM_MODULES = [
    *sorted(f"tessera/js/room/{p.name}" for p in _ROOM_STATIC.glob("*.js")),
    "tessera/js/meetings/fragment.js",
    "tessera/js/meetings/join.js",
]
FRAME_CIPHER = "tessera/vendor/bearssl-gcm/aesgcm.wasm"


@cookie_free
@never_cache
@permissions("camera", "microphone", "display-capture")
@require_GET
def room(request, room_id: str):
    """The live room. The link's key stays in the fragment; the page's script reads it."""
    return room_page(request, room_id)


@cookie_free
@never_cache
@permissions("camera", "microphone", "display-capture")
def join(request, room_id: str):
    """The emailed link's page. The same page answers any room id: its script asks what the link's token
    allows, shows the countdown, the end or a neutral refusal, and starts the room here once it is open."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return room_page(request, room_id, link_status=True)


def room_page(request, room_id: str, *, link_status: bool = False):
    """The room's page; with `link_status`, the emailed link's page, which asks first what its link allows
    (`join`) and starts the room in place once the room is open."""
    return render(
        request,
        "meetings/room/room.html",
        {
            "link_status": link_status,
            "room_id": room_id,
            "ws_path": f"/ws/meet/{room_id}",
            "strings": catalog(),
            "protocol": client_constants(),
            "plaintext_allowed": bool(room_setting("allow_plaintext_benchmark")),
            "stats_interval_seconds": room_setting("stats_interval_seconds"),
            "reactions": ["👍", "👏", "😂", "🎉", "❤️"],
            "modules": ROOM_MODULES,
            "frame_cipher": FRAME_CIPHER,
        },
    )


SERVICE_WORKER = """// Caches static assets only: never a page, an API answer or anything personal.
const CACHE = "tessera-static-v1";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))));
});
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith(STATIC)) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(event.request);
      const fresh = fetch(event.request).then((response) => {
        if (response.ok) cache.put(event.request, response.clone());
        return response;
      });
      return hit || fresh;
    }),
  );
});
"""


@cookie_free
@require_GET
@cache_control(max_age=0, no_cache=True)
def service_worker(request):
    body = f"const STATIC = {json.dumps(static(''))};\n" + SERVICE_WORKER
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    return response


@cookie_free
@require_GET
@cache_control(max_age=3600)
def manifest(request):
    data = {
        "name": "Tessera",
        "short_name": "Tessera",
        "description": _("End-to-end encrypted meetings, without an account or a cookie."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4ed8",
        "icons": [{"src": static("tessera/img/logo.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
