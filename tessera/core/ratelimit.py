"""Fixed-window rate limits kept in the cache (local memory embedded, Redis at scale).

Use `limit_hit()` anywhere (views, services), `alimit_hit()` from async code (consumers), or
`@rate_limited` on a view, sync or async.
"""

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


IPV6_PREFIX = 64


def client_network(ip: str) -> str:
    """What a limit counts for one address: an IPv4 address itself, an IPv6 address's /64.

    A single IPv6 client is usually given a whole /64 and can pick a new address in it per request.
    An IPv4 address written as IPv6 (::ffff:a.b.c.d) counts as that IPv4 address.
    """
    try:
        address = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def ip_hash(request_or_ip) -> str:
    """A keyed hash of the client's network (`client_network`): usable as a key, useless without the secret.

    Every limiter per client address derives its key here.
    """
    ip = request_or_ip if isinstance(request_or_ip, str) else client_ip(request_or_ip)
    return salted_hmac("tessera.core.ratelimit.ip", client_network(ip), algorithm="sha256").hexdigest()[:32]


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def _window(scope: str, key: str, period: int, now: float | None) -> tuple[str, int]:
    now = time.time() if now is None else now
    window = int(now // period)
    cache_key = f"rl:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:40]}:{window}"
    return cache_key, max(1, math.ceil((window + 1) * period - now))


def limit_hit(*, scope: str, key: str, limit: int, period: int, now: float | None = None) -> Verdict:
    """Count one hit of `key` in `scope`; refuse past `limit` hits per `period` seconds."""
    cache_key, retry_after = _window(scope, key, period, now)
    if cache.add(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
    return Verdict(allowed=count <= limit, retry_after=retry_after)


async def alimit_hit(*, scope: str, key: str, limit: int, period: int, now: float | None = None) -> Verdict:
    """`limit_hit` for async code, through the cache's async API; both count in the same windows."""
    cache_key, retry_after = _window(scope, key, period, now)
    if await cache.aadd(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = await cache.aincr(cache_key)
        except ValueError:
            await cache.aadd(cache_key, 1, timeout=period + 1)
            count = 1
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def too_many_requests(request, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "core/error.html",
        {
            "title": _("Too many attempts"),
            "message": ngettext(
                "Please wait %(seconds)s second before trying again.",
                "Please wait %(seconds)s seconds before trying again.",
                retry_after,
            )
            % {"seconds": retry_after},
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(
    scope: str, *, limit: int, period: int, methods=("POST",), key: Callable | None = None
) -> Callable:
    """Limit a view per client address (or per `key(request)`), answering 429 with Retry-After.

    `TESSERA_RATE_LIMITS[scope] = (limit, period)` overrides the numbers given here.
    """

    def hit_args(request) -> dict:
        configured = settings.TESSERA_RATE_LIMITS.get(scope, (limit, period))
        return {
            "scope": scope,
            "key": key(request) if key else ip_hash(request),
            "limit": configured[0],
            "period": configured[1],
        }

    def decorator(view):
        if iscoroutinefunction(view):

            async def async_wrapped(request, *args, **kwargs):
                if request.method in methods:
                    verdict = await alimit_hit(**hit_args(request))
                    if not verdict.allowed:
                        return await sync_to_async(too_many_requests)(request, verdict.retry_after)
                return await view(request, *args, **kwargs)

            return markcoroutinefunction(wraps(view)(async_wrapped))

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                verdict = limit_hit(**hit_args(request))
                if not verdict.allowed:
                    return too_many_requests(request, verdict.retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
