"""A small OpenID Connect provider on a loopback port, standing in for Google or Microsoft in tests.

It speaks real HTTP: discovery (/.well-known/openid-configuration), authorize (consents at once and
redirects back with code and state), token (an RS256 id_token signed with the key published at jwks_uri,
PKCE S256 checked, single-use codes, OAuth 2.0 error responses), userinfo and jwks. The production code
talks to it exactly as it talks to the real providers; only the server URL differs.
"""

import base64
import copy
import functools
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CODE_LIFETIME = 60
TOKEN_LIFETIME = 3600


@functools.cache
def rsa_key(slot: str = "provider") -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key per slot, generated once per test run (generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    nonce: str
    issued_at: float
    used: bool = False


@dataclass
class FakeOIDCProvider:
    """One provider, one registered client, one person who always consents."""

    client_id: str = "tessera-test-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    claims: dict = field(
        default_factory=lambda: {
            "sub": "110248495921238986420",
            "email": "ada@example.org",
            "email_verified": True,
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
        }
    )
    require_pkce: bool = True

    def __post_init__(self):
        self._key = rsa_key()
        self.kid = secrets.token_hex(8)
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.url = ""

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> "FakeOIDCProvider":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-oidc", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what tests configure and inspect ----------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def origin(self) -> str:
        return self.url

    def app(self, provider_id: str, name: str) -> dict:
        """The entry of SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] that points Tessera here."""
        return {
            "provider_id": provider_id,
            "name": name,
            "client_id": self.client_id,
            "secret": self.client_secret,
            "settings": {"server_url": self.url},
        }

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", *self.claims],
        }

    def jwks(self) -> dict:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def id_token(self, *, audience: str | None = None, nonce: str = "", key=None, **overrides) -> str:
        """A signed id_token for the configured person; `key` signs with another key (a forgery)."""
        now = int(time.time())
        payload = {
            **self.claims,
            "iss": self.issuer,
            "aud": audience or self.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": secrets.token_hex(12),
        }
        if nonce:
            payload["nonce"] = nonce
        payload.update(overrides)
        return jwt.encode(payload, key or self._key, algorithm="RS256", headers={"kid": self.kid})

    # --- protocol ------------------------------------------------------------------------------------

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        state = query.get("state", "")
        # Without a known client and a plausible redirect URI the user must not be sent anywhere.
        if client_id != self.client_id:
            return _page(400, "unknown client_id")
        if urlsplit(redirect_uri).hostname not in {"127.0.0.1", "localhost", "testserver"}:
            return _page(400, "redirect_uri is not registered for this client")

        def back(**params):
            params = {k: v for k, v in params.items() if v}
            separator = "&" if "?" in redirect_uri else "?"
            return 302, {"Location": f"{redirect_uri}{separator}{urlencode({**params, 'state': state})}"}, b""

        if query.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if "openid" not in query.get("scope", "").split():
            return back(error="invalid_scope", error_description="the openid scope is required")
        challenge = query.get("code_challenge", "")
        method = query.get("code_challenge_method", "plain" if challenge else "")
        if self.require_pkce and not challenge:
            return back(error="invalid_request", error_description="code_challenge is required")
        if challenge and method != "S256":
            return back(error="invalid_request", error_description="only S256 is supported")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.grants[code] = Grant(
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=query.get("scope", ""),
                code_challenge=challenge,
                code_challenge_method=method,
                nonce=query.get("nonce", ""),
                issued_at=time.time(),
            )
        return back(code=code)

    def token(self, form: dict, authorization: str) -> tuple[int, dict, bytes]:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                decoded = ":"
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id or not secrets.compare_digest(client_secret, self.client_secret):
            return _oauth_error(401, "invalid_client", extra_headers={"WWW-Authenticate": "Basic"})
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type")
        with self._lock:
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.used or time.time() - grant.issued_at > CODE_LIFETIME:
                return _oauth_error(400, "invalid_grant", "the code is unknown, used or expired")
            grant.used = True  # single use, whatever happens next
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return _oauth_error(400, "invalid_grant", "the code was issued to another client or redirect_uri")
        verifier = form.get("code_verifier", "")
        if grant.code_challenge:
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            if not verifier or computed.decode() != grant.code_challenge:
                return _oauth_error(400, "invalid_grant", "the PKCE code_verifier does not match")
        elif verifier:
            return _oauth_error(400, "invalid_grant", "no code_challenge was sent for this code")
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self.access_tokens[access_token] = copy.deepcopy(self.claims)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": grant.scope,
            "id_token": self.id_token(nonce=grant.nonce),
        }
        return _json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def userinfo(self, authorization: str) -> tuple[int, dict, bytes]:
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        claims = self.access_tokens.get(token)
        if claims is None:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b""
        return _json(200, claims)


def _json(status: int, body: dict, headers: dict | None = None) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _oauth_error(status: int, error: str, description: str = "", extra_headers: dict | None = None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    return _json(status, body, {"Cache-Control": "no-store", **(extra_headers or {})})


def _page(status: int, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, message.encode()


def _handler_for(provider: FakeOIDCProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def _send(self, response):
            status, headers, body = response
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self, method: str, query: dict):
            path = urlsplit(self.path).path
            provider.log.append((method, path))
            authorization = self.headers.get("Authorization", "")
            if path == "/.well-known/openid-configuration" and method == "GET":
                return _json(200, provider.discovery())
            if path == "/jwks" and method == "GET":
                return _json(200, provider.jwks())
            if path == "/authorize" and method == "GET":
                return provider.authorize(query)
            if path == "/token" and method == "POST":
                return provider.token(query, authorization)
            if path == "/userinfo":
                return provider.userinfo(authorization)
            return _page(404, "not found")

        def do_GET(self):
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self._send(self._route("GET", query))

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            self._send(self._route("POST", form))

    return Handler


def configure_tessera(settings, providers: dict[str, tuple[str, "FakeOIDCProvider"]]) -> None:
    """Point Tessera's sign-in providers at fakes, through the same settings production reads.

    `providers` maps a provider id ("google") to (display name, fake). The CSP's form-action must list
    each provider's origin, as base.py does for the real ones: Chromium applies it to the redirect that
    follows the "Continue" form.
    """
    socialaccount = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    socialaccount["openid_connect"]["APPS"] = [fake.app(pid, name) for pid, (name, fake) in providers.items()]
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount
    csp = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    csp["DIRECTIVES"]["form-action"] = [
        *csp["DIRECTIVES"]["form-action"],
        *(fake.origin for _, fake in providers.values()),
    ]
    settings.CONTENT_SECURITY_POLICY = csp
