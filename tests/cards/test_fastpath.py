"""The public card page as the product's ASGI application serves it: pre-rendered in front of Django."""

import asyncio
import json
import re
from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from tessera.asgi import application
from tessera.cards import fastpath, services
from tessera.cards.analytics import stats_flush
from tessera.cards.models import CardDailyStat, Lead
from tessera.core import pow

from .conftest import brand_template

SECURITY_HEADERS = (
    "content-security-policy",
    "referrer-policy",
    "permissions-policy",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "content-language",
    "vary",
    "cache-control",
    "etag",
    "content-type",
)


@dataclass
class Reply:
    status: int
    headers: list
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v.decode() for k, v in self.headers if k.decode().lower() == name]
        return values[0] if values else None

    def names(self) -> set[str]:
        return {k.decode().lower() for k, _ in self.headers}


def asgi(method: str, path: str, *, headers: dict | None = None, scheme: str = "http") -> Reply:
    """One request through tessera.asgi.application, as uvicorn would make it."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent: list = []
    received: list = []

    async def receive():
        if received:  # the client stays connected until the response is sent
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    # As Django's test client does: the request signals must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(application)(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], list(start["headers"]), body)


@pytest.fixture(autouse=True)
def _fresh_pages():
    fastpath.pages_invalidate()
    yield
    fastpath.pages_invalidate()


def test_fast_path_sends_the_bytes_and_headers_django_sent(card, django_assert_num_queries):
    first = asgi("GET", f"/c/{card.slug}", headers={"Accept-Language": "en"})  # Django renders
    assert first.status == 200
    with django_assert_num_queries(0):
        second = asgi("GET", f"/c/{card.slug}", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert second.body == first.body
    assert sorted(second.headers) == sorted(first.headers)
    assert SECURITY_HEADERS and set(SECURITY_HEADERS) <= second.names()
    assert "set-cookie" not in first.names() | second.names()
    assert second.header("cache-control") == "no-cache"
    assert second.header("content-language") == "en" and "Accept-Language" in second.header("vary")
    assert second.header("referrer-policy") == "same-origin"
    assert second.header("x-content-type-options") == "nosniff"
    assert "default-src 'self'" in second.header("content-security-policy")
    # Each language has its own page.
    french = asgi("GET", f"/c/{card.slug}", headers={"Accept-Language": "fr-FR"})
    assert french.header("content-language") == "fr" and b'<html lang="fr">' in french.body
    assert b'<html lang="en">' in second.body


def test_clients_that_accept_gzip_get_the_page_compressed_once(card, django_assert_num_queries):
    import gzip

    plain = asgi("GET", f"/c/{card.slug}", headers={"Accept-Language": "en"})  # Django renders
    assert "Accept-Encoding" in plain.header("vary")
    with django_assert_num_queries(0):
        packed = asgi(
            "GET", f"/c/{card.slug}", headers={"Accept-Language": "en", "Accept-Encoding": "gzip, br"}
        )
        refused = asgi(
            "GET",
            f"/c/{card.slug}",
            headers={"Accept-Language": "en", "Accept-Encoding": "gzip;q=0, identity"},
        )
        again = asgi(
            "GET",
            f"/c/{card.slug}",
            headers={
                "Accept-Encoding": "gzip",
                "Accept-Language": "en",
                "If-None-Match": packed.header("etag"),
            },
        )
    assert packed.header("content-encoding") == "gzip" and gzip.decompress(packed.body) == plain.body
    assert int(packed.header("content-length")) == len(packed.body) < len(plain.body) / 2
    assert packed.header("etag") != plain.header("etag")  # another representation, another strong ETag
    assert packed.header("content-security-policy") == plain.header("content-security-policy")
    assert refused.header("content-encoding") is None and refused.body == plain.body
    assert again.status == 304 and again.header("etag") == packed.header("etag")


def test_page_is_the_same_for_every_visitor_and_holds_no_token(client, card):
    one = client.get(f"/c/{card.slug}").content
    two = client.get(f"/c/{card.slug}?s=qr").content
    assert one == two
    html = one.decode()
    assert 'name="csrfmiddlewaretoken" value=""' in html
    assert re.search(r'<input type="hidden" name="challenge" id="id_challenge">', html)


def test_head_and_if_none_match(card, django_assert_num_queries):
    page = asgi("GET", f"/c/{card.slug}")
    with django_assert_num_queries(0):
        head = asgi("HEAD", f"/c/{card.slug}")
        again = asgi("GET", f"/c/{card.slug}", headers={"If-None-Match": page.header("etag")})
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == str(len(page.body))
    assert again.status == 304 and again.body == b""
    assert again.header("etag") == page.header("etag") and again.header("cache-control") == "no-cache"
    # Django answers the same way when it is asked directly.
    fastpath.pages_invalidate()
    direct = asgi("GET", f"/c/{card.slug}", headers={"If-None-Match": page.header("etag")})
    assert direct.status == 304 and direct.header("etag") == page.header("etag")


def test_deactivated_card_is_404_on_the_next_request(card):
    assert asgi("GET", f"/c/{card.slug}").status == 200
    assert asgi("GET", f"/c/{card.slug}").status == 200
    services.card_set_active(card=card, active=False)
    gone = asgi("GET", f"/c/{card.slug}")
    assert gone.status == 404 and b"Bob" not in gone.body
    assert asgi("HEAD", f"/c/{card.slug}").status == 404
    assert asgi("GET", f"/c/{card.slug}").status == 404


def test_edits_and_templates_show_on_the_next_request(card, org):
    asgi("GET", f"/c/{card.slug}")
    services.card_update(card=card, changes={"job_title": "Architect"})
    assert b"Architect" in asgi("GET", f"/c/{card.slug}").body
    template = brand_template(
        org,
        "Brand",
        font="serif",
        layout="centered",
        is_default=True,
    )
    assert f"tpl-{template.pk}".encode() in asgi("GET", f"/c/{card.slug}").body


def test_another_process_change_shows_after_the_ttl(card, settings, monkeypatch):
    settings.TESSERA_CARDS_PAGE_TTL = 2
    now = [1000.0]
    monkeypatch.setattr(fastpath, "clock", lambda: now[0])
    asgi("GET", f"/c/{card.slug}")
    # Another process deactivated the card: this one received no signal.
    type(card).objects.filter(pk=card.pk).update(is_active=False)
    now[0] += 1.5
    assert asgi("GET", f"/c/{card.slug}").status == 200
    now[0] += 0.6
    assert asgi("GET", f"/c/{card.slug}").status == 404


def test_views_are_counted_by_source_through_the_fast_path(card, django_assert_num_queries):
    asgi("GET", f"/c/{card.slug}")  # Django: counted as direct, and the page is kept
    with django_assert_num_queries(0):
        asgi("GET", f"/c/{card.slug}?s=nfc")
        asgi("GET", f"/c/{card.slug}?s=qr")
        asgi("GET", f"/c/{card.slug}?s=qr")
        asgi("GET", f"/c/{card.slug}?s=link")
        asgi("GET", f"/c/{card.slug}", headers={"Referer": "https://elsewhere.example/post"})
        asgi("GET", f"/c/{card.slug}", headers={"Referer": f"http://testserver/c/{card.slug}"})
        asgi("HEAD", f"/c/{card.slug}?s=qr")  # not a view
    stats_flush()
    row = CardDailyStat.objects.get(card=card)
    assert (row.views_nfc, row.views_qr, row.views_link, row.views_direct) == (1, 2, 2, 2)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("?s=qr&utm_source=x", {}),
        ("?x=1", {}),
        ("", {"Cookie": "django_language=en"}),
    ],
)
def test_anything_else_goes_to_django(card, path, headers):
    asgi("GET", f"/c/{card.slug}")
    with CaptureQueriesContext(connection) as queries:
        reply = asgi("GET", f"/c/{card.slug}{path}", headers=headers)
    assert reply.status == 200 and len(queries) > 0


def test_disallowed_host_is_refused_by_django(card, settings):
    asgi("GET", f"/c/{card.slug}")
    settings.ALLOWED_HOSTS = ["tessera.example.org"]
    fastpath._hosts.clear()
    assert asgi("GET", f"/c/{card.slug}").status == 400


def test_exchange_form_tokens_come_from_a_cookie_free_endpoint(client, card):
    url = f"/c/{card.slug}/exchange/challenge"
    response = asgi("GET", url, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status == 200 and "set-cookie" not in response.names()
    assert response.header("cache-control") == "no-store"
    data = json.loads(response.body)
    assert set(data) == {"token", "challenge", "bits"}
    assert asgi("GET", url, headers={"Sec-Fetch-Site": "cross-site"}).status == 403
    # Two visitors never share a challenge.
    assert client.get(url).json()["challenge"] != data["challenge"]
    services.card_set_active(card=card, active=False)
    gone = asgi("GET", url)
    assert gone.status == 404 and b"Bob" not in gone.body


def test_fetched_challenge_works_once_and_forgeries_are_refused(client, card):
    page = asgi("GET", f"/c/{card.slug}").body.decode()
    url = re.search(r'data-challenge-url="([^"]+)"', page).group(1)
    data = client.get(url).json()
    form = {
        "csrfmiddlewaretoken": data["token"],
        "challenge": data["challenge"],
        "nonce": pow.solve(data["challenge"]),
        "name": "Vera Visitor",
        "email": "vera@example.net",
        "consent": "on",
    }
    post = f"/c/{card.slug}/exchange"
    forged = {**form, "challenge": data["challenge"][:-2] + "xx"}
    assert client.post(post, forged, HTTP_ORIGIN="http://testserver").status_code == 400
    assert client.post(post, form, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.post(post, form, HTTP_ORIGIN="http://testserver").status_code == 200
    replay = client.post(post, form, HTTP_ORIGIN="http://testserver")
    assert replay.status_code == 400 and "already sent" in replay.content.decode()
    assert Lead.objects.count() == 1


def test_anonymised_account_card_is_404_on_the_next_request(card, member):
    from tessera.cards.privacy import account_anonymise

    assert asgi("GET", f"/c/{card.slug}").status == 200
    account_anonymise(user=member)
    assert asgi("GET", f"/c/{card.slug}").status == 404


def test_a_card_whose_names_are_cleared_is_404_on_the_next_request(card):
    assert asgi("GET", f"/c/{card.slug}").status == 200
    assert asgi("GET", f"/c/{card.slug}").status == 200  # from the fast path
    services.card_update(card=card, changes={"first_name": "", "last_name": ""})
    gone = asgi("GET", f"/c/{card.slug}")
    assert gone.status == 404 and card.slug.encode() not in gone.body
    assert asgi("GET", f"/c/{card.slug}").status == 404  # a 404 is never kept, nor served from the cache
    services.card_update(card=card, changes={"first_name": "Bob"})
    assert b"<h1>Bob</h1>" in asgi("GET", f"/c/{card.slug}").body
