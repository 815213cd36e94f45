"""A real Janus on loopback, started from deploy/janus/ with test ports and secrets of its own."""

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import contexts  # noqa: F401 (the browser tests' fixture, for the rooms here)

JANUS = shutil.which("janus") or "/usr/bin/janus"
RUN_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "janus" / "janus-run.sh"
# Short enough that the reaping of a silent session shows within a test; Janus checks every 2 s.
SESSION_TIMEOUT = 4
# Keepalives of the sessions that carry media in a test: well within SESSION_TIMEOUT.
KEEPALIVE = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rtp_ports() -> str:
    base = 20_000 + secrets.randbelow(200) * 200
    return f"{base}-{base + 199}"


class JanusServer:
    """Debian's Janus, run by deploy/janus/janus-run.sh exactly as a deployment runs it."""

    def __init__(self, folder: Path):
        if not os.path.exists(JANUS):
            pytest.fail("Janus is not installed: install Debian's janus package (make system-test-deps)")
        self.folder = folder
        self.port = _free_port()
        self.admin_port = _free_port()
        self.api_secret = secrets.token_urlsafe(32)
        self.admin_secret = secrets.token_urlsafe(32)
        self.admin_key = secrets.token_urlsafe(32)
        self.log_file = folder / "janus.log"
        self.process = None
        self.session_timeout = SESSION_TIMEOUT

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"ws://127.0.0.1:{self.admin_port}"

    def start(self) -> "JanusServer":
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "JANUS_BIN": JANUS,
            "JANUS_API_SECRET": self.api_secret,
            "JANUS_ADMIN_SECRET": self.admin_secret,
            "JANUS_ADMIN_KEY": self.admin_key,
            "JANUS_RUN_DIR": str(self.folder / "conf"),
            "JANUS_WS_PORT": str(self.port),
            "JANUS_ADMIN_WS_PORT": str(self.admin_port),
            "JANUS_RTP_PORTS": _rtp_ports(),
            "JANUS_SESSION_TIMEOUT": str(self.session_timeout),
            "JANUS_LOG_FILE": str(self.log_file),
        }
        self.process = subprocess.Popen(
            [str(RUN_SCRIPT)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Janus did not start: " + self.log()[-3000:])
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class LoopThread:
    """An asyncio loop in a thread of its own: the Janus client's tasks (keepalives) run there, and the
    test thread (where Playwright's sync API runs a loop already) waits on each coroutine it hands over."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="janus-client", daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def janus(tmp_path_factory) -> Iterator[JanusServer]:
    server = JanusServer(tmp_path_factory.mktemp("janus")).start()
    yield server
    server.stop()


@pytest.fixture
def aio() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def browser(playwright):
    """Chromium as the suite launches it, its fake cameras at 15 frames a second: the rooms here put four to
    six pages on two cores, each encoding simulcast layers and decoding everyone, where at 30 every page
    stalls for its share of the CPU whatever the room does. 15 frames a second still show a gap of 2 s, a
    layer's width and a decoded picture plainly."""
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"]
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*args, "--use-fake-device-for-media-stream=fps=15"], headless=True
    )
    yield launched
    launched.close()


@pytest.fixture
def janus_rooms(janus, server, settings):
    """Point the live room at the test's Janus; `janus_rooms(topology, **room)` sets the room settings."""
    from tessera.meetings.room import live

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.JANUS_URLS = [janus.url]
    settings.JANUS_API_SECRET = janus.api_secret
    settings.JANUS_ADMIN_KEY = janus.admin_key

    def configure(topology: str, **room) -> None:
        settings.TESSERA_ROOM = {
            **getattr(settings, "TESSERA_ROOM", {}),
            "topology": topology,
            "janus_keepalive_seconds": KEEPALIVE,
            **room,
        }
        live.reset()

    yield configure
    live.reset()


def three_pages_in_a_room(browser, server, meeting, opened, names) -> list:
    """The first three people join (their contexts added to `opened`) and each decodes the two others."""
    from tests.e2e.room_helpers import inbound, open_room, wait_until

    pages = [open_room(browser, server, meeting.link(i), opened, name=n) for i, n in enumerate(names[:3])]
    for page in pages:
        page.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    for page in pages:
        wait_until(
            lambda p=page: sum(1 for pc in inbound(p) for f in pc["videos"] if f > 0) >= 2,
            timeout=60,
            message="each decodes the two others",
        )
    return pages
