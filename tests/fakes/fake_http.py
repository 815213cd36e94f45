"""The HTTP plumbing the Google and Microsoft fakes share: loopback listeners, a request log, injected failures.

A fake subclasses FakeServer and answers `handle(request) -> Reply`; the base serves it over plain HTTP and,
when asked, over TLS too (msal refuses any authority that is not https), with a self-signed certificate for
127.0.0.1 that `ca_file` names so a client can trust it.
"""

import datetime
import functools
import ipaddress
import json
import random
import re
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from tests.fakes.oidc import rsa_key


@dataclass
class Request:
    """One request exactly as it reached the fake."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self):
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def bearer(self) -> str:
        value = self.header("authorization")
        return value[7:] if value[:7].lower() == "bearer " else ""


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_reply(status: int, body, headers: dict | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(body).encode(),
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def redirect(location: str) -> Reply:
    return Reply(302, b"", {"Location": location})


def text_reply(status: int, message: str) -> Reply:
    return Reply(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})


@dataclass
class Failure:
    status: int
    retry_after: float | None
    path: re.Pattern | None


@functools.cache
def tls_files() -> tuple[str, str]:
    """(certificate file, key file) of a self-signed certificate for 127.0.0.1 and localhost, made once per run."""
    key = rsa_key("tls")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tessera test fake")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tempfile.mkdtemp(prefix="tessera-fake-tls-")
    cert_file, key_file = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_file, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_file, key_file


class FakeServer:
    """A loopback HTTP server that logs every request and can fail on demand before answering."""

    name = "fake"
    with_tls = False

    def __init__(self):
        self.requests: list[Request] = []
        self.url = ""
        self.tls_url = ""
        self.fail_ratio = 0.0
        self.fail_status = 429
        self.fail_retry_after: float | None = 1
        self.fail_paths: re.Pattern | None = None  # the ratio only hits these paths (None: the API paths)
        self.random = random.Random(13)
        self._failures: list[Failure] = []
        self._lock = threading.RLock()
        self._servers: list[ThreadingHTTPServer] = []

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self):
        self.url = self._listen(None)
        if self.with_tls:
            self.tls_url = self._listen(tls_files())
        return self

    def _listen(self, tls) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        httpd.daemon_threads = True
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
            scheme = "https"
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        ).start()
        self._servers.append(httpd)
        return f"{scheme}://127.0.0.1:{httpd.server_address[1]}"

    def stop(self):
        for httpd in self._servers:
            httpd.shutdown()
            httpd.server_close()
        self._servers.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def ca_file(self) -> str:
        """The PEM file a client trusts to reach `tls_url` (REQUESTS_CA_BUNDLE for msal, SSL_CERT_FILE for httpx)."""
        return tls_files()[0]

    # --- what tests configure and inspect --------------------------------------------------------------

    def fail_next(
        self, n: int = 1, status: int = 429, retry_after: float | None = 1, path: str | None = None
    ):
        """The next `n` API requests (or those whose path matches the regex `path`) fail with `status`."""
        pattern = re.compile(path) if path else None
        with self._lock:
            self._failures.extend(Failure(status, retry_after, pattern) for _ in range(n))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """Logged requests, filtered by method and by a regex searched in the path."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (pattern is None or pattern.search(r.path))
            ]

    def clear_log(self):
        with self._lock:
            self.requests.clear()

    # --- for subclasses --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def is_api(self, path: str) -> bool:
        """Whether injected failures may hit this path (the APIs, not the sign-in endpoints)."""
        return True

    def failure_reply(self, status: int, retry_after: float | None) -> Reply:
        raise NotImplementedError

    def _injected(self, request: Request) -> Reply | None:
        with self._lock:
            for failure in self._failures:
                if failure.path.search(request.path) if failure.path else self.is_api(request.path):
                    self._failures.remove(failure)
                    return self.failure_reply(failure.status, failure.retry_after)
            hit = self.fail_paths.search(request.path) if self.fail_paths else self.is_api(request.path)
            if hit and self.fail_ratio and self.random.random() < self.fail_ratio:
                return self.failure_reply(self.fail_status, self.fail_retry_after)
        return None

    def dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        injected = self._injected(request)
        if injected is not None:
            return injected
        with self._lock:  # one request at a time: tests mutate the same dicts from their own thread
            return self.handle(request)


def retry_after_header(retry_after: float | None) -> dict:
    # Both Google and Microsoft send whole seconds.
    return {} if retry_after is None else {"Retry-After": str(int(retry_after))}


def _handler_for(server: FakeServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format, *args):
            pass

        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                reply = server.dispatch(request)
            except Exception as error:  # a bug in the fake must show up as a 500, not a hung client
                reply = text_reply(500, f"fake {server.name} failed: {error!r}")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    return Handler
