"""Opening the live room in Chromium pages, reading what each page decodes, and cutting its network."""

import asyncio
import base64
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# Injected by the test harness (not by the product): keeps every RTCPeerConnection the page makes so that
# the test can read what it decodes.
PC_SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  function Spied(...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; }
  Spied.prototype = Native.prototype;
  Object.setPrototypeOf(Spied, Native);
  window.RTCPeerConnection = Spied;
  window.__inbound = async () => {
    const out = [];
    for (const [index, pc] of window.__pcs.entries()) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      // `videos`: frames decoded per received video stream (through an SFU, one connection carries many);
      // `audios`: the energy heard on each received audio stream.
      const entry = { pc: index, video: 0, audio: 0, bytes: 0, state: pc.connectionState, path: [], videos: [], audios: [] };
      const candidates = new Map();
      const pairs = [];
      report.forEach((r) => {
        if (r.type === "local-candidate") candidates.set(r.id, r.candidateType);
        if (r.type === "transport" && r.selectedCandidatePairId) pairs.push(r.selectedCandidatePairId);
        if (r.type !== "inbound-rtp") return;
        entry.bytes += r.bytesReceived || 0;
        if (r.kind === "video") entry.video += r.framesDecoded || 0;
        if (r.kind === "video") entry.videos.push(r.framesDecoded || 0);
        if (r.kind === "audio") entry.audio += r.totalAudioEnergy || 0;
        if (r.kind === "audio") entry.audios.push(r.totalAudioEnergy || 0);
      });
      // The local candidate type of each selected pair ("host", "srflx", "relay").
      for (const id of pairs) entry.path.push(candidates.get(report.get(id)?.localCandidateId));
      out.push(entry);
    }
    return out;
  };
})();
"""


# Injected by a test, not by the product: peer connections the page closes keep running, as if the
# other side (or a media server) went on sending to a participant who was removed.
KEEP_CONNECTIONS = "RTCPeerConnection.prototype.close = function () {};"


def open_room(
    browser,
    server,
    path: str,
    contexts: list,
    *,
    name: str = "",
    join: bool = True,
    context_args=None,
    init_scripts=(),
):
    """A room page in a browser context of its own, added to `contexts` (the fixture closes them)."""
    context = browser.new_context(**(context_args or {}))
    contexts.append(context)
    page = context.new_page()
    page.add_init_script(PC_SPY)
    for script in init_scripts:
        page.add_init_script(script)
    page.goto(server.url + path)
    page.wait_for_selector("#room-app[data-state=prejoin]", timeout=10_000)
    if name:
        page.fill("#display-name", name)
    if join:
        page.click("#join-button")
    return page


def inbound(page) -> list[dict]:
    return page.evaluate("window.__inbound()")


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.25, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout} s (last: {last!r})")


def assert_stays(predicate, seconds: float, interval: float = 0.25, message: str = "condition"):
    """Fail as soon as `predicate` turns false within `seconds`.

    Proving an absence (no frame decoded, no reconnection) needs a bounded observation window: nothing
    observable says "it will never happen". Polling through the window, rather than sleeping then looking
    once, also catches a change that comes and goes.
    """
    deadline = time.monotonic() + seconds
    while True:
        assert predicate(), f"{message} stopped holding within {seconds} s"
        if time.monotonic() >= deadline:
            return
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def wait_settled(value, quiet: float = 0.5, timeout: float = 10.0, message: str = "value"):
    """Wait until `value()` stays the same for `quiet` seconds (e.g. frames in flight played out); return it."""
    deadline = time.monotonic() + timeout
    last, since = value(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = value()
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return current
    raise AssertionError(f"{message} still changing after {timeout} s (last: {last!r})")


def decoding_from_all(page, peers: int, kind: str = "video") -> bool:
    """True when `peers` connections each decoded something of `kind`."""
    stats = inbound(page)
    return sum(1 for s in stats if s[kind] > 0) >= peers


def totals(page, kind: str = "video") -> list[float]:
    return sorted((s[kind] for s in inbound(page)), reverse=True)


def frames(page, kind: str = "video") -> float:
    return sum(s[kind] for s in inbound(page))


def cut_websocket(server, room_id: str, invitation_id: int) -> str:
    """Close one participant's WebSocket from the server side, as a dropped TCP connection would be.

    Returns the participant's pid, which a resumed connection keeps.
    """
    from tessera.meetings.room import live

    room = live.rooms[room_id]
    member = next(m for m in room.members.values() if m.invitation_id == invitation_id)
    loop = server.server.servers[0].get_loop()
    asyncio.run_coroutine_threadsafe(
        live.layer().send(
            member.channel,
            {"type": "room.close", "text": '{"type":"error","code":"network"}', "code": 1012},
        ),
        loop,
    ).result(5)
    return member.pid


# --- a real TURN relay on loopback ------------------------------------------------------------------

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "coturn" / "turnserver.conf"
# What the deployed configuration sets that a loopback relay must not keep: its ports and addresses,
# TLS material, logging to syslog, and the refusal of loopback peers (both browsers are on loopback).
_REPLACED = {
    "listening-port",
    "tls-listening-port",
    "listening-ip",
    "external-ip",
    "min-port",
    "max-port",
    "cert",
    "pkey",
    "static-auth-secret",
    "syslog",
    "no-stdout-log",
    "log-file",
}
_LOOPBACK = re.compile(r"^denied-peer-ip=(127\.|::1$)")


def turn_test_config(*, port: int, relay_ports: tuple[int, int], secret: str, folder: Path) -> str:
    """deploy/coturn/turnserver.conf, bound to loopback for a test, with loopback peers allowed."""
    kept = []
    for raw in DEPLOY_CONF.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or _LOOPBACK.match(line):
            continue
        if line.split("=", 1)[0] in _REPLACED:
            continue
        kept.append(line)
    return "\n".join(
        [
            *kept,
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={relay_ports[0]}",
            f"max-port={relay_ports[1]}",
            f"static-auth-secret={secret}",
            "no-tls",
            "no-dtls",
            "allow-loopback-peers",
            "allowed-peer-ip=127.0.0.1",
            f"log-file={folder / 'turn.log'}",
            f"pidfile={folder / 'turn.pid'}",
            f"userdb={folder / 'turndb'}",
            "",
        ]
    )


def stun_binding(port: int, timeout: float = 0.5) -> bool:
    """True when a STUN server answers a Binding request on 127.0.0.1:port (RFC 5389)."""
    transaction = secrets.token_bytes(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(request, ("127.0.0.1", port))
        try:
            answer, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


class TurnRelay:
    """Debian's coturn (`turnserver`) on loopback, checking the product's REST-API credentials."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_udp_port()
        base = random.randrange(20_000, 60_000, 200)
        self.relay_ports = (base, base + 199)
        self.secret = base64.urlsafe_b64encode(os.urandom(24)).decode()
        self.conf = folder / "turnserver.conf"
        self.conf.write_text(
            turn_test_config(port=self.port, relay_ports=self.relay_ports, secret=self.secret, folder=folder)
        )
        self.process = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self):
        self.process = subprocess.Popen(
            [TURNSERVER, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not stun_binding(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("turnserver did not start: " + self.log()[-2000:])

    def log(self) -> str:
        path = self.folder / "turn.log"
        logs = sorted(self.folder.glob("turn*.log")) or ([path] if path.exists() else [])
        return "".join(p.read_text(errors="replace") for p in logs)

    def freeze(self):
        """The relay stops forwarding anything (the process is stopped, its sockets stay open)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
