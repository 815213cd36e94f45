"""The Microsoft Graph client of the directory: only the calls the product needs, and nothing that harms.

Every request is checked against ALLOWED, a list of (method, path pattern), before it leaves: a call the
product must never make (deleting an account, changing or resetting a password, touching authentication
methods, a nextLink to another host) raises ForbiddenCall and no byte goes out. Writes carry only the
attributes their operation may change, and each one is recorded in the security log (never the token).

Throttling follows Graph's guidance: a 429 or 503 waits for Retry-After, or backs off exponentially with
jitter without it, up to MAX_ATTEMPTS; `x-ms-throttle-limit-percentage` at or above SLOW_FROM slows the
next requests before a 429 arrives. Errors come back typed: GraphError(status, code, message), with
GraphUnauthorized for a 401 and ResyncRequired for a delta link the service no longer knows.
"""

import random
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx
from django.conf import settings

from tessera.core.audit import security_event_record

# Entra object ids are GUIDs; reads may also name a user by userPrincipalName.
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UPN = r"[A-Za-z0-9._'+-]{1,113}@[A-Za-z0-9.-]{1,253}"

# (method, path under the Graph version root, operation name for the security log or "" for a read).
ALLOWED: list[tuple[str, re.Pattern, str]] = [
    (method, re.compile(pattern), op)
    for method, pattern, op in [
        ("GET", r"/organization", ""),
        ("GET", r"/users/delta", ""),
        ("GET", r"/groups/delta", ""),
        ("GET", rf"/users/(?:{_GUID}|{_UPN})", ""),
        ("GET", rf"/groups/{_GUID}", ""),
        ("PATCH", rf"/users/{_GUID}", "user_update"),
        ("POST", r"/groups", "group_create"),
        ("PATCH", rf"/groups/{_GUID}", "group_update"),
        ("POST", rf"/groups/{_GUID}/members/\$ref", "member_add"),
        ("DELETE", rf"/groups/{_GUID}/members/{_GUID}/\$ref", "member_remove"),
    ]
]
# What a write may carry: the body keys each operation accepts (anything else, passwordProfile
# included, is refused before the request leaves).
BODY_KEYS = {
    "user_update": frozenset({"jobTitle", "businessPhones", "mobilePhone", "department", "officeLocation"}),
    "group_create": frozenset(
        {"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes"}
    ),
    "group_update": frozenset({"displayName", "description"}),
    "member_add": frozenset({"@odata.id"}),
    "member_remove": frozenset(),
}
# Query options a call may carry (delta links use the two tokens): no $expand into other objects.
QUERY_OPTIONS = frozenset({"$select", "$skiptoken", "$deltatoken", "$top"})
# Graph's codes for a delta token it cannot continue from: the whole collection must be read again.
RESYNC_CODES = frozenset(
    {"syncstatenotfound", "syncstateinvalid", "resyncrequired", "resyncapplicationrequired"}
)

MAX_ATTEMPTS = 6
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
RETRY_AFTER_MAX_SECONDS = 300.0
SLOW_FROM = 0.8  # x-ms-throttle-limit-percentage: a share of the limit (0.8 to 1.8 in the documentation)
SLOW_SECONDS = 0.5  # the pause before each request at SLOW_FROM, growing with the share used


class ForbiddenCall(Exception):
    """A Graph call outside the allowlist; raised before anything is sent."""


class GraphError(Exception):
    """An error answer of Graph, parsed from its error format ({"error": {"code", "message"}})."""

    def __init__(self, status: int, code: str = "", message: str = ""):
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}".strip())


class GraphUnauthorized(GraphError):
    """401: the access token was refused (expired or revoked consent)."""


class GraphThrottled(GraphError):
    """Still throttled (429/503) after MAX_ATTEMPTS attempts."""


class ResyncRequired(GraphError):
    """410 Gone or a sync-state error: the delta link is no longer valid, read everything again."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, min(float(value), RETRY_AFTER_MAX_SECONDS))
    except ValueError:
        return None


def _backoff(attempt: int) -> float:
    """The wait after the `attempt`-th throttled answer without Retry-After: doubling, jittered, capped."""
    return min(BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.0)


def _error(response: httpx.Response) -> GraphError:
    try:
        body = response.json().get("error") or {}
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    if response.status_code == 401:
        return GraphUnauthorized(401, code, message)
    if response.status_code == 410 or code.lower() in RESYNC_CODES:
        return ResyncRequired(response.status_code, code, message)
    return GraphError(response.status_code, code, message[:500])


class GraphClient:
    """Graph at `base_url` (settings.DIRECTORY["GRAPH_URL"]) with the access token `token()` answers.

    `actor` and `connection_id` go into the security log entry of each write; `sleep` is injectable so
    that tests of throttling do not wait.
    """

    def __init__(
        self,
        *,
        token: Callable[[], str],
        base_url: str | None = None,
        actor=None,
        connection_id=None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        timeout: float | None = None,
    ):
        self._token = token
        self.base_url = (base_url or settings.DIRECTORY["GRAPH_URL"]).rstrip("/")
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc.lower())
        self._root = base.path.rstrip("/")
        self.actor, self.connection_id = actor, connection_id
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.pause = 0.0  # seconds to wait before each request while Graph says the limit is near
        self.requests = 0  # requests sent, retries included (the benchmark counts them)
        self._http = httpx.Client(
            timeout=timeout or settings.DIRECTORY["HTTP_TIMEOUT_SECONDS"], follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "GraphClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the allowlist ---------------------------------------------------------------------------------

    def check(
        self, method: str, url: str, body: dict | None = None, params: dict | None = None
    ) -> tuple[str, str]:
        """The absolute URL and the write's operation name of an allowed call; ForbiddenCall otherwise."""
        method = method.upper()
        parts = urlsplit(url)
        options = {name for name, _value in parse_qsl(parts.query, keep_blank_values=True)} | set(
            params or {}
        )
        if options - QUERY_OPTIONS:
            raise ForbiddenCall(
                f"{method} with {', '.join(sorted(options - QUERY_OPTIONS))[:100]} is refused"
            )
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.netloc.lower()) != self._origin or not parts.path.startswith(
                self._root + "/"
            ):
                raise ForbiddenCall(f"{method} to another address than Graph's is refused")
            path = parts.path[len(self._root) :]
        else:
            path = parts.path
        if parts.fragment or "%" in path or "//" in path or "/." in path or "\\" in path:
            raise ForbiddenCall(f"{method} {path[:100]} is refused: the path is not a plain Graph path")
        for allowed_method, pattern, operation in ALLOWED:
            if allowed_method == method and pattern.fullmatch(path):
                op = operation
                break
        else:
            raise ForbiddenCall(f"{method} {path[:100]} is not an allowed Graph call")
        if op:
            extra = set(body or {}) - BODY_KEYS[op]
            if extra:
                raise ForbiddenCall(f"{method} {path[:100]} may not change {', '.join(sorted(extra))}")
        elif body is not None:
            raise ForbiddenCall(f"{method} {path[:100]} takes no body")
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}{path}{query}", op

    # --- requests --------------------------------------------------------------------------------------

    def request(self, method: str, url: str, *, params: dict | None = None, json: dict | None = None):
        """Send one allowed call, retrying throttled answers; the JSON body (None when empty)."""
        full, op = self.check(method, url, json, params)
        try:
            response = self._send(method.upper(), full, params=params, json=json)
        except GraphError as error:
            if op:
                self._record(op, full, error.status)
            raise
        if op:
            self._record(op, full, response.status_code)
        return response.json() if response.content else None

    def _send(self, method: str, url: str, *, params, json) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            if self.pause:
                self.sleep(self.pause)
            headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
            self.requests += 1
            response = self._http.request(method, url, params=params, json=json, headers=headers)
            self._slow_down(response)
            if response.status_code in (429, 503):
                if attempt >= self.max_attempts:
                    raise GraphThrottled(
                        response.status_code, "throttled", f"gave up after {attempt} attempts"
                    )
                wait = _retry_after(response)
                self.sleep(_backoff(attempt) if wait is None else wait)
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response

    def _slow_down(self, response: httpx.Response) -> None:
        """Graph says how much of its limit is used once past 80 %: pause longer the closer it is."""
        value = response.headers.get("x-ms-throttle-limit-percentage", "").strip()
        try:
            share = float(value)
        except ValueError:
            self.pause = 0.0
            return
        share = share / 100 if share > 2 else share  # tolerate a percentage written as 80 rather than 0.8
        self.pause = 0.0 if share < SLOW_FROM else min(SLOW_SECONDS * (1 + (share - SLOW_FROM) * 10), 10.0)

    def _record(self, op: str, url: str, status: int) -> None:
        path = urlsplit(url).path[len(self._root) :]
        ids = re.findall(_GUID, path)
        security_event_record(
            action=f"directory.graph.{op}",
            actor=self.actor,
            data={
                "connection": self.connection_id,
                "target": ids[0] if ids else "",
                **({"member": ids[1]} if len(ids) > 1 else {}),
                "status": status,
            },
        )

    # --- the calls the product makes -------------------------------------------------------------------

    def get(self, url: str, *, params: dict | None = None) -> dict:
        return self.request("GET", url, params=params) or {}

    def organization(self) -> dict:
        answer = self.get("/organization")
        return (answer.get("value") or [{}])[0]

    def user_get(self, user_id: str, *, select: str) -> dict:
        return self.get(f"/users/{user_id}", params={"$select": select})

    def user_update(self, user_id: str, changes: dict) -> None:
        self.request("PATCH", f"/users/{user_id}", json=changes)

    def group_create(self, *, display_name: str, mail_nickname: str, description: str = "") -> dict:
        body = {
            "displayName": display_name,
            "mailNickname": mail_nickname,
            "mailEnabled": False,
            "securityEnabled": True,
        }
        if description:
            body["description"] = description
        return self.request("POST", "/groups", json=body) or {}

    def group_update(self, group_id: str, changes: dict) -> None:
        self.request("PATCH", f"/groups/{group_id}", json=changes)

    def member_add(self, group_id: str, user_id: str) -> None:
        body = {"@odata.id": f"{self.base_url}/directoryObjects/{user_id}"}
        self.request("POST", f"/groups/{group_id}/members/$ref", json=body)

    def member_remove(self, group_id: str, user_id: str) -> None:
        self.request("DELETE", f"/groups/{group_id}/members/{user_id}/$ref")
