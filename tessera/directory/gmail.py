"""Gmail signatures through a service account with domain-wide delegation: users.settings.sendAs.patch only.

Setting another person's signature needs that person's own token: the service account (key from the
environment) signs a JWT naming the member as `sub`, and Google's token endpoint answers an access token
for that member alone, limited to gmail.settings.basic (RFC 7523, authlib). For Gmail the allowlist holds
one call, sendAs.patch; any other request raises `CallForbidden` before it leaves.
"""

import json
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc7523 import JWTBearerGrant
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from joserfc.jwk import RSAKey

from .providers import DirectoryError, allow, guard_hook, timeout

SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SENDAS_PATH = r"/gmail/v1/users/[^/]+/settings/sendAs/[^/]+"
# Gmail's quotas: sendAs.patch costs 100 units; 1,200,000 units a minute per project.
PATCH_UNITS = 100
PROJECT_UNITS_PER_MINUTE = 1_200_000
TOKEN_MARGIN = 120  # seconds before expiry when a member's access token is fetched again
RETRY_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"})


class ServiceAccountMissing(DirectoryError):
    code = "service_account_missing"
    default_message = _(
        "Signatures cannot be pushed to Gmail: this installation has no Google service account. "
        "Its operator must set one up."
    )


class DelegationMissing(DirectoryError):
    code = "delegation_missing"
    default_message = _(
        "Google refused the service account: domain-wide delegation with the Gmail settings scope is not "
        "granted in the Google Admin console."
    )


class GmailRefused(DirectoryError):
    """Google refused this member's signature; `detail` holds Google's own message."""

    code = "gmail_refused"


class GmailBusy(DirectoryError):
    """429, 5xx or a rate limit: try again after `retry_after` seconds (None: back off on our own)."""

    code = "gmail_busy"

    def __init__(
        self,
        *,
        detail: str = "",
        retry_after: float | None = None,
        per_user: bool = False,
        uncertain: bool = False,
    ):
        self.retry_after = retry_after
        self.per_user = per_user
        # A 5xx or a lost connection after the request left: Google may have applied it.
        self.uncertain = uncertain
        super().__init__(detail=detail)


def _config() -> dict:
    return settings.DIRECTORY


def allowed_calls() -> list:
    c = _config()
    return [
        allow("POST", c["GOOGLE_TOKEN_URL"]),
        allow("PATCH", c["GOOGLE_GMAIL_URL"], SENDAS_PATH),
    ]


def service_account() -> dict | None:
    """The service account's JSON key: the variable holds the JSON itself or the path of its file."""
    raw = str(_config().get("GOOGLE_SERVICE_ACCOUNT_KEY") or "").strip()
    if not raw:
        return None
    if not raw.startswith("{"):
        raw = Path(raw).read_text()
    key = json.loads(raw)
    if not all(key.get(name) for name in ("client_email", "private_key", "client_id")):
        raise ServiceAccountMissing(detail="the key lacks client_email, private_key or client_id")
    return key


def service_account_client_id() -> str:
    """The numeric client id an administrator grants domain-wide delegation to (not a secret)."""
    try:
        key = service_account()
    except (OSError, ValueError, DirectoryError):
        return ""
    return str(key["client_id"]) if key else ""


class _Budget:
    """The project quota, shared by the threads of this process: waits rather than spend beyond it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0.0

    def spend(self, units: int) -> None:
        per_minute = float(_config().get("GMAIL_UNITS_PER_MINUTE") or PROJECT_UNITS_PER_MINUTE)
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + units * 60.0 / per_minute
        if start > now:
            time.sleep(start - now)


BUDGET = _Budget()


def _google_error(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) of Google's JSON error body, or of an OAuth error."""
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        errors = error.get("errors") or [{}]
        reason = str(errors[0].get("reason") or error.get("status") or "")
        return reason, str(error.get("message") or reason)[:500]
    if isinstance(error, str):  # the token endpoint: {"error": "invalid_grant", "error_description": ...}
        return error, str(body.get("error_description") or error)[:500]
    return "", f"HTTP {response.status_code}"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def _raise_for(response: httpx.Response) -> None:
    reason, message = _google_error(response)
    status = response.status_code
    if status == 429 or status >= 500 or (status == 403 and reason in RETRY_REASONS):
        raise GmailBusy(
            detail=message,
            retry_after=_retry_after(response),
            per_user=reason == "userRateLimitExceeded",
            uncertain=status >= 500,
        )
    if reason == "unauthorized_client":
        raise DelegationMissing(detail=message)
    raise GmailRefused(message=message, detail=message)


class Gmail:
    """One worker's Gmail client: a kept-alive connection and, in memory, each member's access token."""

    def __init__(self):
        key = service_account()
        if key is None:
            raise ServiceAccountMissing()
        self._key = key
        self._signing_key = RSAKey.import_key(key["private_key"])  # parsed once: signing is per member
        self._tokens: dict[str, tuple[str, float]] = {}
        self._http = httpx.Client(
            timeout=timeout(), follow_redirects=False, event_hooks={"request": [guard_hook(allowed_calls())]}
        )

    def close(self) -> None:
        self._http.close()

    def _token(self, email: str) -> str:
        held = self._tokens.get(email)
        if held and time.monotonic() < held[1]:
            return held[0]
        token_url = _config()["GOOGLE_TOKEN_URL"]
        assertion = JWTBearerGrant.sign(
            key=self._signing_key,
            issuer=self._key["client_email"],
            audience=token_url,
            subject=email,
            claims={"scope": SCOPE},
            header={"alg": "RS256", "kid": self._key.get("private_key_id", "")},
        )
        try:
            response = self._http.post(token_url, data={"grant_type": JWT_BEARER, "assertion": assertion})
        except httpx.TransportError as error:
            raise GmailBusy(detail=type(error).__name__) from None
        if response.status_code != 200:
            _raise_for(response)
        body = response.json()
        lifetime = int(body.get("expires_in") or 3600)
        self._tokens[email] = (body["access_token"], time.monotonic() + max(lifetime - TOKEN_MARGIN, 30))
        return body["access_token"]

    def _patch(self, email: str, body: dict) -> dict:
        token = self._token(email)
        address = quote(email, safe="@")
        url = (
            f"{_config()['GOOGLE_GMAIL_URL'].rstrip('/')}/gmail/v1/users/{address}/settings/sendAs/{address}"
        )
        BUDGET.spend(PATCH_UNITS)
        try:
            response = self._http.patch(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as error:
            raise GmailBusy(detail=type(error).__name__, uncertain=True) from None
        if response.status_code == 401:
            self._tokens.pop(email, None)
        if response.status_code != 200:
            _raise_for(response)
        answer = response.json()
        if not isinstance(answer, dict):
            raise GmailRefused(detail="the answer is not a JSON object")
        return answer

    def signature_set(self, *, email: str, signature: str) -> str:
        """users.settings.sendAs.patch of the member's primary address; answers the signature Gmail kept."""
        return str(self._patch(email, {"signature": signature}).get("signature") or "")

    def signature_get(self, *, email: str) -> str:
        """The member's current signature, read with an empty patch: it changes nothing and answers the resource."""
        return str(self._patch(email, {}).get("signature") or "")


class _Fingerprint(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.styles: list[str] = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(str(value))
            elif name == "style" and value:
                # Gmail may respace or reorder declarations; what they say is what counts.
                self.styles.append(
                    ";".join(sorted(d.replace(" ", "").lower() for d in value.split(";") if d.strip()))
                )
            elif name in ("width", "height", "color", "bgcolor", "align") and value:
                self.styles.append(f"{name}={value.strip().lower()}")


def fingerprint(html: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What Gmail's sanitising keeps of a signature: its visible text, links, images and inline styles."""
    parser = _Fingerprint()
    parser.feed(html or "")
    parser.close()
    return " ".join("".join(parser.text).split()), tuple(sorted(parser.links)), tuple(parser.styles)
