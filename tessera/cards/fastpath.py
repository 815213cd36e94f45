"""The public card page without the Django stack: pre-rendered bytes per (slug, language, scheme).

`CardPageFastPath` wraps the product's ASGI application (tessera/asgi.py). For a GET or HEAD of
`/c/<slug>` (no query string, or only `s=<source>`; no cookie; an allowed host) it answers from an
in-process cache with the exact status line, headers and body Django sent for the same page (or the same
page gzip-encoded, for clients that accept it, compressed once when it is cached), counts the
view by source into the app's in-memory counters (tessera.cards.analytics), and answers 304 to a matching
If-None-Match. Anything else, and every miss, goes to Django: the card page view marks its response as
cacheable through the ASGI scope and this wrapper keeps a copy. Only that view can fill the cache, so a
404 (unknown or deactivated card) is never kept.

Invalidation:
- any save or deletion of a card, card template or organisation in this process bumps a generation
  (signals, again when the transaction commits; call `pages_invalidate_on_commit()` after a queryset
  update), so the next request misses and Django decides;
- other processes and other nodes do not see that bump: their entries expire after
  `TESSERA_CARDS_PAGE_TTL` seconds (default 2, at most 2 is advised), so a deactivated card disappears
  everywhere within that time. Set it to 0 to disable the cache.

Concurrent misses of the same page wait for the first one instead of all rendering through Django. When
the counters are due to be written (every few seconds), one view goes through Django, which writes them.
"""

import asyncio
import gzip
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.http.request import split_domain_port, validate_host
from django.utils import timezone, translation

from . import analytics

SCOPE_KEY = "tessera.cards.page"
PATH = re.compile(r"^/c/([-a-zA-Z0-9_]+)$")
QUERY = re.compile(rb"^(?:s=([a-z]{0,16}))?$")
DEFAULT_TTL = 2.0
DEFAULT_ENTRIES = 4096
NOT_MODIFIED_DROPPED = {b"content-type", b"content-length"}

# Tests move this clock forward instead of sleeping.
clock = time.monotonic


@dataclass(slots=True, frozen=True)
class Variant:
    headers: list
    body: bytes
    etag: bytes


@dataclass(slots=True, frozen=True)
class Page:
    card_id: int
    status: int
    headers: list
    body: bytes
    etag: bytes
    generation: int
    expires: float
    gzipped: Variant | None = None  # the same page gzip-encoded, with its own ETag


def _gzipped(headers: list, body: bytes, etag: bytes) -> Variant | None:
    """The page compressed once when it is cached. No secret is in it (the exchange form's token comes
    from its own endpoint), so compression reveals nothing (BREACH needs a secret next to reflected input)."""
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    if len(packed) >= len(body):
        return None
    tag = etag[:-1] + b'-gz"' if etag.endswith(b'"') else etag + b"-gz"
    replaced = {b"content-length": str(len(packed)).encode(), b"etag": tag}
    out = [(name, replaced.get(name.lower(), value)) for name, value in headers]
    out.append((b"content-encoding", b"gzip"))
    return Variant(headers=out, body=packed, etag=tag)


def _accepts_gzip(header: bytes) -> bool:
    for part in header.lower().split(b","):
        coding, _, params = part.strip().partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            return params.replace(b" ", b"") not in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000")
    return False


_pages: dict[tuple, Page] = {}
_generation = 0
_generation_lock = threading.Lock()


def pages_invalidate() -> None:
    """Forget every pre-rendered page of this process; call after any change that alters a card page."""
    global _generation
    with _generation_lock:
        _generation += 1
        _pages.clear()


def pages_invalidate_on_commit(**kwargs) -> None:
    """Signal receiver: now (for readers of the uncommitted change) and once the change is visible."""
    pages_invalidate()
    transaction.on_commit(pages_invalidate, using=kwargs.get("using"))


def page_mark(request, *, card_id: int) -> None:
    """Called by the card page view: this response is the same for every cookie-free visitor."""
    marker = getattr(request, "scope", {}).get(SCOPE_KEY)
    if marker is not None:
        marker["card_id"] = card_id


@dataclass(slots=True, frozen=True)
class Config:
    ttl: float
    entries: int
    forwarded_host: bool
    ssl_redirect: bool


_config: Config | None = None


def _settings() -> Config:
    """Read once: LazySettings costs microseconds per attribute, and this path answers in a few."""
    global _config
    if _config is None:
        _config = Config(
            ttl=float(getattr(settings, "TESSERA_CARDS_PAGE_TTL", DEFAULT_TTL)),
            entries=int(getattr(settings, "TESSERA_CARDS_PAGE_ENTRIES", DEFAULT_ENTRIES)),
            forwarded_host=settings.USE_X_FORWARDED_HOST,
            ssl_redirect=settings.SECURE_SSL_REDIRECT,
        )
    return _config


@receiver(setting_changed)
def _settings_changed(**kwargs) -> None:
    global _config
    _config = None
    _hosts.clear()
    _languages.clear()


_today: tuple[float, date] = (0.0, date.min)


def _local_today() -> date:
    """The counters' day in the site's time zone, recomputed once a second."""
    global _today
    now = clock()
    if now >= _today[0]:
        _today = (now + 1.0, datetime.now(timezone.get_default_timezone()).date())
    return _today[1]


_languages: dict[bytes, str] = {}
_hosts: dict[bytes, bool] = {}


def _language(accept: bytes) -> str:
    """Django's choice for a request without cookie or language prefix (views.public.accept_language)."""
    language = _languages.get(accept)
    if language is None:
        shim = SimpleNamespace(COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": accept.decode("latin-1")})
        language = translation.get_language_from_request(shim, check_path=False)
        if len(_languages) > 1024:
            _languages.clear()
        _languages[accept] = language
    return language


def _host_allowed(host: bytes) -> bool:
    allowed = _hosts.get(host)
    if allowed is None:
        domain, _port = split_domain_port(host.decode("latin-1"))
        hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not hosts:
            hosts = [".localhost", "127.0.0.1", "[::1]"]
        allowed = bool(domain) and validate_host(domain, hosts)
        if len(_hosts) > 256:
            _hosts.clear()
        _hosts[host] = allowed
    return allowed


def _etag_matches(header: bytes, etag: bytes) -> bool:
    if header.strip() == b"*":
        return True
    strong = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == strong for tag in header.split(b","))


class CardPageFastPath:
    """ASGI middleware in front of the whole product; see the module docstring."""

    def __init__(self, app):
        self.app = app
        self._inflight: dict[tuple, asyncio.Future] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        match = PATH.match(scope["path"])
        query = QUERY.match(scope.get("query_string", b""))
        config = _config or _settings()
        if match is None or query is None or scope.get("root_path") or config.ttl <= 0:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host")
        if (
            b"cookie" in headers
            or host is None
            or not _host_allowed(host)
            or (config.forwarded_host and b"x-forwarded-host" in headers)
            or (config.ssl_redirect and scope.get("scheme") != "https")
        ):
            return await self.app(scope, receive, send)
        language = _language(headers.get(b"accept-language", b""))
        key = (match.group(1), language, scope.get("scheme", "http"))

        page = self._fresh(key)
        waiting = self._inflight.get(key)
        if scope["method"] == "GET" and waiting is None and (page is None or analytics.flush_due()):
            # Django renders (and refills the cache), or counts this view and writes the pending counters.
            return await self._render(key, language, scope, receive, send)
        if page is None and waiting is not None and scope["method"] == "GET":
            await asyncio.shield(waiting)
            page = self._fresh(key)
        if page is None:
            return await self.app(scope, receive, send)

        if scope["method"] == "GET":
            analytics.stat_add(
                card_id=page.card_id,
                counter=analytics.view_counter(
                    source=(query.group(1) or b"").decode(),
                    referer=headers.get(b"referer", b"").decode("latin-1"),
                    host=host.decode("latin-1"),
                ),
                day=_local_today(),
            )
        chosen = Variant(page.headers, page.body, page.etag)
        if page.gzipped is not None and _accepts_gzip(headers.get(b"accept-encoding", b"")):
            chosen = page.gzipped
        condition = headers.get(b"if-none-match")
        if condition is not None and _etag_matches(condition, chosen.etag):
            not_modified = [(k, v) for k, v in chosen.headers if k.lower() not in NOT_MODIFIED_DROPPED]
            await send({"type": "http.response.start", "status": 304, "headers": not_modified})
            await send({"type": "http.response.body", "body": b""})
            return None
        await send({"type": "http.response.start", "status": page.status, "headers": chosen.headers})
        await send({"type": "http.response.body", "body": chosen.body if scope["method"] == "GET" else b""})
        return None

    def _fresh(self, key) -> Page | None:
        page = _pages.get(key)
        if page is None:
            return None
        if page.generation != _generation or page.expires <= clock():
            _pages.pop(key, None)
            return None
        return page

    async def _render(self, key, language, scope, receive, send):
        """Django answers this request; a cacheable 200 is kept for the next ones."""
        done = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        generation = _generation
        marker: dict = {}
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app({**scope, SCOPE_KEY: marker}, receive, capture)
            headers = list(start.get("headers", ()))
            names = {name.lower(): value for name, value in headers}
            if (
                "card_id" in marker
                and start.get("status") == 200
                and b"set-cookie" not in names
                and b"etag" in names
                and names.get(b"content-language", b"").decode() == language
                and generation == _generation
            ):
                if len(_pages) >= _settings().entries:
                    with _generation_lock:
                        _pages.pop(next(iter(_pages), None), None)
                body = b"".join(chunks)
                _pages[key] = Page(
                    card_id=marker["card_id"],
                    status=200,
                    headers=headers,
                    body=body,
                    etag=names[b"etag"],
                    generation=generation,
                    expires=clock() + _settings().ttl,
                    gzipped=None if b"content-encoding" in names else _gzipped(headers, body, names[b"etag"]),
                )
        finally:
            del self._inflight[key]
            done.set_result(None)
