"""ICE servers for the page: STUN as configured, TURN with coturn's time-limited REST credentials."""

import base64
import hashlib
import hmac
import secrets
import time

from .conf import room_setting


def turn_credentials(*, secret: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """coturn `use-auth-secret`: username `<expiry>:<opaque>`, password base64(HMAC-SHA1(secret, username))."""
    expiry = int((now if now is not None else time.time()) + ttl)
    username = f"{expiry}:{secrets.token_urlsafe(9)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(now: float | None = None) -> list[dict]:
    servers = []
    stun = room_setting("stun_urls")
    if stun:
        servers.append({"urls": list(stun)})
    turn, secret = room_setting("turn_urls"), room_setting("turn_secret")
    if turn and secret:
        username, credential = turn_credentials(secret=secret, ttl=room_setting("turn_ttl_seconds"), now=now)
        servers.append({"urls": list(turn), "username": username, "credential": credential})
    return servers


ICE_TRANSPORT_POLICIES = frozenset({"all", "relay"})


def ice_transport_policy() -> str:
    """The RTCPeerConnection iceTransportPolicy the pages use; anything unknown falls back to "all"."""
    policy = str(room_setting("ice_transport_policy") or "all").lower()
    return policy if policy in ICE_TRANSPORT_POLICIES else "all"


def ice_config(now: float | None = None) -> dict:
    """What a page needs to build its peer connections: servers with fresh credentials, and the policy."""
    servers = ice_servers(now)
    policy = ice_transport_policy()
    if policy == "relay" and not any("username" in s for s in servers):
        policy = "all"  # relay-only without a TURN server would connect nobody
    return {"iceServers": servers, "iceTransportPolicy": policy}
