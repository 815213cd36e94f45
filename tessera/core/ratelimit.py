"""Fixed-window rate limits kept in the cache (local memory embedded, Redis at scale).

Use `limit_hit()` anywhere (views, consumers, services) or `@rate_limited` on a view.
"""

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def ip_hash(request_or_ip) -> str:
    """A keyed hash of the client's address: usable as a key, useless to anyone without the secret."""
    ip = request_or_ip if isinstance(request_or_ip, str) else client_ip(request_or_ip)
    return hmac.new(settings.SECRET_KEY.encode(), f"ip:{ip}".encode(), hashlib.sha256).hexdigest()[:32]


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def limit_hit(*, scope: str, key: str, limit: int, period: int, now: float | None = None) -> Verdict:
    """Count one hit of `key` in `scope`; refuse past `limit` hits per `period` seconds."""
    now = time.time() if now is None else now
    window = int(now // period)
    cache_key = f"rl:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:40]}:{window}"
    retry_after = max(1, int((window + 1) * period - now))
    if cache.add(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def too_many_requests(request, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "core/error.html",
        {
            "title": _("Too many attempts"),
            "message": _("Please wait %(seconds)s seconds before trying again.") % {"seconds": retry_after},
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(
    scope: str, *, limit: int, period: int, methods=("POST",), key: Callable | None = None
) -> Callable:
    """Limit a view per client address (or per `key(request)`), answering 429 with Retry-After."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                configured = settings.TESSERA_RATE_LIMITS.get(scope, (limit, period))
                verdict = limit_hit(
                    scope=scope,
                    key=key(request) if key else ip_hash(request),
                    limit=configured[0],
                    period=configured[1],
                )
                if not verdict.allowed:
                    return too_many_requests(request, verdict.retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
