"""The Google fake keeps the documented contracts of Google OAuth 2.0, the Admin SDK and Gmail sendAs.

Production code reaches Google only through this server in tests, so what it relies on is pinned here,
with authlib (which production uses) for the OAuth flow.
"""

import json
import secrets

import httpx
from authlib.integrations.httpx_client import OAuth2Client

CALLBACK = "http://testserver/directory/callback"
GOOGLE = "https://www.googleapis.com/auth/"

GOOGLE_SCOPES = ["openid", f"{GOOGLE}userinfo.email", f"{GOOGLE}userinfo.profile",
                 f"{GOOGLE}admin.directory.rolemanagement.readonly", f"{GOOGLE}admin.directory.customer.readonly",
                 f"{GOOGLE}gmail.settings.basic"]  # fmt: skip


def google_sign_in(fake, settings, scopes=GOOGLE_SCOPES) -> tuple[OAuth2Client, dict]:
    client = OAuth2Client(
        fake.client_id,
        fake.client_secret,
        scope=" ".join(scopes),
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        settings.DIRECTORY["GOOGLE_AUTHORIZE_URL"],
        code_verifier=verifier,
        access_type="offline",
        prompt="consent",
    )
    location = httpx.get(url).headers["Location"]
    token = client.fetch_token(
        settings.DIRECTORY["GOOGLE_TOKEN_URL"],
        authorization_response=location,
        code_verifier=verifier,
        state=state,
    )
    return client, token


def test_google_code_flow_refresh_and_revoke(fake_google, settings):
    fake = fake_google
    client, token = google_sign_in(fake, settings)
    assert set(token["scope"].split()) == set(GOOGLE_SCOPES)
    assert fake.requested_scopes() == [set(GOOGLE_SCOPES)]
    info = client.get(settings.DIRECTORY["GOOGLE_USERINFO_URL"]).json()
    assert info["email"] == "ada@example.org"
    refreshed = client.refresh_token(
        settings.DIRECTORY["GOOGLE_TOKEN_URL"], refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"] != token["access_token"]
    assert (
        httpx.post(
            settings.DIRECTORY["GOOGLE_REVOKE_URL"], data={"token": token["refresh_token"]}
        ).status_code
        == 200
    )
    assert fake.revocations == [token["refresh_token"]]
    refused = httpx.post(
        settings.DIRECTORY["GOOGLE_TOKEN_URL"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        },
    )
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_google_gives_a_refresh_token_again_only_with_prompt_consent(fake_google, settings):
    _, first = google_sign_in(fake_google, settings)
    assert fake_google.authorize_requests[0]["code_challenge_method"] == "S256"
    client = OAuth2Client(
        fake_google.client_id, fake_google.client_secret, scope="openid", redirect_uri=CALLBACK
    )
    url, state = client.create_authorization_url(
        settings.DIRECTORY["GOOGLE_AUTHORIZE_URL"], access_type="offline"
    )
    location = httpx.get(url).headers["Location"]
    again = client.fetch_token(
        settings.DIRECTORY["GOOGLE_TOKEN_URL"], authorization_response=location, state=state
    )
    assert "refresh_token" in first and "refresh_token" not in again
    fake_google.require_pkce = True
    refused = httpx.get(client.create_authorization_url(settings.DIRECTORY["GOOGLE_AUTHORIZE_URL"])[0])
    assert "error=invalid_request" in refused.headers["Location"]


def test_google_grants_only_what_the_person_ticked(fake_google, settings):
    fake_google.grant_only = {f"{GOOGLE}userinfo.email"}
    _, token = google_sign_in(fake_google, settings)
    assert set(token["scope"].split()) == {"openid", f"{GOOGLE}userinfo.email"}


def admin_get(fake, path, scopes=GOOGLE_SCOPES, email=None, **params) -> httpx.Response:
    token = fake.issue_access_token(scopes, email)
    return httpx.get(
        f"{fake.url}/admin/directory/v1/{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def test_admin_sdk_roles_assignments_and_customer(fake_google):
    fake = fake_google
    fake.page_size = 3
    ada = fake.accounts["ada@example.org"]
    fake.add_account("bob@example.org", "Bob Martin", groups=["it@example.org"])
    fake.group_roles["it@example.org"] = [fake.HELP_DESK_ROLE]
    direct = admin_get(fake, "customer/my_customer/roleassignments", userKey=ada.email).json()
    assert [(i["roleId"], i["assignedTo"], i["assigneeType"]) for i in direct["items"]] == [
        (fake.SUPER_ADMIN_ROLE, ada.sub, "user")
    ]
    indirect = admin_get(
        fake,
        "customer/my_customer/roleassignments",
        userKey="bob@example.org",
        includeIndirectRoleAssignments="true",
    ).json()
    assert [(i["roleId"], i["assigneeType"]) for i in indirect["items"]] == [(fake.HELP_DESK_ROLE, "group")]
    assert (
        admin_get(fake, "customer/my_customer/roleassignments", userKey="bob@example.org").json()["items"]
        == []
    )
    fake.assign_role_in_org_unit("bob@example.org", fake.USER_ADMIN_ROLE)
    scoped = admin_get(fake, "customer/my_customer/roleassignments", userKey="bob@example.org").json()
    assert [(i["roleId"], i["scopeType"]) for i in scoped["items"]] == [(fake.USER_ADMIN_ROLE, "ORG_UNIT")]
    # Without a userKey, Google leaves the indirect assignments out rather than refusing.
    everyone = admin_get(
        fake, "customer/my_customer/roleassignments", includeIndirectRoleAssignments="true"
    ).json()
    assert {i["assigneeType"] for i in everyone["items"]} == {"user"}
    assert (
        admin_get(fake, "customer/my_customer/roleassignments", userKey=ada.sub).json()["items"]
        == direct["items"]
    )

    first = admin_get(fake, "customer/my_customer/roles").json()
    rest = admin_get(fake, "customer/my_customer/roles", pageToken=first["nextPageToken"]).json()
    roles = first["items"] + rest["items"]
    assert len(first["items"]) == 3 and "nextPageToken" not in rest
    assert [r["roleId"] for r in roles if r["isSuperAdminRole"]] == [fake.SUPER_ADMIN_ROLE]

    customer = admin_get(fake, "customers/my_customer").json()
    assert customer["customerDomain"] == "example.org"
    assert customer["postalAddress"]["organizationName"] == "Example Org"


def test_admin_sdk_refuses_non_admins_missing_scopes_and_bad_tokens(fake_google):
    fake = fake_google
    fake.add_account("eve@example.org", "Eve Moreau")
    refused = admin_get(
        fake, "customer/my_customer/roleassignments", email="eve@example.org", userKey="eve@example.org"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["status"] == "PERMISSION_DENIED"
    narrow = admin_get(fake, "customers/my_customer", scopes=["openid"])
    assert narrow.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    bad = httpx.get(
        f"{fake.url}/admin/directory/v1/customers/my_customer", headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 401
    fake.fail_next(1, status=429, retry_after=5)
    throttled = admin_get(fake, "customers/my_customer")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "5"
    assert throttled.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_gmail_send_as_signature(fake_google):
    fake = fake_google
    token = fake.issue_access_token([f"{GOOGLE}gmail.settings.basic"])
    client = httpx.Client(base_url=f"{fake.url}/gmail/v1/users", headers={"Authorization": f"Bearer {token}"})
    listed = client.get("/me/settings/sendAs").json()["sendAs"]
    assert [s["sendAsEmail"] for s in listed] == ["ada@example.org"] and listed[0]["isPrimary"]
    patched = client.patch("/me/settings/sendAs/ada@example.org", json={"signature": "<b>Ada</b>"})
    assert patched.json()["signature"] == "<b>Ada</b>"
    assert client.get("/me/settings/sendAs/ada@example.org").json()["signature"] == "<b>Ada</b>"
    assert fake.signature_updates == [("ada@example.org", "<b>Ada</b>")]
    assert client.get("/bob@example.org/settings/sendAs").status_code == 403
    assert (
        client.patch("/me/settings/sendAs/ada@example.org", json={"signature": "x" * 10_001}).status_code
        == 400
    )
    assert client.patch("/me/settings/sendAs/ada@example.org", content=b"{").status_code == 400
    assert json.loads(fake.calls("PATCH")[0].body) == {"signature": "<b>Ada</b>"}
