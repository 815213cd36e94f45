"""Gmail's sendAs settings on the Google fake, reached the way signatures reach them: a service account with
domain-wide delegation impersonating each member.

    fake = FakeGmail().start()
    key = fake.service_account()              # the JSON key an operator downloads; delegated by default
    fake.add_account("bob@example.org", "Bob Martin")

The token endpoint accepts the JWT bearer grant (RFC 7523) as Google does: an RS256 assertion signed with
the key, `iss` the service account, `aud` the token endpoint, `sub` the member, `scope` a claim, at most an
hour long; a client id without delegation of that scope in the Admin console is `unauthorized_client`.
Gmail keeps a signature the way it does: scripts and style sheets outside attributes are stripped, event
handlers and javascript: links too, and a signature over 10,000 characters is refused. Quotas: sendAs.patch
costs 100 units and a user has 250 a second; injected failures use Gmail's documented error bodies.
"""

import secrets
import time
from collections import defaultdict
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives import serialization

from tests.fakes.fake_http import Reply, Request, json_reply, retry_after_header
from tests.fakes.google_admin import (
    SENDAS_FIELDS,
    SENDAS_READ,
    SENDAS_WRITE,
    SIGNATURE_MAX,
    google_error,
    send_as,
)
from tests.fakes.google_workspace import FakeGoogle, Grant, _oauth_error
from tests.fakes.oidc import rsa_key

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3599
PATCH_UNITS = 100
USER_UNITS_PER_SECOND = 250
# Gmail's "Resolve errors" page: the reason and message of each quota error.
QUOTA_ERRORS = {
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    403: ("rateLimitExceeded", "Rate Limit Exceeded"),
}
STRIPPED = {"script", "style", "link", "meta", "base", "iframe", "object", "embed", "form", "input", "button"}
VOID = {"br", "img", "hr", "wbr", "col", "area", "source"}


def usage_error(status: int, reason: str, message: str, headers: dict | None = None) -> Reply:
    body = {
        "error": {
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }
    return json_reply(status, body, headers)


class _Sanitiser(HTMLParser):
    """Rebuilds the HTML without what Gmail removes from a signature."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in STRIPPED:
            self.skipping += tag not in VOID and tag not in ("link", "meta", "base", "input", "embed")
            return
        if self.skipping:
            return
        kept = []
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in ("srcdoc", "formaction"):
                continue
            if name in ("href", "src") and value.strip().lower().startswith(("javascript:", "vbscript:")):
                continue
            kept.append(f' {name}="{escape(value)}"')
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in STRIPPED:
            if tag not in VOID and tag not in ("link", "meta", "base", "input", "embed"):
                self.skipping = max(self.skipping - 1, 0)
            return
        if not self.skipping and tag not in VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(escape(data, quote=False))

    def handle_comment(self, data):
        pass


def gmail_sanitise(html: str) -> str:
    parser = _Sanitiser()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


class FakeGmail(FakeGoogle):
    """FakeGoogle plus service accounts, domain-wide delegation and Gmail's handling of signatures."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_accounts: dict[str, dict] = {}  # client_email -> {"client_id", "public_key"}
        self.delegations: dict[str, set] = {}  # client id -> scopes granted in the Admin console
        self.applied: dict[str, list[str]] = defaultdict(list)  # email -> every signature stored, in order
        self.patch_times: dict[str, list[float]] = defaultdict(list)
        self.jwt_grants = 0
        self.patch_delay = 0.0  # seconds each sendAs.patch takes, to watch a push in progress
        self.fail_paths = None

    # --- configuration -------------------------------------------------------------------------------------

    def service_account(self, delegated: bool = True, slot: str = "service-account") -> dict:
        """A service account's JSON key, as the Google Cloud console lets an operator download it."""
        key = rsa_key(slot)
        client_id = str(secrets.randbelow(10**20) + 10**20)
        email = f"tessera-signatures@tessera-{secrets.token_hex(3)}.iam.gserviceaccount.com"
        with self._lock:
            self.service_accounts[email] = {"client_id": client_id, "public_key": key.public_key()}
            if delegated:
                self.delegations[client_id] = {SENDAS_WRITE_SCOPE}
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": "tessera-signatures",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": client_id,
            "auth_uri": f"{self.url}/o/oauth2/auth",
            "token_uri": f"{self.url}/token",
        }

    def delegate(self, client_id: str, scopes=()):
        """What an administrator grants under Security > API controls > Domain-wide delegation."""
        with self._lock:
            self.delegations[client_id] = set(scopes)

    def signature_of(self, email: str) -> str:
        return self.accounts[email].signature

    def failure_reply(self, status: int, retry_after) -> Reply:
        if status in QUOTA_ERRORS:
            reason, message = QUOTA_ERRORS[status]
            return usage_error(status, reason, message, retry_after_header(retry_after))
        return super().failure_reply(status, retry_after)

    # --- HTTP ----------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = unquote(request.path)
        if request.method == "POST" and path == "/token" and request.form.get("grant_type") == JWT_BEARER:
            return self.jwt_grant(request.form.get("assertion", ""))
        if path.startswith("/gmail/v1/users/"):
            return self.gmail(request, path[len("/gmail/v1/users/") :])
        return super().handle(request)

    def jwt_grant(self, assertion: str) -> Reply:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: malformed assertion.")
        account = self.service_accounts.get(str(unverified.get("iss", "")))
        if account is None:
            return _oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        try:
            claims = jwt.decode(
                assertion,
                account["public_key"],
                algorithms=["RS256"],
                audience=f"{self.url}/token",
                options={"require": ["iss", "aud", "iat", "exp"]},
                leeway=300,
            )
        except jwt.InvalidAudienceError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        except jwt.PyJWTError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return _oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
            )
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegations.get(account["client_id"], set()):
            return _oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not "
                "authorized for any of the scopes requested.",
            )
        subject = str(claims.get("sub", ""))
        if subject not in self.accounts:
            return _oauth_error(400, "invalid_grant", "Invalid email or User ID")
        access = "ya29.c." + secrets.token_urlsafe(60)
        with self._lock:
            self.jwt_grants += 1
            self.access_tokens[access] = (Grant(subject, sorted(scopes)), time.time() + TOKEN_LIFETIME)
        return json_reply(200, {"access_token": access, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"})

    def gmail(self, request: Request, rest: str) -> Reply:
        parts = rest.strip("/").split("/")
        if len(parts) < 3 or parts[1:3] != ["settings", "sendAs"] or len(parts) > 4:
            return google_error(404, "Not Found", "notFound", "NOT_FOUND")
        write = request.method in ("PATCH", "PUT")
        checked = self.caller(request, SENDAS_WRITE if write else SENDAS_READ)
        if isinstance(checked, Reply):
            return checked
        _, caller = checked
        if parts[0] not in ("me", caller.email):
            return google_error(
                403, f"Delegation denied for {caller.email}", "forbidden", "PERMISSION_DENIED"
            )
        if len(parts) == 3:
            if request.method != "GET":
                return google_error(405, "Method Not Allowed", "httpMethodNotAllowed", "INVALID_ARGUMENT")
            return json_reply(200, {"sendAs": [send_as(caller)]})
        if parts[3].lower() != caller.email.lower():
            return google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
        if request.method == "GET":
            return json_reply(200, send_as(caller))
        if not write:
            return google_error(405, "Method Not Allowed", "httpMethodNotAllowed", "INVALID_ARGUMENT")
        return self.patch(request, caller)

    def patch(self, request: Request, caller) -> Reply:
        if self.patch_delay:
            time.sleep(self.patch_delay)
        now = time.time()
        with self._lock:
            recent = [t for t in self.patch_times[caller.email] if now - t < 1.0]
            if (len(recent) + 1) * PATCH_UNITS > USER_UNITS_PER_SECOND:
                self.patch_times[caller.email] = recent
                return usage_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
            self.patch_times[caller.email] = [*recent, now]
        try:
            body = request.json
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return google_error(400, "Invalid JSON payload received.", "parseError", "INVALID_ARGUMENT")
        unknown = set(body) - SENDAS_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            return google_error(
                400, f'Invalid JSON payload received. Unknown name "{name}"', "invalid", "INVALID_ARGUMENT"
            )
        if "signature" in body:
            signature = body["signature"]
            if not isinstance(signature, str):
                return google_error(400, "Invalid value at 'signature'", "invalid", "INVALID_ARGUMENT")
            if len(signature) > SIGNATURE_MAX:
                return google_error(400, "Signature is too long.", "invalidArgument", "INVALID_ARGUMENT")
            kept = gmail_sanitise(signature)
            with self._lock:
                caller.signature = kept
                self.applied[caller.email].append(kept)
                self.signature_updates.append((caller.email, kept))
        return json_reply(200, send_as(caller))


SENDAS_WRITE_SCOPE = next(iter(SENDAS_WRITE))
