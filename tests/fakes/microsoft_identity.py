"""The Microsoft identity platform (v2.0 endpoints) part of the Microsoft fake, as msal talks to it.

msal fetches {authority}/v2.0/.well-known/openid-configuration, then uses its authorization and token
endpoints; the admin consent endpoint is /{tenant}/v2.0/adminconsent. Access tokens are opaque strings
that only the fake's Graph accepts; refresh tokens rotate on every use (Entra keeps the old one valid until
it expires or is revoked) and a revoked or expired one answers invalid_grant with an AADSTS code, as Entra does.
"""

import base64
import datetime
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit

import jwt

from tests.fakes.fake_http import Reply, Request, json_reply, redirect, text_reply
from tests.fakes.oidc import rsa_key

TOKEN_LIFETIME = 3599
CODE_LIFETIME = 600
# Scopes Entra never lists in a token response's `scope` (they are about the sign-in, not Graph).
OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
GRAPH = "https://graph.microsoft.com/"
# The delegated permissions of the fake's app registration: what "<resource>/.default" stands for.
REGISTERED = ["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All",
              "Group.Read.All", "Group.ReadWrite.All", "User.Read"]  # fmt: skip


def scopes_granted(requested: list, registered: list) -> list:
    """Graph scopes by their short names, ".default" expanded to the app's registered permissions."""
    granted = []
    for scope in requested:
        short = scope[len(GRAPH) :] if scope.startswith(GRAPH) else scope
        for name in registered if short == ".default" else [short]:
            if name not in granted:
                granted.append(name)
    return granted


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scopes: list
    challenge: str
    nonce: str
    user_id: str
    issued_at: float = field(default_factory=time.time)
    used: bool = False


@dataclass
class Grant:
    """What a refresh token (and its access tokens) stand for."""

    user_id: str
    scopes: list
    revoked: bool = False
    expires_at: float = 0.0


@dataclass
class AccessToken:
    user_id: str
    scopes: list
    expires_at: float


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdentityPlatform:
    """Mixed into FakeMicrosoft: sign-in, admin consent and tokens for one tenant and one registered app."""

    def _identity_init(self):
        self.tenant_id = str(uuid.uuid4())
        self.client_id = str(uuid.uuid4())
        self.client_secret = secrets.token_urlsafe(24)
        self.kid = secrets.token_hex(8)
        self.require_pkce = True
        self.consent_denied = False  # the admin presses "Cancel" on the consent screen
        self.admin_consents: list[dict] = []  # one entry per completed admin consent
        self.authorize_requests: list[dict] = []  # query of every authorize request, scopes included
        self.codes: dict[str, Code] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_lifetime = 90 * 86400
        self.signed_in_id = ""  # the person who signs in and consents; set by FakeMicrosoft
        self.registered_permissions = list(REGISTERED)

    # --- helpers for tests ---------------------------------------------------------------------------------

    @property
    def authority_host(self) -> str:
        """MICROSOFT_AUTHORITY_HOST: msal accepts only https authorities."""
        return self.tls_url

    @property
    def authority(self) -> str:
        return f"{self.tls_url}/{self.tenant_id}"

    def revoke_refresh_tokens(self, user_id: str | None = None):
        """What "Revoke sessions" in the Entra admin center does: every refresh token stops working."""
        with self._lock:
            for grant in self.refresh_tokens.values():
                if user_id is None or grant.user_id == user_id:
                    grant.revoked = True

    def expire_refresh_tokens(self):
        with self._lock:
            for grant in self.refresh_tokens.values():
                grant.expires_at = time.time() - 1

    def expire_access_tokens(self):
        with self._lock:
            for token in self.access_tokens.values():
                token.expires_at = time.time() - 1

    def issue_access_token(self, scopes=("Directory.ReadWrite.All",), user_id: str | None = None) -> str:
        """An access token without going through a sign-in, for tests of the Graph part alone."""
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.access_tokens[token] = AccessToken(
                user_id or self.signed_in_id, list(scopes), time.time() + TOKEN_LIFETIME
            )
        return token

    def issue_refresh_token(
        self, scopes=("offline_access", "Directory.ReadWrite.All"), user_id: str | None = None
    ):
        token = "0.A" + secrets.token_urlsafe(96)
        with self._lock:
            self.refresh_tokens[token] = Grant(
                user_id or self.signed_in_id, list(scopes), expires_at=time.time() + self.refresh_lifetime
            )
        return token

    def requested_scopes(self) -> list[set]:
        """The scope sets of every authorize and admin consent request, in order."""
        return [set(q.get("scope", "").split()) for q in self.authorize_requests]

    # --- documents -----------------------------------------------------------------------------------------

    def _known_tenant(self, tenant: str) -> bool:
        return tenant in {self.tenant_id, "organizations", "common", *self.verified_domain_names()}

    def openid_configuration(self, tenant: str) -> dict:
        base = f"{self.tls_url}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{self.tls_url}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            # Entra publishes "{tenantid}" literally for the multi-tenant authorities.
            "issuer": f"{self.tls_url}/{self.tenant_id if tenant not in ('common', 'organizations') else '{tenantid}'}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.url}/oidc/userinfo",
            # The browser is sent here: plain HTTP so a test browser needs no certificate exception.
            "authorization_endpoint": f"{self.url}/{tenant}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{self.url}/{tenant}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "oid",
                "tid",
                "preferred_username",
            ],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def jwks(self) -> dict:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key("microsoft").public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "x5t": self.kid}]}

    def id_token(self, user: dict, nonce: str = "") -> str:
        now = int(time.time())
        payload = {
            "aud": self.client_id,
            "iss": f"{self.tls_url}/{self.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "name": user.get("displayName", ""),
            "oid": user["id"],
            "preferred_username": user.get("userPrincipalName", ""),
            "email": user.get("mail") or "",
            "sub": b64url(hashlib.sha256(f"{user['id']}{self.client_id}".encode()).digest()),
            "tid": self.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            payload["nonce"] = nonce
        return jwt.encode(payload, rsa_key("microsoft"), algorithm="RS256", headers={"kid": self.kid})

    def client_info(self, user_id: str) -> str:
        return b64url(json.dumps({"uid": user_id, "utid": self.tenant_id}).encode())

    # --- endpoints -----------------------------------------------------------------------------------------

    def identity_route(self, request: Request, tenant: str, rest: str) -> Reply | None:
        if not self._known_tenant(tenant):
            return _aad_error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
            )
        if rest == "v2.0/.well-known/openid-configuration" and request.method == "GET":
            return json_reply(200, self.openid_configuration(tenant))
        if rest == "discovery/v2.0/keys" and request.method == "GET":
            return json_reply(200, self.jwks())
        if rest == "oauth2/v2.0/authorize" and request.method == "GET":
            return self.authorize(request.query)
        if rest == "v2.0/adminconsent" and request.method == "GET":
            return self.admin_consent(request.query)
        if rest == "oauth2/v2.0/token" and request.method == "POST":
            return self.token(request.form, request.header("authorization"))
        return None

    def _redirect_uri_ok(self, redirect_uri: str) -> bool:
        return urlsplit(redirect_uri).hostname in {"127.0.0.1", "localhost", "testserver"}

    def authorize(self, query: dict) -> Reply:
        with self._lock:
            self.authorize_requests.append(dict(query))
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id:
            return text_reply(
                400, f"AADSTS700016: Application with identifier '{query.get('client_id')}' was not found."
            )
        if not self._redirect_uri_ok(redirect_uri):
            return text_reply(400, "AADSTS50011: The redirect URI specified in the request does not match.")

        def back(**params):
            params = {k: v for k, v in params.items() if v}
            return redirect(
                f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode({**params, 'state': state})}"
            )

        if query.get("response_type") != "code":
            return back(
                error="unsupported_response_type",
                error_description="AADSTS70005: response_type is not supported.",
            )
        if self.consent_denied:
            return back(
                error="access_denied",
                error_description="AADSTS65004: User declined to consent to access the app.",
            )
        challenge = query.get("code_challenge", "")
        if (self.require_pkce and not challenge) or (
            challenge and query.get("code_challenge_method") != "S256"
        ):
            return back(
                error="invalid_request", error_description="AADSTS501491: Invalid code_challenge parameter."
            )
        code = "1.A" + secrets.token_urlsafe(60)
        with self._lock:
            self.codes[code] = Code(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                scopes=scopes_granted(query.get("scope", "").split(), self.registered_permissions),
                challenge=challenge,
                nonce=query.get("nonce", ""),
                user_id=self.signed_in_id,
            )
        extra = (
            {"client_info": self.client_info(self.signed_in_id)} if query.get("client_info") == "1" else {}
        )
        return back(code=code, session_state=str(uuid.uuid4()), **extra)

    def admin_consent(self, query: dict) -> Reply:
        with self._lock:
            self.authorize_requests.append(dict(query))
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id:
            return text_reply(
                400, f"AADSTS700016: Application with identifier '{query.get('client_id')}' was not found."
            )
        if not self._redirect_uri_ok(redirect_uri):
            return text_reply(400, "AADSTS50011: The redirect URI specified in the request does not match.")
        if self.consent_denied:
            params = {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                "state": state,
            }
        else:
            with self._lock:
                self.admin_consents.append({"scope": query.get("scope", "").split(), "by": self.signed_in_id})
            params = {
                "admin_consent": "True",
                "tenant": self.tenant_id,
                "scope": query.get("scope", ""),
                "state": state,
            }
        return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(params)}")

    def token(self, form: dict, authorization: str = "") -> Reply:
        if authorization.startswith("Basic "):  # client_secret_basic, which Entra accepts too
            try:
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                client_id, secret = "", ""
            form = {**form, "client_id": unquote(client_id), "client_secret": unquote(secret)}
        if form.get("client_id") != self.client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self.client_secret):
            return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._token_from_code(form)
        if grant_type == "refresh_token":
            return self._token_from_refresh(form)
        return _aad_error(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )

    def _token_from_code(self, form: dict) -> Reply:
        with self._lock:
            code = self.codes.get(form.get("code", ""))
            if code is None or code.used or time.time() - code.issued_at > CODE_LIFETIME:
                return _aad_error(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed or is invalid.",
                )
            code.used = True
        if code.redirect_uri != form.get("redirect_uri"):
            return _aad_error(
                400,
                "invalid_grant",
                500112,
                "The reply address does not match the one used to request the code.",
            )
        if code.challenge:
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != code.challenge:
                return _aad_error(
                    400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge."
                )
        return self._tokens(
            code.user_id, code.scopes, nonce=code.nonce, client_info=form.get("client_info") == "1"
        )

    def _token_from_refresh(self, form: dict) -> Reply:
        with self._lock:
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None:
            return _aad_error(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if grant.revoked:
            return _aad_error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
                suberror="bad_token",
            )
        if grant.expires_at < time.time():
            return _aad_error(
                400, "invalid_grant", 700082, "The refresh token has expired due to inactivity."
            )
        scopes = scopes_granted(form.get("scope", "").split(), self.registered_permissions) or grant.scopes
        wanted = set(scopes) - OIDC_SCOPES
        if not wanted <= set(grant.scopes):
            return _aad_error(
                400,
                "invalid_grant",
                65001,
                "The user or administrator has not consented to use the application.",
            )
        return self._tokens(grant.user_id, grant.scopes, client_info=form.get("client_info") == "1")

    def _tokens(self, user_id: str, scopes: list, nonce: str = "", client_info: bool = False) -> Reply:
        access = self.issue_access_token(scopes, user_id)
        body = {
            "token_type": "Bearer",
            "scope": " ".join(
                s for s in scopes if s != "offline_access"
            ),  # as Entra: "User.Read profile openid email"
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": access,
        }
        if "offline_access" in scopes:
            body["refresh_token"] = self.issue_refresh_token(scopes, user_id)
        if "openid" in scopes:
            body["id_token"] = self.id_token(self.user_or_signed_in(user_id), nonce)
        if client_info:
            body["client_info"] = self.client_info(user_id)
        return json_reply(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _aad_error(status: int, error: str, code: int, description: str, suberror: str = "") -> Reply:
    """The identity platform's error body: an OAuth error plus AADSTS code, trace and correlation ids."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
    }
    if suberror:
        body["suberror"] = suberror
    return json_reply(status, body, {"Cache-Control": "no-store"})
