"""Live-room settings: defaults here, overridable per deployment with settings.TESSERA_ROOM."""

import os

from django.conf import settings


def _env_list(name: str) -> list[str]:
    return [u.strip() for u in os.environ.get(name, "").split(",") if u.strip()]


DEFAULTS = {
    "mesh_max": 8,  # participants in a peer-to-peer room where no Janus is named
    # Where a Janus is named, a mesh room moves to it, live, when it grows past this many (decision 0011).
    "mesh_move_past": int(os.environ.get("TESSERA_MESH_MAX", "4")),
    "message_max_bytes": 48 * 1024,  # one WebSocket message (an SDP offer with three m-lines is ~8 KiB)
    "rate_per_second": 40,  # sustained messages per connection
    "rate_burst": 120,
    "flood_close_after": 200,  # messages refused for rate before the connection is closed
    "auth_timeout_seconds": 10,
    "heartbeat_seconds": 10,  # the server pings; silence for 3 heartbeats closes the connection
    "resume_grace_seconds": 20,  # a dropped connection may resume the same participant this long
    "auth_failures_per_ip": (20, 60),
    "stats_min_interval_seconds": 5,
    # ICE: empty lists on loopback; production names its own STUN/TURN (deploy/coturn/).
    "stun_urls": _env_list("TESSERA_STUN_URLS"),
    "turn_urls": _env_list("TESSERA_TURN_URLS"),
    "turn_secret": os.environ.get("TESSERA_TURN_SECRET", ""),
    "turn_ttl_seconds": 6 * 3600,
    # "all" (direct paths, STUN and TURN) or "relay" (TURN only: hides participants' addresses from each other).
    "ice_transport_policy": os.environ.get("TESSERA_ICE_TRANSPORT_POLICY", "all"),
    # How often each page sends its aggregated connection figures.
    "stats_interval_seconds": 10,
    # Where settings.JANUS_URLS names a Janus (decision 0011): "auto", a room starts as a mesh and moves to
    # Janus past `mesh_move_past`; "sfu", every room goes through Janus from its first participant; "mesh",
    # only the organisers' large meetings do. Without a Janus every room is a mesh of `mesh_max`.
    "topology": os.environ.get("TESSERA_ROOM_TOPOLOGY", "auto"),
    "room_max": 100,  # participants of a room that goes through Janus
    "janus_keepalive_seconds": 25,  # Janus reaps a silent session after 60 s
    # Lets bench/e2ee_overhead.py measure a call without encryption; never on in a deployment.
    "allow_plaintext_benchmark": False,
}


def room_setting(name: str):
    return {**DEFAULTS, **getattr(settings, "TESSERA_ROOM", {})}[name]
