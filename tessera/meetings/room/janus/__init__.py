"""Janus, the SFU of large rooms: the WebSocket client and the VideoRoom plugin (decision 0011)."""

from .client import JanusConnection, JanusError, JanusGone, JanusHandle, JanusSession, JanusTimeout
from .videoroom import Publisher, Subscriber, VideoRoomAdmin

__all__ = [
    "JanusConnection",
    "JanusError",
    "JanusGone",
    "JanusHandle",
    "JanusSession",
    "JanusTimeout",
    "Publisher",
    "Subscriber",
    "VideoRoomAdmin",
    "janus_connect",
    "janus_enabled",
]


def janus_enabled() -> bool:
    """True when this deployment names a Janus; the embedded default has none and stays mesh-only."""
    from django.conf import settings

    return bool(getattr(settings, "JANUS_URLS", []))


async def janus_connect(index: int = 0) -> JanusConnection:
    """A connection to the index-th Janus of settings.JANUS_URLS, authenticated with JANUS_API_SECRET."""
    from django.conf import settings

    urls = getattr(settings, "JANUS_URLS", [])
    if not urls:
        raise JanusGone("no Janus is configured (JANUS_URLS is empty)")
    return await JanusConnection(urls[index % len(urls)], settings.JANUS_API_SECRET).open()
