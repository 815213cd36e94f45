"""Microsoft Entra ID, reached through the Microsoft identity platform (msal) and Microsoft Graph.

An organisation's administrator signs in with the authorisation code flow and PKCE, and consents to the
seed's delegated permissions, exactly. Graph permissions are requested by their bare names, which the
identity platform reads as Microsoft Graph's. msal adds openid, profile and offline_access itself and
refuses them as arguments, so they are not passed; the authorisation URL carries the full set.
Every request msal or this module makes goes through the allowlist below.
"""

import warnings

import msal
import requests
from django.conf import settings

from .providers import (
    ConsentRefused,
    DirectoryError,
    FlowInvalid,
    ProviderRefused,
    ProviderUnreachable,
    ScopesMissing,
    TokenRevoked,
    allow,
    call_check,
    timeout,
)

GRAPH_PERMISSIONS = (
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
)
RESERVED_SCOPES = ("openid", "profile", "offline_access")  # msal adds these to every request
SCOPES = frozenset({*GRAPH_PERMISSIONS, *RESERVED_SCOPES, "email"})
GRAPH_RESOURCE = "https://graph.microsoft.com/"
# Entra's answers that mean "no consent": the user declined, or the tenant's administrator must grant it.
CONSENT_CODES = ("AADSTS65001", "AADSTS65004", "AADSTS90094", "AADSTS90008", "AADSTS650056")
# No answer, or one that is not the identity platform's JSON (msal raises MsalServiceError on a 5xx).
UNREACHABLE = (requests.RequestException, msal.exceptions.MsalServiceError)
ORGANISATIONS = "organizations"  # any work or school tenant may connect; the tenant comes from the id_token


def _config() -> dict:
    return settings.DIRECTORY


def _authority(tenant: str) -> str:
    return f"{_config()['MICROSOFT_AUTHORITY_HOST'].rstrip('/')}/{tenant}"


def allowed_calls(tenant: str = ORGANISATIONS) -> list:
    host = _config()["MICROSOFT_AUTHORITY_HOST"].rstrip("/")
    tenant_part = r"/(organizations|[0-9a-fA-F-]{36})"
    return [
        allow("GET", host, tenant_part + r"/v2\.0/\.well-known/openid-configuration"),
        allow("POST", host, tenant_part + r"/oauth2/v2\.0/token"),
        allow("GET", _config()["GRAPH_URL"], r"/organization"),
    ]


class _GuardedSession(requests.Session):
    """msal's HTTP client: each request is checked against the allowlist before it is sent."""

    def __init__(self, allowed):
        super().__init__()
        self._allowed = allowed

    def request(self, method, url, *args, **kwargs):
        call_check(self._allowed, method, url)
        kwargs.setdefault("timeout", timeout())
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def _app(tenant: str = ORGANISATIONS) -> msal.ConfidentialClientApplication:
    c = _config()
    try:
        return msal.ConfidentialClientApplication(
            c["MICROSOFT_CLIENT_ID"],
            client_credential=c["MICROSOFT_CLIENT_SECRET"],
            authority=_authority(tenant),
            http_client=_GuardedSession(allowed_calls()),
            # The authority is configured, not discovered: no call to a discovery service.
            instance_discovery=False,
            # Tokens live in this object only, for the length of one job.
            token_cache=msal.TokenCache(),
        )
    except UNREACHABLE as error:
        raise ProviderUnreachable(detail=type(error).__name__) from None
    except ValueError as error:  # msal could not read the authority's configuration
        raise ProviderUnreachable(detail=str(error)[:200]) from None


def authorisation_start(*, redirect_uri: str) -> dict:
    """msal's auth code flow (state, nonce, PKCE verifier): kept whole in the server-side session."""
    app = _app()
    with warnings.catch_warnings():
        # The query response mode on purpose: the session cookie (SameSite=Lax) that binds the state to the
        # administrator does not come with a cross-site form_post, and the code is useless without the
        # PKCE verifier and the client secret, both server-side.
        warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
        flow = app.initiate_auth_code_flow(
            scopes=[*GRAPH_PERMISSIONS, "email"],
            redirect_uri=redirect_uri,
            prompt="select_account",
            response_mode="query",
        )
    if "error" in flow:
        raise ProviderRefused(detail=str(flow.get("error")))
    return flow


def _refusal(result: dict) -> DirectoryError:
    error = str(result.get("error") or "")
    description = str(result.get("error_description") or "")
    codes = {f"AADSTS{code}" for code in result.get("error_codes") or []}
    detail = f"{error}: {description}"[:500]
    if error in {"access_denied", "consent_required"} or any(
        code in codes or f"{code}:" in description for code in CONSENT_CODES
    ):
        return ConsentRefused(detail=detail)
    return ProviderRefused(detail=detail, oauth_error=error)


def granted(scope: str) -> set[str]:
    """The permissions a token's `scope` names, with Graph's resource prefix dropped."""
    return {
        item[len(GRAPH_RESOURCE) :] if item.lower().startswith(GRAPH_RESOURCE) else item
        for item in scope.split()
    }


def authorisation_complete(*, flow: dict, query: dict) -> dict:
    """Redeem the code: {"access_token", "refresh_token", "expires_in", "tenant_id", "account", "name"}."""
    if query.get("error"):
        raise _refusal(query)
    try:
        result = _app().acquire_token_by_auth_code_flow(flow, query)
    except ValueError:  # state or nonce mismatch, or a flow without a verifier
        raise FlowInvalid() from None
    except UNREACHABLE as error:
        raise ProviderUnreachable(detail=type(error).__name__) from None
    if "error" in result:
        refusal = _refusal(result)
        if isinstance(refusal, ProviderRefused) and refusal.oauth_error == "invalid_grant":
            raise FlowInvalid(detail=refusal.detail)
        raise refusal
    # Scope names are case-insensitive at Entra.
    have = {scope.lower() for scope in granted(str(result.get("scope", "")))}
    missing = {permission for permission in GRAPH_PERMISSIONS if permission.lower() not in have}
    if missing:
        raise ScopesMissing(detail=" ".join(sorted(missing)))
    if not result.get("refresh_token"):
        raise ProviderRefused(detail="no refresh token: offline_access was not granted")
    claims = result.get("id_token_claims") or {}
    tenant = str(claims.get("tid") or "")
    if not tenant:
        raise ProviderRefused(detail="the id_token names no tenant (tid)")
    return {
        "access_token": result["access_token"],
        "refresh_token": result["refresh_token"],
        "expires_in": int(result.get("expires_in") or 3600),
        "tenant_id": tenant,
        "account": str(claims.get("preferred_username") or claims.get("email") or "")[:254],
        "name": str(claims.get("name") or ""),
    }


def access_token_refresh(*, refresh_token: str, tenant: str) -> dict:
    """A new access token (and the rotated refresh token); TokenRevoked when Entra no longer honours it."""
    try:
        result = _app(tenant).acquire_token_by_refresh_token(refresh_token, scopes=list(GRAPH_PERMISSIONS))
    except UNREACHABLE as error:
        raise ProviderUnreachable(detail=type(error).__name__) from None
    if "error" in result:
        if str(result["error"]) in {"invalid_grant", "interaction_required"}:
            raise TokenRevoked(detail=str(result.get("error_description") or result["error"])[:500])
        raise _refusal(result)
    return {
        "access_token": result["access_token"],
        "refresh_token": result.get("refresh_token") or refresh_token,
        "expires_in": int(result.get("expires_in") or 3600),
    }


def organisation(*, access_token: str) -> dict:
    """Graph GET /organization: {"id", "name", "domain"} (the default verified domain)."""
    session = _GuardedSession(allowed_calls())
    try:
        response = session.get(
            f"{_config()['GRAPH_URL'].rstrip('/')}/organization",
            params={"$select": "id,displayName,verifiedDomains"},
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
    except UNREACHABLE as error:
        raise ProviderUnreachable(detail=type(error).__name__) from None
    finally:
        session.close()
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnreachable(detail=f"HTTP {response.status_code}")
    if response.status_code != 200:
        raise ProviderRefused(detail=f"HTTP {response.status_code}")
    try:
        value = response.json().get("value") or [{}]
    except (ValueError, AttributeError):
        raise ProviderRefused(detail="the answer is not a JSON object") from None
    tenant = value[0] if isinstance(value[0], dict) else {}
    domains = [d for d in tenant.get("verifiedDomains") or [] if isinstance(d, dict)]
    default = next((d for d in domains if d.get("isDefault")), domains[0] if domains else {})
    return {
        "id": str(tenant.get("id") or ""),
        "name": str(tenant.get("displayName") or "")[:200],
        "domain": str(default.get("name") or "")[:255],
    }
