import base64
import hashlib
import hmac
import time

from django.test import Client

from tessera.meetings.room.ice import ice_servers, turn_credentials


def test_turn_credentials_follow_coturns_rest_scheme():
    username, password = turn_credentials(secret="s3cret", ttl=600, now=1_000_000)
    expiry, _, _opaque = username.partition(":")
    assert int(expiry) == 1_000_600
    expected = base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()).decode()
    assert password == expected


def test_ice_servers_come_from_settings_only(settings):
    settings.TESSERA_ROOM = {}
    assert ice_servers() == []
    settings.TESSERA_ROOM = {
        "stun_urls": ["stun:turn.example.org"],
        "turn_urls": ["turn:turn.example.org"],
        "turn_secret": "k",
        "turn_ttl_seconds": 60,
    }
    stun, turn = ice_servers(now=time.time())
    assert stun == {"urls": ["stun:turn.example.org"]}
    assert turn["urls"] == ["turn:turn.example.org"] and turn["username"] and turn["credential"]


def test_the_room_page_is_cookie_free_strict_and_allows_camera_microphone_and_screen(db):
    response = Client().get("/room/abcdefghijklmnop")
    assert response.status_code == 200
    assert not response.cookies
    policy = response["Permissions-Policy"]
    assert "camera=(self)" in policy and "microphone=(self)" in policy and "display-capture=(self)" in policy
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    body = response.content.decode()
    assert "<script>" not in body and "style=" not in body
    assert 'id="room-strings"' in body and "abcdefghijklmnop" in body
    english = Client().get("/en/room/abcdefghijklmnop")
    assert english.status_code == 200 and "Join the meeting" in english.content.decode()


def test_the_service_worker_caches_static_assets_only_and_the_manifest_installs(db):
    worker = Client().get("/room/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    body = worker.content.decode()
    assert 'const STATIC = "/static/"' in body and "url.pathname.startsWith(STATIC)" in body
    manifest = Client().get("/room/manifest.webmanifest").json()
    assert manifest["display"] == "standalone" and manifest["icons"] and manifest["start_url"] == "/"
