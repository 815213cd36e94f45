"""Fixtures that start real components on loopback: the ASGI server, an SMTP server, Chromium."""

import asyncio
import email
import email.policy
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.test import override_settings

# Playwright's sync API runs an event loop in the test thread; the ORM calls there are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- State every test starts from ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters, used TOTP codes and proof-of-work spends live in the cache: none leaks over."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def english():
    """Messages in English for assertions that read them (French is the product's default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What a real SMTP server on loopback received."""

    host: str
    port: int
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} emails, received {len(self.messages)}")

    def to(self, address: str) -> list:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def clear(self):
        with self.lock:
            self.messages.clear()


class _Handler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.mailbox.lock:
            self.mailbox.messages.append(message)
        return "250 OK"


class SMTPServer:
    """aiosmtpd on a fixed loopback port that can be stopped and started again."""

    def __init__(self, port: int | None = None):
        self.mailbox = Mailbox(host="127.0.0.1", port=port or free_port())
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(_Handler(self.mailbox), hostname="127.0.0.1", port=self.mailbox.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=server.mailbox.port,
    ):
        yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server) -> Mailbox:
    return smtp_server.mailbox


# --- ASGI server ------------------------------------------------------------------------------------


class ASGIServer:
    def __init__(self):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            "tessera.asgi:application",
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            ws_max_size=64 * 1024,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-test-server", daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI test server did not start")
            time.sleep(0.02)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request nor WebSocket is being handled: their last writes are done.

        The database is flushed after each test; a participant's departure still being written then can
        deadlock with the flush on PostgreSQL.
        """
        deadline = time.monotonic() + timeout
        while self.server.server_state.tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self):
        # The database connections the server's threads opened go first, or the test database cannot be
        # dropped after the run ("being accessed by other users" on PostgreSQL).
        from asgiref.sync import sync_to_async
        from django.db import connections

        loop = self.server.servers[0].get_loop() if self.server.servers else None
        if loop is not None and self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(
                sync_to_async(connections.close_all, thread_sensitive=True)(), loop
            ).result(10)
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup, django_db_blocker) -> Iterator[ASGIServer]:
    with django_db_blocker.unblock():
        server = ASGIServer()
        server.start()
    yield server
    server.stop()


@pytest.fixture
def server(_asgi_server, transactional_db, settings) -> Iterator[ASGIServer]:
    """The real ASGI server (HTTP and WebSocket) on a loopback port, with a fresh database."""
    settings.TESSERA_BASE_URL = _asgi_server.url
    yield _asgi_server
    _asgi_server.wait_idle()


# --- Browser ----------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "viewport": {"width": 1280, "height": 860}}


@dataclass
class RequestLog:
    urls: list = field(default_factory=list)

    def third_party(self, server_url: str) -> list[str]:
        own = urlsplit(server_url).netloc
        return [
            u
            for u in self.urls
            if urlsplit(u).scheme in {"http", "https", "ws", "wss"} and urlsplit(u).netloc != own
        ]


@pytest.fixture
def request_log(page) -> RequestLog:
    """Every URL the page requested; tests assert none left the server."""
    log = RequestLog()
    page.on("request", lambda request: log.urls.append(request.url))
    page.on("websocket", lambda ws: log.urls.append(ws.url))
    return log


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.e2e)
