"""Static files answered in the ASGI layer, before Django, from WhiteNoise's index of them.

Through Django every static file took a trip through the middleware stack on its one synchronous thread,
and its body was streamed back chunk by chunk across that thread: the twenty modules of the meeting room
took about 300 ms to arrive one after the other from `make run`. Here the same files, with the same
headers (WhiteNoise decides them: caching, ETag, compressed variants, ranges), are sent straight from the
event loop. Behind nginx (deploy/nginx/) the proxy serves /static/ itself and this is not reached.

Whatever this does not answer goes on to Django unchanged: other methods, unknown files, and plain-HTTP
requests where Django would redirect to HTTPS.
"""

import asyncio
import functools
import os
from types import SimpleNamespace

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware

# Bodies up to this size are read in the event loop (a few microseconds from the page cache).
READ_INLINE_BYTES = 256 * 1024


class StaticFiles:
    def __init__(self, app):
        self.app = app
        # The same index, headers and settings as the Django middleware (WHITENOISE_* and STATIC_*).
        self.whitenoise = WhiteNoiseMiddleware(get_response=None)
        self.prefix = self.whitenoise.static_prefix

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(self.prefix)
            or (settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https")
        ):
            return await self.app(scope, receive, send)
        whitenoise = self.whitenoise
        path = scope["path"]
        static_file = whitenoise.find_file(path) if whitenoise.autorefresh else whitenoise.files.get(path)
        if static_file is None:
            return await self.app(scope, receive, send)
        request_headers = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        response = static_file.get_response(scope["method"], request_headers)
        body = b""
        if response.file is not None:
            body = await _read(response.file)
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers]
        if scope["method"] == "GET":
            # The length of what is sent: a file changed on disk since the index was made (an update in
            # place) would otherwise break the response instead of serving its new content.
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode("latin-1")))
        headers += _security_headers(https=scope.get("scheme") == "https")
        await send({"type": "http.response.start", "status": int(response.status), "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})


async def _read(file) -> bytes:
    try:
        size = _size(file)
        if size is not None and size <= READ_INLINE_BYTES:
            return file.read()
        return await asyncio.to_thread(file.read)
    finally:
        file.close()


def _size(file):
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


@functools.cache
def _security_headers(*, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """What Django's SecurityMiddleware adds to the static files it lets WhiteNoise answer (its own code,
    run on an empty response, so the two never differ); worked out once per setting."""
    response = HttpResponse()
    before = set(response.headers)
    SecurityMiddleware(get_response=_unused).process_response(
        SimpleNamespace(is_secure=lambda: https), response
    )
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name not in before
    )


@receiver(setting_changed)
def _security_settings_changed(**kwargs):
    _security_headers.cache_clear()


def _unused(request):  # SecurityMiddleware wants a next step; process_response never calls it
    raise NotImplementedError
