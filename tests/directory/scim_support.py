"""What the SCIM tests share: an organisation with its token, and a client that speaks SCIM to /scim/v2/."""

import json

from django.test import Client

from tessera.directory.services.scim import scim_token_rotate

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimClient(Client):
    """An identity provider: the bearer token on every request, JSON bodies, CSRF checks on (no cookie)."""

    def __init__(self, token: str, content_type: str = "application/scim+json"):
        super().__init__(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
        self.scim_type = content_type

    def send(self, method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body))
        return self.generic(method, f"/scim/v2/{path}", data, content_type=self.scim_type)


def scim_client(organisation, **kwargs) -> ScimClient:
    return ScimClient(scim_token_rotate(organisation=organisation), **kwargs)


def user_body(user_name: str = "ada@alpha.example", **extra) -> dict:
    body = {
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": "ext-" + user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }
    body.update(extra)
    return body


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    payload = response.json()
    assert payload["schemas"] == [ERROR]
    assert payload["status"] == str(status)
    assert payload.get("scimType") == scim_type
    assert payload["detail"]
    return payload
