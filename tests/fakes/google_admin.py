"""The Admin SDK (roleAssignments, roles, customers) and Gmail sendAs parts of the Google fake.

Google identifies a person by an obfuscated numeric id: roleAssignments' `assignedTo` is that id, never
the email, whether `userKey` named the person by email or by id.
"""

import base64
import hashlib
import json
import secrets

from tests.fakes.fake_http import Reply, Request, json_reply

SCOPE = "https://www.googleapis.com/auth/"
ROLE_SCOPES = {f"{SCOPE}admin.directory.rolemanagement.readonly", f"{SCOPE}admin.directory.rolemanagement"}
CUSTOMER_SCOPES = {f"{SCOPE}admin.directory.customer.readonly", f"{SCOPE}admin.directory.customer"}
SENDAS_READ = {f"{SCOPE}gmail.settings.basic", f"{SCOPE}gmail.readonly", "https://mail.google.com/"}
SENDAS_WRITE = {f"{SCOPE}gmail.settings.basic"}
SIGNATURE_MAX = 10_000
SENDAS_FIELDS = {
    "displayName",
    "replyToAddress",
    "signature",
    "isDefault",
    "treatAsAlias",
    "sendAsEmail",
    "isPrimary",
}


def google_error(status: int, message: str, reason: str, state: str, headers: dict | None = None) -> Reply:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": state,
        }
    }
    return json_reply(status, body, headers)


def _forbidden() -> Reply:
    return google_error(403, "Not Authorized to access this resource/api", "forbidden", "PERMISSION_DENIED")


def _invalid(message: str) -> Reply:
    return google_error(400, f"Invalid Input: {message}", "invalid", "INVALID_ARGUMENT")


def _page(fake, request: Request, items: list, kind: str) -> Reply:
    try:
        size = int(request.query.get("maxResults") or fake.page_size)
        offset = (
            int(base64.urlsafe_b64decode(request.query["pageToken"]).decode())
            if request.query.get("pageToken")
            else 0
        )
    except ValueError:
        return _invalid("pageToken")
    if not 1 <= size <= 200:
        return _invalid("maxResults")
    body = {"kind": kind, "etag": f'"{secrets.token_hex(12)}"', "items": items[offset : offset + size]}
    if offset + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return json_reply(200, body)


def _account_by_key(fake, key: str):
    return fake.accounts.get(key) or next((a for a in fake.accounts.values() if a.sub == key), None)


def _is_admin(fake, account) -> bool:
    return bool(account.roles or account.org_unit_roles) or any(
        fake.group_roles.get(g) for g in account.groups
    )


def _assignments(fake, account, indirect: bool) -> list:
    def item(role_id, assignee, assignee_type):
        digest = hashlib.sha256(f"{role_id}:{assignee}".encode()).hexdigest()
        return {
            "kind": "admin#directory#roleAssignment",
            "etag": f'"{digest[:24]}"',
            "roleAssignmentId": str(int(digest[:12], 16)),
            "roleId": role_id,
            "assignedTo": assignee,
            "assigneeType": assignee_type,
            "scopeType": "CUSTOMER",
        }

    items = [item(role_id, account.sub, "user") for role_id in account.roles]
    for role_id, org_unit in account.org_unit_roles:
        items.append({**item(role_id, account.sub, "user"), "scopeType": "ORG_UNIT", "orgUnitId": org_unit})
    if indirect:  # Google adds group-held roles only when asked and only for a userKey
        for group in account.groups:
            group_id = str(int(hashlib.sha256(group.encode()).hexdigest()[:16], 16))
            items += [item(role_id, group_id, "group") for role_id in fake.group_roles.get(group, [])]
    return items


def admin_route(fake, request: Request, rest: str) -> Reply:
    if request.method != "GET":
        return google_error(405, "Method Not Allowed", "httpMethodNotAllowed", "INVALID_ARGUMENT")
    parts = rest.strip("/").split("/")
    if (
        parts[0] in ("customer", "customers")
        and len(parts) > 1
        and parts[1] not in ("my_customer", fake.customer_id)
    ):
        return _forbidden()
    needed = CUSTOMER_SCOPES if parts[0] == "customers" else ROLE_SCOPES
    checked = fake.caller(request, needed)
    if isinstance(checked, Reply):
        return checked
    _, caller = checked
    if parts[0] == "customers" and len(parts) == 2:
        if not _is_admin(fake, caller):
            return _forbidden()
        return json_reply(200, customer(fake))
    if parts[0] == "customer" and len(parts) == 3 and parts[2] in ("roles", "roleassignments"):
        if not _is_admin(fake, caller):
            return _forbidden()
        if parts[2] == "roles":
            return _page(fake, request, fake.roles, "admin#directory#roles")
        user_key = request.query.get("userKey", "")
        indirect = request.query.get("includeIndirectRoleAssignments", "").lower() == "true"
        if user_key:
            account = _account_by_key(fake, user_key)
            if account is None:
                return google_error(404, "Resource Not Found: userKey", "notFound", "NOT_FOUND")
            items = _assignments(fake, account, indirect)
        else:
            items = [i for a in fake.accounts.values() for i in _assignments(fake, a, False)]
        role_id = request.query.get("roleId")
        if role_id:
            items = [i for i in items if i["roleId"] == role_id]
        return _page(fake, request, items, "admin#directory#roleAssignments")
    return google_error(404, "Not Found", "notFound", "NOT_FOUND")


def customer(fake) -> dict:
    return {
        "kind": "admin#directory#customer",
        "id": fake.customer_id,
        "etag": f'"{secrets.token_hex(12)}"',
        "customerDomain": fake.domain,
        "alternateEmail": f"it@{fake.domain}",
        "customerCreationTime": "2019-03-04T09:30:00.000Z",
        "language": "fr",
        "phoneNumber": "+33142680000",
        "postalAddress": {
            "organizationName": fake.organisation,
            "addressLine1": "12 rue de Rivoli",
            "locality": "Paris",
            "postalCode": "75004",
            "countryCode": "FR",
            "contactName": "Ada Lovelace",
        },
    }


def send_as(account) -> dict:
    return {
        "sendAsEmail": account.email,
        "displayName": account.name,
        "replyToAddress": "",
        "signature": account.signature,
        "isPrimary": True,
        "isDefault": True,
        "treatAsAlias": False,
    }


def gmail_route(fake, request: Request, rest: str) -> Reply:
    parts = rest.strip("/").split("/")
    if len(parts) < 3 or parts[1:3] != ["settings", "sendAs"] or len(parts) > 4:
        return google_error(404, "Not Found", "notFound", "NOT_FOUND")
    write = request.method in ("PATCH", "PUT")
    checked = fake.caller(request, SENDAS_WRITE if write else SENDAS_READ)
    if isinstance(checked, Reply):
        return checked
    _, caller = checked
    if parts[0] not in ("me", caller.email):
        return google_error(403, f"Delegation denied for {caller.email}", "forbidden", "PERMISSION_DENIED")
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
    try:
        body = json.loads(request.body or b"")
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
    signature = body.get("signature", caller.signature)
    if not isinstance(signature, str) or len(signature) > SIGNATURE_MAX:
        return google_error(400, "Signature is too long.", "invalidArgument", "INVALID_ARGUMENT")
    with fake._lock:
        caller.signature = signature
        if isinstance(body.get("displayName"), str):
            caller.name = body["displayName"]
        fake.signature_updates.append((caller.email, signature))
    return json_reply(200, send_as(caller))
