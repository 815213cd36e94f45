"""Google Workspace, reached through its documented HTTP APIs: OAuth 2.0 (authlib) and the Admin SDK.

The scopes are the seed's, exactly: identity, read-only role management and customer information, and
Gmail's basic settings (signatures). Members are never read from Google: no scope allows it.
Every call goes through the allowlist below; base URLs come from settings.DIRECTORY.
"""

import secrets
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings

from .providers import (
    DirectoryError,
    NotWorkspaceAdmin,
    ProviderRefused,
    ProviderUnreachable,
    allow,
    guard_hook,
    timeout,
)

SCOPES = (
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/gmail.settings.basic",
)
# Short names Google may answer in the token's `scope` for the identity scopes.
SCOPE_ALIASES = {"email": SCOPES[1], "profile": SCOPES[2]}
# A role assigned on the whole customer that may update users may also manage their Gmail settings
# (docs/decisions/0009-directory-admin-check.md); super administrators always qualify.
ADMIN_PRIVILEGES = frozenset({"USERS_ALL", "USERS_UPDATE"})
DIRECTORY_API = "/admin/directory/v1"
PAGE_LIMIT = 50  # pages of role assignments or roles: far beyond any real workspace


def _config() -> dict:
    return settings.DIRECTORY


def allowed_calls() -> list:
    c = _config()
    api = c["GOOGLE_ADMIN_URL"].rstrip("/") + DIRECTORY_API
    return [
        allow("POST", c["GOOGLE_TOKEN_URL"]),
        allow("POST", c["GOOGLE_REVOKE_URL"]),
        allow("GET", c["GOOGLE_USERINFO_URL"]),
        allow("GET", api, r"/customer/my_customer/roleassignments"),
        allow("GET", api, r"/customer/my_customer/roles"),
        allow("GET", api, r"/customers/my_customer"),
    ]


def _client(*, redirect_uri: str | None = None, access_token: str | None = None) -> OAuth2Client:
    c = _config()
    return OAuth2Client(
        client_id=c["GOOGLE_CLIENT_ID"],
        client_secret=c["GOOGLE_CLIENT_SECRET"],
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
        redirect_uri=redirect_uri,
        token={"access_token": access_token, "token_type": "Bearer"} if access_token else None,
        timeout=timeout(),
        follow_redirects=False,
        event_hooks={"request": [guard_hook(allowed_calls())]},
    )


@contextmanager
def _translated():
    """Transport and protocol failures become the typed errors a page can explain."""
    try:
        yield
    except DirectoryError:
        raise
    except OAuthError as error:
        raise ProviderRefused(detail=error.error or "oauth_error", oauth_error=error.error or "") from None
    except httpx.TransportError as error:
        raise ProviderUnreachable(detail=type(error).__name__) from None
    except httpx.HTTPStatusError as error:
        _raise_for(error.response)
    except ValueError as error:  # a body that is not the JSON object the API documents
        raise ProviderRefused(detail=f"unreadable answer: {error}"[:200]) from None


def _raise_for(response: httpx.Response, *, admin_api: bool = False) -> None:
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnreachable(detail=f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    reason = error.get("status") or error.get("message") if isinstance(error, dict) else str(error or "")
    if response.status_code == 403 and admin_api:  # the Admin SDK's answer to someone who is not an admin
        raise NotWorkspaceAdmin(detail=f"HTTP 403 {reason or ''}".strip())
    raise ProviderRefused(detail=f"HTTP {response.status_code} {reason or ''}".strip())


def _get(client: OAuth2Client, url: str, params: dict | None = None, *, admin_api: bool = True) -> dict:
    response = client.get(url, params=params or {})
    if response.status_code != 200:
        _raise_for(response, admin_api=admin_api)
    body = response.json()
    if not isinstance(body, dict):
        raise ProviderRefused(detail="the answer is not a JSON object")
    return body


@dataclass(frozen=True)
class AuthorisationStart:
    url: str
    state: str
    verifier: str  # the PKCE code verifier: kept in the server-side session, never sent to the browser


def authorisation_start(*, redirect_uri: str) -> AuthorisationStart:
    verifier = secrets.token_urlsafe(64)
    with _client(redirect_uri=redirect_uri) as client:
        url, state = client.create_authorization_url(
            _config()["GOOGLE_AUTHORIZE_URL"],
            state=secrets.token_urlsafe(32),
            code_verifier=verifier,
            scope=" ".join(SCOPES),
            # A refresh token is only issued offline, and again only when consent is asked again.
            access_type="offline",
            prompt="consent",
        )
    return AuthorisationStart(url=url, state=state, verifier=verifier)


def granted_scopes(token: dict) -> set[str]:
    return {SCOPE_ALIASES.get(scope, scope) for scope in str(token.get("scope", "")).split()}


def code_exchange(*, code: str, verifier: str, redirect_uri: str) -> dict:
    """The token endpoint's answer: access_token, refresh_token (offline), expires_in, scope, id_token."""
    with _translated(), _client(redirect_uri=redirect_uri) as client:
        token = client.fetch_token(
            _config()["GOOGLE_TOKEN_URL"], grant_type="authorization_code", code=code, code_verifier=verifier
        )
    return dict(token)


def access_token_refresh(*, refresh_token: str) -> dict:
    with _translated(), _client() as client:
        token = client.refresh_token(_config()["GOOGLE_TOKEN_URL"], refresh_token=refresh_token)
    return dict(token)


def token_revoke(*, token: str) -> bool:
    """Ask Google to revoke the grant; True when it did or the token was already invalid."""
    with _translated(), _client() as client:
        response = client.revoke_token(_config()["GOOGLE_REVOKE_URL"], token=token)
    if response.status_code == 200:
        return True
    if response.status_code == 400:
        return True  # invalid_token: nothing left to revoke
    _raise_for(response)
    return False


def identity(*, access_token: str) -> dict:
    """Who granted access: {"sub", "email", "email_verified", "name", ...} (OpenID Connect userinfo)."""
    with _translated(), _client(access_token=access_token) as client:
        claims = _get(client, _config()["GOOGLE_USERINFO_URL"], admin_api=False)
    if not claims.get("sub") or not claims.get("email"):
        raise ProviderRefused(detail="userinfo without sub or email")
    return claims


def _pages(client: OAuth2Client, url: str, params: dict) -> list[dict]:
    items: list[dict] = []
    token = ""
    for _ in range(PAGE_LIMIT):
        body = _get(client, url, {**params, **({"pageToken": token} if token else {})})
        items.extend(item for item in body.get("items") or [] if isinstance(item, dict))
        token = body.get("nextPageToken") or ""
        if not token:
            return items
    raise ProviderRefused(detail="too many pages")


@dataclass(frozen=True)
class AdminCheck:
    is_admin: bool
    roles: tuple[str, ...]  # names of the roles that qualified (or all the person holds when none did)


def admin_check(*, access_token: str, user_key: str) -> AdminCheck:
    """roleAssignments.list (indirect included) and roles.list: a super admin, or a customer-wide user editor.

    A 403 from the Admin SDK means the person may not even read roles: not an administrator.
    """
    api = _config()["GOOGLE_ADMIN_URL"].rstrip("/") + DIRECTORY_API
    with _translated(), _client(access_token=access_token) as client:
        try:
            assignments = _pages(
                client,
                f"{api}/customer/my_customer/roleassignments",
                {"userKey": user_key, "includeIndirectRoleAssignments": "true", "maxResults": "100"},
            )
        except NotWorkspaceAdmin:
            return AdminCheck(is_admin=False, roles=())
        if not assignments:
            return AdminCheck(is_admin=False, roles=())
        roles = {
            str(role.get("roleId")): role
            for role in _pages(client, f"{api}/customer/my_customer/roles", {"maxResults": "100"})
        }
    held, qualifying = [], []
    for assignment in assignments:
        role = roles.get(str(assignment.get("roleId")))
        if role is None:
            continue
        held.append(str(role.get("roleName", "")))
        if _qualifies(role, assignment):
            qualifying.append(str(role.get("roleName", "")))
    return AdminCheck(is_admin=bool(qualifying), roles=tuple(sorted(set(qualifying or held))))


def _qualifies(role: dict, assignment: dict) -> bool:
    if role.get("isSuperAdminRole") is True:
        return True
    # A role limited to an organisational unit, or granted under a condition, does not cover the workspace.
    if assignment.get("scopeType", "CUSTOMER") != "CUSTOMER" or assignment.get("condition"):
        return False
    privileges = {
        str(p.get("privilegeName", "")) for p in role.get("rolePrivileges") or [] if isinstance(p, dict)
    }
    return bool(privileges & ADMIN_PRIVILEGES)


def customer(*, access_token: str) -> dict:
    """customers.get(my_customer): {"id", "name", "domain"} for the integration page."""
    api = _config()["GOOGLE_ADMIN_URL"].rstrip("/") + DIRECTORY_API
    with _translated(), _client(access_token=access_token) as client:
        body = _get(client, f"{api}/customers/my_customer")
    address = body.get("postalAddress") if isinstance(body.get("postalAddress"), dict) else {}
    domain = str(body.get("customerDomain") or "")
    return {
        "id": str(body.get("id") or ""),
        "name": str(address.get("organizationName") or domain)[:200],
        "domain": domain[:255],
    }
