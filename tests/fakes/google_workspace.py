"""A Google Workspace on loopback: OAuth 2.0 (web server flow), Admin SDK roles and customer, Gmail sendAs.

    fake = FakeGoogle().start()
    fake.add_account("bob@example.org", "Bob Martin")             # not an admin
    fake.assign_role("ada@example.org", fake.SUPER_ADMIN_ROLE)    # ada is the default, a super admin

The consent screen is skipped: /o/oauth2/v2/auth redirects back at once, as the account `fake.signed_in`,
granting the requested scopes (or `fake.grant_only`, like a person who unticks boxes on the granular
consent screen). Errors use Google's JSON error format; every request is logged.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit

import jwt

from tests.fakes.fake_http import (
    FakeServer,
    Reply,
    Request,
    json_reply,
    redirect,
    retry_after_header,
    text_reply,
)
from tests.fakes.google_admin import admin_route, gmail_route, google_error
from tests.fakes.oidc import rsa_key

TOKEN_LIFETIME = 3599
SCOPE = "https://www.googleapis.com/auth/"
SHORT_SCOPES = {"email": f"{SCOPE}userinfo.email", "profile": f"{SCOPE}userinfo.profile"}


@dataclass
class Account:
    email: str
    name: str
    sub: str = field(default_factory=lambda: str(secrets.randbelow(10**20) + 10**20))
    roles: list = field(default_factory=list)  # role ids assigned directly
    groups: list = field(default_factory=list)  # group emails whose role assignments apply indirectly
    org_unit_roles: list = field(default_factory=list)  # (role id, org unit id): a role limited to one OU
    signature: str = ""


@dataclass
class Grant:
    email: str
    scopes: list
    revoked: bool = False


@dataclass
class Code:
    redirect_uri: str
    challenge: str
    grant: Grant
    nonce: str
    offline: bool
    used: bool = False
    at: float = field(default_factory=time.time)


def _role(role_id, name, description, privileges, super_admin=False) -> dict:
    return {
        "kind": "admin#directory#role",
        "etag": f'"{secrets.token_hex(8)}"',
        "roleId": role_id,
        "roleName": name,
        "roleDescription": description,
        "rolePrivileges": [{"privilegeName": p, "serviceId": s} for p, s in privileges],
        "isSystemRole": True,
        "isSuperAdminRole": super_admin,
    }


class FakeGoogle(FakeServer):
    name = "google"
    SUPER_ADMIN_ROLE = "9170516996784129"
    GROUPS_ADMIN_ROLE = "9170516996784130"
    USER_ADMIN_ROLE = "9170516996784131"
    HELP_DESK_ROLE = "9170516996784132"

    def __init__(self, domain: str = "example.org", organisation: str = "Example Org"):
        super().__init__()
        self.client_id = f"{secrets.randbelow(10**12)}-fake.apps.googleusercontent.com"
        self.client_secret = "GOCSPX-" + secrets.token_urlsafe(21)
        self.customer_id = "C0" + secrets.token_hex(4)
        self.domain = domain
        self.organisation = organisation
        self.kid = secrets.token_hex(8)
        self.page_size = 100
        self.roles = [
            _role(self.SUPER_ADMIN_ROLE, "_SEED_ADMIN_ROLE", "Google Workspace Administrator Seed Role",
                  [("SUPER_ADMIN", "01ci93xb3tmzyin"), ("ROOT_APP_ADMIN", "00haapch16h1ysv")], super_admin=True),
            _role(self.GROUPS_ADMIN_ROLE, "_GROUPS_ADMIN_ROLE", "Groups Administrator",
                  [("ADMIN_APIS_ACCESS", "00haapch16h1ysv"), ("GROUPS_ALL", "00haapch16h1ysv")]),
            _role(self.USER_ADMIN_ROLE, "_USER_MANAGEMENT_ADMIN_ROLE", "User Management Administrator",
                  [("USERS_ALL", "00haapch16h1ysv"), ("ADMIN_APIS_ACCESS", "00haapch16h1ysv")]),
            _role(self.HELP_DESK_ROLE, "_HELP_DESK_ADMIN_ROLE", "Help Desk Administrator",
                  [("USERS_RETRIEVE", "00haapch16h1ysv"), ("ADMIN_APIS_ACCESS", "00haapch16h1ysv")]),
        ]  # fmt: skip
        self.accounts: dict[str, Account] = {}
        self.group_roles: dict[str, list] = {}  # group email -> role ids (indirect assignments)
        self.codes: dict[str, Code] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, tuple[Grant, float]] = {}
        self.revocations: list[str] = []  # every token sent to /revoke
        self.signature_updates: list[
            tuple[str, str]
        ] = []  # (email, signature) of every accepted sendAs patch
        self.authorize_requests: list[dict] = []
        self.grant_only: set | None = None  # scopes granted when the person unticks some (None: all asked)
        self.consent_denied = False
        self.require_pkce = (
            False  # Google accepts a web client without PKCE; True proves the product sends it
        )
        self.consented: set[str] = set()  # accounts that already granted this client offline access
        admin = self.add_account(f"ada@{domain}", "Ada Lovelace")
        admin.roles.append(self.SUPER_ADMIN_ROLE)
        self.signed_in = admin.email

    # --- configuration -------------------------------------------------------------------------------------

    def add_account(self, email: str, name: str, roles=(), groups=()) -> Account:
        account = Account(email=email, name=name, roles=list(roles), groups=list(groups))
        self.accounts[email] = account
        return account

    def assign_role(self, email: str, role_id: str):
        self.accounts[email].roles.append(role_id)

    def unassign_roles(self, email: str):
        self.accounts[email].roles.clear()
        self.accounts[email].org_unit_roles.clear()

    def assign_role_in_org_unit(self, email: str, role_id: str, org_unit_id: str = "03ph8a2z1enx4"):
        """A role held for one organisational unit only (scopeType ORG_UNIT), not the whole customer."""
        self.accounts[email].org_unit_roles.append((role_id, org_unit_id))

    def add_role(self, name: str, privileges: list[tuple[str, str]], super_admin: bool = False) -> str:
        role_id = str(secrets.randbelow(10**16) + 10**16)
        role = _role(role_id, name, "Custom role", privileges, super_admin)
        role["isSystemRole"] = False
        self.roles.append(role)
        return role_id

    def sign_in_as(self, email: str):
        self.signed_in = email

    def revoke_all(self):
        """The person removes the app at myaccount.google.com: every token of every grant stops working."""
        with self._lock:
            for grant in self.refresh_tokens.values():
                grant.revoked = True
            for grant, _ in self.access_tokens.values():
                grant.revoked = True

    def expire_access_tokens(self):
        with self._lock:
            self.access_tokens = {t: (g, 0.0) for t, (g, _) in self.access_tokens.items()}

    def issue_access_token(self, scopes, email: str | None = None) -> str:
        token = "ya29." + secrets.token_urlsafe(60)
        with self._lock:
            self.access_tokens[token] = (
                Grant(email or self.signed_in, list(scopes)),
                time.time() + TOKEN_LIFETIME,
            )
        return token

    def requested_scopes(self) -> list[set]:
        """The scope set of every authorisation request, in order (short names as sent)."""
        return [set(q.get("scope", "").split()) for q in self.authorize_requests]

    def granted_scopes(self) -> list[set]:
        """The scope set of every grant the consent screen produced, in order (full scope names)."""
        return [set(code.grant.scopes) for code in self.codes.values()]

    def is_api(self, path: str) -> bool:
        return path.startswith(("/admin/", "/gmail/"))

    def failure_reply(self, status: int, retry_after) -> Reply:
        reason, state = {
            429: ("rateLimitExceeded", "RESOURCE_EXHAUSTED"),
            503: ("backendError", "UNAVAILABLE"),
        }.get(status, ("backendError", "INTERNAL"))
        return google_error(
            status,
            "Quota exceeded or backend unavailable. Retry later.",
            reason,
            state,
            retry_after_header(retry_after),
        )

    # --- HTTP ----------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = unquote(request.path)
        routes = {
            ("GET", "/.well-known/openid-configuration"): lambda: json_reply(200, self.discovery()),
            ("GET", "/oauth2/v3/certs"): lambda: json_reply(200, self.jwks()),
            ("GET", "/o/oauth2/v2/auth"): lambda: self.authorize(request.query),
            ("POST", "/token"): lambda: self.token(request),
            ("POST", "/revoke"): lambda: self.revoke(request),
            ("GET", "/v1/userinfo"): lambda: self.userinfo(request),
        }
        if (request.method, path) in routes:
            return routes[(request.method, path)]()
        if path.startswith("/admin/directory/v1/"):
            return admin_route(self, request, path[len("/admin/directory/v1/") :])
        if path.startswith("/gmail/v1/users/"):
            return gmail_route(self, request, path[len("/gmail/v1/users/") :])
        return google_error(404, "Not Found", "notFound", "NOT_FOUND")

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/o/oauth2/v2/auth",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/v1/userinfo",
            "revocation_endpoint": f"{self.url}/revoke",
            "jwks_uri": f"{self.url}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["plain", "S256"],
        }

    def jwks(self) -> dict:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key("google").public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict) -> Reply:
        with self._lock:
            self.authorize_requests.append(dict(query))
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id:
            return text_reply(401, "Error 401: invalid_client. The OAuth client was not found.")
        if urlsplit(redirect_uri).hostname not in {"127.0.0.1", "localhost", "testserver"}:
            return text_reply(400, "Error 400: redirect_uri_mismatch")

        def back(**params):
            params = {k: v for k, v in params.items() if v}
            return redirect(
                f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode({**params, 'state': state})}"
            )

        if query.get("response_type") != "code":
            return back(error="unsupported_response_type")
        asked = [SHORT_SCOPES.get(s, s) for s in query.get("scope", "").split()]
        if not asked:
            return back(error="invalid_request", error_description="Missing required parameter: scope")
        challenge = query.get("code_challenge", "")
        if self.require_pkce and not challenge:
            return back(
                error="invalid_request", error_description="Missing required parameter: code_challenge"
            )
        if challenge and query.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="Invalid code_challenge_method")
        if self.consent_denied:
            return back(error="access_denied")
        granted = [s for s in asked if self.grant_only is None or s in self.grant_only or s == "openid"]
        code = "4/0" + secrets.token_urlsafe(40)
        with self._lock:
            self.codes[code] = Code(
                redirect_uri=redirect_uri,
                challenge=challenge,
                grant=Grant(self.signed_in, granted),
                nonce=query.get("nonce", ""),
                # Google hands out a refresh token at the first consent only, unless prompt=consent asks again.
                offline=query.get("access_type") == "offline"
                and ("consent" in query.get("prompt", "").split() or self.signed_in not in self.consented),
            )
            self.consented.add(self.signed_in)
        return back(code=code, scope=" ".join(granted), authuser="0", hd=self.domain, prompt="consent")

    def _client_ok(self, request: Request, form: dict) -> bool:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        authorization = request.header("authorization")
        if authorization.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                return False
            client_id, secret = unquote(client_id), unquote(secret)
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def token(self, request: Request) -> Reply:
        form = request.form
        if not self._client_ok(request, form):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        if form.get("grant_type") == "authorization_code":
            with self._lock:
                code = self.codes.get(form.get("code", ""))
                if code is None or code.used or time.time() - code.at > 600:
                    return _oauth_error(400, "invalid_grant", "Malformed auth code.")
                code.used = True
            if code.redirect_uri != form.get("redirect_uri"):
                return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            verifier = form.get("code_verifier", "")
            if (
                code.challenge
                and base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                != code.challenge
            ):
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
            if not code.challenge and verifier:
                return _oauth_error(400, "invalid_grant", "code_verifier or verifier is not needed.")
            body = self._tokens(code.grant, code.nonce)
            if code.offline:
                refresh = "1//0" + secrets.token_urlsafe(70)
                with self._lock:
                    self.refresh_tokens[refresh] = code.grant
                body["refresh_token"] = refresh
                body["refresh_token_expires_in"] = 604799 * 26
            return json_reply(200, body, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"})
        if form.get("grant_type") == "refresh_token":
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            return json_reply(
                200,
                self._tokens(grant, ""),
                {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
            )
        return _oauth_error(
            400, "unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", "")
        )

    def _tokens(self, grant: Grant, nonce: str) -> dict:
        access = "ya29." + secrets.token_urlsafe(60)
        with self._lock:
            self.access_tokens[access] = (grant, time.time() + TOKEN_LIFETIME)
        body = {
            "access_token": access,
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if "openid" in grant.scopes:
            body["id_token"] = self.id_token(grant, nonce)
        return body

    def id_token(self, grant: Grant, nonce: str = "") -> str:
        account = self.accounts[grant.email]
        now = int(time.time())
        claims = {"iss": self.url, "azp": self.client_id, "aud": self.client_id, "sub": account.sub, "hd": self.domain,
                  "iat": now, "exp": now + TOKEN_LIFETIME, "at_hash": secrets.token_urlsafe(16)}  # fmt: skip
        if SHORT_SCOPES["email"] in grant.scopes:
            claims.update(email=account.email, email_verified=True)
        if SHORT_SCOPES["profile"] in grant.scopes:
            given, _, family = account.name.partition(" ")
            claims.update(name=account.name, given_name=given, family_name=family)
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, rsa_key("google"), algorithm="RS256", headers={"kid": self.kid})

    def revoke(self, request: Request) -> Reply:
        token = request.form.get("token") or request.query.get("token", "")
        with self._lock:
            self.revocations.append(token)
            grant = self.refresh_tokens.get(token) or (self.access_tokens.get(token) or (None,))[0]
            if grant is None or grant.revoked:
                return _oauth_error(400, "invalid_token", "Token expired or revoked")
            grant.revoked = True  # revoking either token ends the whole grant
        return json_reply(200, {})

    def caller(self, request: Request, needed: set | None = None):
        """(grant, account) behind the bearer token, or the error reply Google gives."""
        entry = self.access_tokens.get(request.bearer)
        if entry is None or entry[0].revoked or entry[1] < time.time():
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                "authError",
                "UNAUTHENTICATED",
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        grant = entry[0]
        if needed and not needed & set(grant.scopes):
            return google_error(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                "PERMISSION_DENIED",
            )
        return grant, self.accounts[grant.email]

    def userinfo(self, request: Request) -> Reply:
        checked = self.caller(request)
        if isinstance(checked, Reply):
            return checked
        grant, account = checked
        info = {"sub": account.sub, "hd": self.domain}
        if SHORT_SCOPES["email"] in grant.scopes:
            info.update(email=account.email, email_verified=True)
        if SHORT_SCOPES["profile"] in grant.scopes:
            given, _, family = account.name.partition(" ")
            info.update(name=account.name, given_name=given, family_name=family, picture="")
        return json_reply(200, info)


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return json_reply(
        status, {"error": error, "error_description": description}, {"Cache-Control": "no-store"}
    )
