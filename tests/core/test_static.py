"""Static files as the product's ASGI application serves them: before Django, with WhiteNoise's headers."""

import pytest

from tests.cards.test_fastpath import asgi

pytestmark = pytest.mark.django_db

ROOM_JS = "/static/tessera/js/room/room.js"


def test_a_static_file_is_answered_before_django_with_whitenoise_and_security_headers(
    django_assert_num_queries, settings
):
    from pathlib import Path

    source = Path(settings.BASE_DIR) / "tessera" / "static" / "tessera" / "js" / "room" / "room.js"
    with django_assert_num_queries(0):
        reply = asgi("GET", ROOM_JS)
    assert reply.status == 200
    assert reply.body == source.read_bytes()
    assert reply.header("content-length") == str(len(reply.body))
    assert reply.header("content-type").startswith("text/javascript")
    assert reply.header("cache-control") == "max-age=60, public"
    assert reply.header("x-content-type-options") == "nosniff"
    assert reply.header("referrer-policy") == "no-referrer"
    assert reply.header("cross-origin-opener-policy") == "same-origin"
    assert "set-cookie" not in reply.names() and "strict-transport-security" not in reply.names()
    # Revalidation, HEAD and ranges behave as WhiteNoise says.
    etag = reply.header("etag")
    assert asgi("GET", ROOM_JS, headers={"If-None-Match": etag}).status == 304
    head = asgi("HEAD", ROOM_JS)
    assert head.status == 200 and head.body == b"" and head.header("content-length") == str(len(reply.body))
    part = asgi("GET", ROOM_JS, headers={"Range": "bytes=0-9"})
    assert part.status == 206 and part.body == reply.body[:10]


def test_what_is_not_a_known_static_file_goes_on_to_django():
    for path in ["/static/tessera/js/room/nope.js", "/static/../settings/base.py", "/static/%2e%2e/asgi.py"]:
        reply = asgi("GET", path)
        assert reply.status == 404, path
        assert "x-frame-options" in reply.names()  # Django's answer, with its middleware's headers
    assert asgi("POST", ROOM_JS).status in (403, 404, 405)


def test_behind_tls_it_adds_hsts_and_plain_http_is_left_to_django_s_redirect(settings):
    from asgiref.sync import async_to_sync

    from tessera.core.static import StaticFiles

    settings.SECURE_HSTS_SECONDS = 3600
    secure = asgi("GET", ROOM_JS, scheme="https")
    assert secure.status == 200 and secure.header("strict-transport-security") == "max-age=3600"

    passed_on = []

    async def django(scope, receive, send):
        passed_on.append(scope["path"])

    static = StaticFiles(django)
    scope = {"type": "http", "method": "GET", "scheme": "http", "path": ROOM_JS, "headers": []}
    settings.SECURE_SSL_REDIRECT = True  # Django's SecurityMiddleware answers with its redirect
    async_to_sync(static)(scope, None, None)
    assert passed_on == [ROOM_JS]
