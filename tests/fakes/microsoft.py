"""A Microsoft Entra ID tenant on loopback: the identity platform (for msal) and Microsoft Graph v1.0.

    fake = FakeMicrosoft().start()          # fake.url (HTTP) and fake.tls_url (HTTPS, for msal)
    alice = fake.add_user(givenName="Alice", surname="Martin", jobTitle="CFO")
    fake.add_group("Sales", members=[alice])
    token = fake.issue_access_token()       # or sign in through msal against fake.authority

Graph answers under /v1.0 with Graph's JSON error format; every request is logged (`fake.calls(...)`),
so a test can prove that a forbidden call never reached the server. `fail_next(n, 429, retry_after=2)`,
`fail_ratio`, `throttle_percentage` and `invalidate_delta_tokens()` reproduce the service's bad days.
"""

import json
import re
import time
import uuid
from urllib.parse import unquote

from tests.fakes.fake_http import FakeServer, Reply, Request, json_reply, retry_after_header
from tests.fakes.microsoft_graph import GraphDirectory, graph_error_body, selected
from tests.fakes.microsoft_identity import IdentityPlatform

# Properties PATCH /users/{id} accepts, with Graph's maximum lengths where it has one.
USER_WRITABLE = {
    "aboutMe": None, "accountEnabled": None, "businessPhones": 64, "city": 128, "companyName": 64,
    "country": 128, "department": 64, "displayName": 256, "employeeId": 16, "employeeType": 64,
    "faxNumber": 64, "givenName": 64, "jobTitle": 128, "mail": 256, "mailNickname": 64, "mobilePhone": 64,
    "officeLocation": 128, "otherMails": 256, "passwordPolicies": None, "passwordProfile": None,
    "postalCode": 40, "preferredLanguage": 16, "state": 128, "streetAddress": 1024, "surname": 64,
    "usageLocation": 2, "userPrincipalName": 113, "userType": None,
}  # fmt: skip
GROUP_CREATE = {"displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes",
                "visibility", "members@odata.bind", "owners@odata.bind"}  # fmt: skip
GROUP_WRITABLE = {"displayName", "description", "mailNickname", "visibility"}
READ = {"users": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
        "groups": {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}}  # fmt: skip
WRITE = {"users": {"User.ReadWrite.All", "Directory.ReadWrite.All"},
         "groups": {"Group.ReadWrite.All", "Directory.ReadWrite.All"}}  # fmt: skip
GUIDISH = r"[^/]+"


def graph_error(status: int, code: str, message: str, headers: dict | None = None) -> Reply:
    return json_reply(status, graph_error_body(code, message), headers)


def _not_found(object_id: str) -> Reply:
    return graph_error(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present.",
    )


class FakeMicrosoft(FakeServer, IdentityPlatform, GraphDirectory):
    name = "microsoft"
    with_tls = True

    def __init__(self, organisation: str = "Contoso", domain: str = "contoso.example"):
        super().__init__()
        self.organisation_name = organisation
        self.domains = [domain, f"{organisation.lower()}.onmicrosoft.com"]
        self.throttle_percentage: float | None = None  # x-ms-throttle-limit-percentage on Graph answers
        self._identity_init()
        self._directory_init()
        # The admin who signs in and consents; not in the directory unless a test signs in as a user.
        self.signed_in = {
            "id": str(uuid.uuid4()),
            "displayName": "Megan Bowen",
            "givenName": "Megan",
            "surname": "Bowen",
            "mail": f"megan.bowen@{domain}",
            "userPrincipalName": f"megan.bowen@{domain}",
            "jobTitle": "IT Administrator",
        }
        self.signed_in_id = self.signed_in["id"]

    def verified_domain_names(self) -> list[str]:
        return self.domains

    def sign_in_as(self, user_id: str):
        self.signed_in_id = user_id

    def user_or_signed_in(self, user_id: str) -> dict:
        return self.users.get(user_id) or self.signed_in

    def populate(self, users: int = 100, groups: int = 10, members_per_group: int = 30) -> tuple[list, list]:
        """`users` users and `groups` groups; group i holds a window of users starting at i * stride."""
        user_ids = self.add_users(users)
        group_ids = []
        stride = max(1, users // max(groups, 1))
        for i in range(groups):
            start = (i * stride) % max(users, 1)
            members = [user_ids[(start + k) % users] for k in range(min(members_per_group, users))]
            group_ids.append(self.add_group(f"Team {i + 1:03d}", members=members))
        return user_ids, group_ids

    # --- HTTP ----------------------------------------------------------------------------------------------

    def is_api(self, path: str) -> bool:
        return path.startswith("/v1.0/")

    def failure_reply(self, status: int, retry_after) -> Reply:
        if status == 410:  # fail_next(1, 410, path="/delta"): the service lost its sync state mid-sync
            self.invalidate_delta_tokens()
            status, body = self._sync_state_lost()
            return json_reply(410, body)
        code, message = {
            429: ("TooManyRequests", "Too many requests. Retry after the time in the Retry-After header."),
            503: ("serviceNotAvailable", "Service unavailable."),
            504: ("gatewayTimeout", "Gateway timeout."),
        }.get(status, ("generalException", "An error occurred."))
        return graph_error(status, code, message, retry_after_header(retry_after))

    def handle(self, request: Request) -> Reply:
        path = unquote(request.path)
        if path.startswith("/v1.0/"):
            reply = self._graph(request, path[len("/v1.0") :])
            reply.headers["request-id"] = str(uuid.uuid4())
            reply.headers["client-request-id"] = request.header("client-request-id") or str(uuid.uuid4())
            if self.throttle_percentage is not None:
                reply.headers["x-ms-throttle-limit-percentage"] = f"{self.throttle_percentage:.1f}"
            return reply
        if path == "/oidc/userinfo":
            return self._userinfo(request)
        tenant, _, rest = path.lstrip("/").partition("/")
        reply = self.identity_route(request, tenant, rest) if tenant else None
        return reply or graph_error(404, "ResourceNotFound", f"No endpoint at {request.method} {path}.")

    def _userinfo(self, request: Request) -> Reply:
        token = self.access_tokens.get(request.bearer)
        if token is None:
            return Reply(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        user = self.user_or_signed_in(token.user_id)
        return json_reply(
            200, {"sub": token.user_id, "name": user.get("displayName"), "email": user.get("mail")}
        )

    def _scopes(self, request: Request):
        """The token's scopes (short names), or a 401 reply."""
        if not request.bearer:
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token is empty.", _www_authenticate()
            )
        token = self.access_tokens.get(request.bearer)
        if token is None:
            return graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.", _www_authenticate()
            )
        if token.expires_at < time.time():
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
                _www_authenticate(),
            )
        return {s.rsplit("/", 1)[-1] for s in token.scopes}, token

    def _graph(self, request: Request, path: str) -> Reply:
        checked = self._scopes(request)
        if isinstance(checked, Reply):
            return checked
        scopes, token = checked
        for method, pattern, action, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match is None:
                continue
            if method != request.method:
                continue
            kind = action.split(":")[1] if ":" in action else None
            needed = WRITE[kind] if action.startswith("write") else READ.get(kind, set())
            if needed and not scopes & needed:
                return graph_error(
                    403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
                )
            return handler(request, token, *match.groups())
        if any(re.fullmatch(pattern, path) for _, pattern, _, _ in self._routes()):
            return graph_error(
                405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
            )
        segment = path.strip("/").split("/")[-1]
        return graph_error(404, "ResourceNotFound", f"Resource not found for the segment '{segment}'.")

    def _routes(self):
        return [
            ("GET", r"/organization", "read", self._organization),
            ("GET", r"/me", "read", self._me),
            ("GET", r"/users/delta\(?\)?", "read:users", lambda r, t: self._delta(r, "users")),
            ("GET", r"/groups/delta\(?\)?", "read:groups", lambda r, t: self._delta(r, "groups")),
            ("GET", rf"/users/({GUIDISH})", "read:users", self._get_user),
            ("PATCH", rf"/users/({GUIDISH})", "write:users", self._patch_user),
            ("DELETE", rf"/users/({GUIDISH})", "write:users", self._delete_user),
            ("GET", r"/groups", "read:groups", self._list_groups),
            ("POST", r"/groups", "write:groups", self._create_group),
            ("GET", rf"/groups/({GUIDISH})", "read:groups", self._get_group),
            ("PATCH", rf"/groups/({GUIDISH})", "write:groups", self._patch_group),
            ("DELETE", rf"/groups/({GUIDISH})", "write:groups", self._delete_group),
            ("GET", rf"/groups/({GUIDISH})/members", "read:groups", self._list_members),
            ("POST", rf"/groups/({GUIDISH})/members/\$ref", "write:groups", self._add_member),
            (
                "DELETE",
                rf"/groups/({GUIDISH})/members/({GUIDISH})/\$ref",
                "write:groups",
                self._remove_member_ref,
            ),
        ]

    # --- reads ---------------------------------------------------------------------------------------------

    def _organization(self, request, token) -> Reply:
        org = {
            "id": self.tenant_id,
            "displayName": self.organisation_name,
            "countryLetterCode": "FR",
            "tenantType": "AAD",
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": i == 0,
                    "isInitial": name.endswith(".onmicrosoft.com"),
                    "name": name,
                    "type": "Managed",
                }
                for i, name in enumerate(self.domains)
            ],
        }
        return json_reply(200, {"@odata.context": f"{self.url}/v1.0/$metadata#organization", "value": [org]})

    def _me(self, request, token) -> Reply:
        return json_reply(200, self._shape(self.user_or_signed_in(token.user_id), request, "users"))

    def _shape(self, obj: dict, request: Request, kind: str) -> dict:
        names = selected(request.query, kind) if "$select" in request.query else [n for n in obj if n != "id"]
        return {"id": obj["id"], **{n: obj.get(n) for n in names if n != "members"}}

    def _delta(self, request: Request, kind: str) -> Reply:
        prefer = re.search(r"odata\.maxpagesize=(\d+)", request.header("prefer"))
        size = int(prefer.group(1)) if prefer else None
        status, body = self.delta(kind, request.query, size)
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if prefer else {}
        return json_reply(status, body, headers)

    def _find_user(self, key: str) -> dict | None:
        if key in self.users:
            return self.users[key]
        return next(
            (u for u in self.users.values() if (u.get("userPrincipalName") or "").lower() == key.lower()),
            None,
        )

    def _get_user(self, request, token, user_id) -> Reply:
        user = self._find_user(user_id)
        return json_reply(200, self._shape(user, request, "users")) if user else _not_found(user_id)

    def _get_group(self, request, token, group_id) -> Reply:
        group = self.groups.get(group_id)
        return json_reply(200, self._shape(group, request, "groups")) if group else _not_found(group_id)

    def _paged(self, request: Request, items: list, kind: str, path: str) -> Reply:
        size = min(int(request.query.get("$top") or self.page_size), 999)
        offset = int(request.query.get("$skiptoken") or 0)
        body = {"value": [self._shape(i, request, kind) for i in items[offset : offset + size]]}
        if offset + size < len(items):
            select = f"&$select={request.query['$select']}" if "$select" in request.query else ""
            body["@odata.nextLink"] = f"{self.url}/v1.0{path}?$top={size}&$skiptoken={offset + size}{select}"
        return json_reply(200, body)

    def _list_groups(self, request, token) -> Reply:
        return self._paged(request, list(self.groups.values()), "groups", "/groups")

    def _list_members(self, request, token, group_id) -> Reply:
        if group_id not in self.groups:
            return _not_found(group_id)
        members = [self.users[m] for m in self.members[group_id] if m in self.users]
        return self._paged(request, members, "users", f"/groups/{group_id}/members")

    # --- writes --------------------------------------------------------------------------------------------

    def _body(self, request: Request):
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return graph_error(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )
        return body

    def _patch_user(self, request, token, user_id) -> Reply:
        user = self._find_user(user_id)
        if user is None:
            return _not_found(user_id)
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        for name, value in body.items():
            if name not in USER_WRITABLE:
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Property '{name}' does not exist as a declared property or extension property.",
                )
            if not _valid(name, value, USER_WRITABLE[name]):
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{name}' of resource 'User'.",
                )
        self.update_user(user["id"], **body)
        return Reply(204)

    def _delete_user(self, request, token, user_id) -> Reply:
        user = self._find_user(user_id)
        if user is None:
            return _not_found(user_id)
        self.delete_user(user["id"])
        return Reply(204)

    def _create_group(self, request, token) -> Reply:
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        unknown = set(body) - GROUP_CREATE
        if unknown:
            name = sorted(unknown)[0]
            return graph_error(
                400,
                "Request_BadRequest",
                f"Property '{name}' does not exist as a declared property or extension property.",
            )
        for required in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if body.get(required) in (None, ""):
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{required}' of resource 'Group'.",
                )
        if not isinstance(body["displayName"], str) or len(body["displayName"]) > 256:
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'displayName' of resource 'Group'.",
            )
        members = [_ref_id(ref) for ref in body.pop("members@odata.bind", [])]
        body.pop("owners@odata.bind", None)
        missing = [m for m in members if m not in self.users]
        if missing:
            return _not_found(missing[0])
        group_id = self.add_group(body.pop("displayName"), members=members, **body)
        group = {"@odata.context": f"{self.url}/v1.0/$metadata#groups/$entity", **self.groups[group_id]}
        return json_reply(201, group, {"Location": f"{self.url}/v1.0/groups/{group_id}"})

    def _patch_group(self, request, token, group_id) -> Reply:
        if group_id not in self.groups:
            return _not_found(group_id)
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        for name, value in body.items():
            if name not in GROUP_WRITABLE:
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Property '{name}' does not exist as a declared property or extension property.",
                )
            if name == "displayName" and (not isinstance(value, str) or not value or len(value) > 256):
                return graph_error(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'displayName' of resource 'Group'.",
                )
        self.update_group(group_id, **body)
        return Reply(204)

    def _delete_group(self, request, token, group_id) -> Reply:
        if group_id not in self.groups:
            return _not_found(group_id)
        self.delete_group(group_id)
        return Reply(204)

    def _add_member(self, request, token, group_id) -> Reply:
        if group_id not in self.groups:
            return _not_found(group_id)
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        member_id = _ref_id(body.get("@odata.id", ""))
        if not member_id:
            return graph_error(
                400, "BadRequest", "The request URI is not valid. The @odata.id is missing or malformed."
            )
        if member_id not in self.users and member_id not in self.groups:
            return _not_found(member_id)
        with self._lock:
            if member_id in self.members[group_id]:
                return graph_error(
                    400,
                    "Request_BadRequest",
                    "One or more added object references already exist for the following modified properties: 'members'.",
                )
            self.add_members(group_id, [member_id])
        return Reply(204)

    def _remove_member_ref(self, request, token, group_id, member_id) -> Reply:
        if group_id not in self.groups:
            return _not_found(group_id)
        with self._lock:
            if member_id not in self.members[group_id]:
                return _not_found(member_id)
            self.remove_members(group_id, [member_id])
        return Reply(204)


def _ref_id(reference: str) -> str:
    match = re.search(r"/(?:directoryObjects|users|groups)/([^/?]+)$", reference or "")
    return match.group(1) if match else ""


def _valid(name: str, value, max_length) -> bool:
    if name == "businessPhones":  # Graph takes a list, and only one number for a user
        return (
            isinstance(value, list)
            and len(value) <= 1
            and all(isinstance(v, str) and len(v) <= 64 for v in value)
        )
    if name in {"accountEnabled"}:
        return isinstance(value, bool)
    if name in {"passwordProfile"}:
        return isinstance(value, dict)
    if name == "otherMails":
        return isinstance(value, list)
    if value is None:
        return name not in {"displayName", "userPrincipalName", "mailNickname"}
    return isinstance(value, str) and (max_length is None or len(value) <= max_length)


def _www_authenticate() -> dict:
    return {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        'client_id="00000003-0000-0000-c000-000000000000"'
    }
