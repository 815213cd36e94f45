"""The fakes keep the documented contracts of Microsoft Graph, the Microsoft identity platform and Google.

Production code is tested against these servers only, so each contract the sync or the connection code
relies on is pinned here once, with the real clients (msal, authlib) where production uses them.
"""

import base64
import hashlib
import json
import secrets
import ssl
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
import pytest
from authlib.integrations.httpx_client import OAuth2Client

SEED_SCOPES = ["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All",
               "Group.Read.All", "Group.ReadWrite.All", "email"]  # fmt: skip
CALLBACK = "http://testserver/directory/callback"
GOOGLE = "https://www.googleapis.com/auth/"


def graph(fake, scopes=("Directory.ReadWrite.All",)) -> httpx.Client:
    token = fake.issue_access_token(scopes)
    return httpx.Client(base_url=fake.url + "/v1.0", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def read_all(client: httpx.Client, url: str, params=None, headers=None) -> tuple[list, str, int]:
    """(items, deltaLink, pages) of one delta round; the links carry the query on their own."""
    items, pages = [], 0
    while True:
        body = client.get(url, params=params, headers=headers).json()
        params = None
        pages += 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


# --- Microsoft identity platform ----------------------------------------------------------------------------


def msal_app(fake, tenant="organizations"):
    return msal.ConfidentialClientApplication(
        fake.client_id,
        client_credential=fake.client_secret,
        authority=f"{fake.authority_host}/{tenant}",
        instance_discovery=False,
    )


def test_msal_signs_in_with_pkce_and_refresh_tokens_rotate(fake_microsoft, settings):
    fake = fake_microsoft
    assert settings.DIRECTORY["MICROSOFT_AUTHORITY_HOST"].startswith("https://")
    app = msal_app(fake)
    flow = app.initiate_auth_code_flow(SEED_SCOPES, redirect_uri=CALLBACK)
    answer = httpx.get(flow["auth_uri"])
    assert answer.status_code == 302
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert query["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert result["id_token_claims"]["tid"] == fake.tenant_id
    assert result["id_token_claims"]["oid"] == fake.signed_in_id
    assert fake.requested_scopes() == [{*SEED_SCOPES, "openid", "profile", "offline_access"}]
    # A second redemption of the same code fails, as Entra's codes are single use.
    again = app.acquire_token_by_auth_code_flow(flow, query)
    assert "error" in again

    refreshed = app.acquire_token_by_refresh_token(result["refresh_token"], scopes=SEED_SCOPES)
    assert refreshed["refresh_token"] != result["refresh_token"]
    assert (
        httpx.get(
            f"{fake.url}/v1.0/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
        ).json()["id"]
        == fake.signed_in_id
    )

    fake.revoke_refresh_tokens()
    revoked = app.acquire_token_by_refresh_token(refreshed["refresh_token"], scopes=SEED_SCOPES)
    assert revoked["error"] == "invalid_grant"
    assert revoked["error_codes"] == [50173]


def test_pkce_verifier_must_match(fake_microsoft):
    fake = fake_microsoft
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = httpx.get(
        f"{fake.url}/organizations/oauth2/v2.0/authorize",
        params={
            "client_id": fake.client_id,
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    code = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]
    form = {"client_id": fake.client_id, "client_secret": fake.client_secret, "grant_type": "authorization_code",
            "code": code, "redirect_uri": CALLBACK, "code_verifier": "wrong" + verifier}  # fmt: skip
    token_url = f"{fake.tls_url}/organizations/oauth2/v2.0/token"
    refused = httpx.post(token_url, data=form, verify=ssl.create_default_context(cafile=fake.ca_file))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_description"].startswith("AADSTS501481")


def test_admin_consent_redirects_back_with_the_tenant(fake_microsoft):
    fake = fake_microsoft
    scope = "https://graph.microsoft.com/.default"
    answer = httpx.get(
        f"{fake.authority_host}/organizations/v2.0/adminconsent",
        params={"client_id": fake.client_id, "scope": scope, "redirect_uri": CALLBACK, "state": "xyz"},
        verify=ssl.create_default_context(cafile=fake.ca_file),
    )
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert query == {"admin_consent": "True", "tenant": fake.tenant_id, "scope": scope, "state": "xyz"}
    fake.consent_denied = True
    answer = httpx.get(f"{fake.url}/organizations/v2.0/adminconsent", params={"client_id": fake.client_id,
                       "scope": scope, "redirect_uri": CALLBACK, "state": "xyz"})  # fmt: skip
    assert dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["error"] == "access_denied"


def test_default_scope_stands_for_the_registered_permissions(fake_microsoft):
    fake = fake_microsoft
    app = msal_app(fake, fake.tenant_id)
    flow = app.initiate_auth_code_flow(["https://graph.microsoft.com/.default"], redirect_uri=CALLBACK)
    query = dict(parse_qsl(urlsplit(httpx.get(flow["auth_uri"]).headers["Location"]).query))
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert set(result["scope"].split()) == {*fake.registered_permissions, "openid", "profile"}
    members = httpx.get(
        f"{fake.url}/v1.0/users/delta", headers={"Authorization": f"Bearer {result['access_token']}"}
    )
    assert members.status_code == 200


# --- Graph delta ----------------------------------------------------------------------------------------------


def test_users_delta_pages_then_returns_only_changes(fake_microsoft):
    fake = fake_microsoft
    ids = fake.add_users(250)
    client = graph(fake)
    items, delta_link, pages = read_all(client, "/users/delta", params={"$select": "displayName,jobTitle"})
    assert pages == 3
    assert {i["id"] for i in items} == set(ids)
    assert set(items[0]) == {"id", "displayName", "jobTitle"}

    fake.update_user(ids[0], jobTitle="Chief Executive Officer")
    fake.delete_user(ids[1])
    fake.delete_user(ids[2], permanent=True)
    new = fake.add_user(givenName="Zoé", surname="Durand")
    changes, next_delta, _ = read_all(client, delta_link)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {ids[0], ids[1], ids[2], new}
    assert by_id[ids[0]]["jobTitle"] == "Chief Executive Officer"
    assert by_id[ids[1]]["@removed"] == {"reason": "changed"}
    assert by_id[ids[2]]["@removed"] == {"reason": "deleted"}
    assert by_id[new]["displayName"] == "Zoé Durand"
    assert read_all(client, next_delta)[0] == []


def test_delta_tracks_only_the_selected_properties(fake_microsoft):
    fake = fake_microsoft
    ada = fake.add_user()
    client = graph(fake)
    _, delta_link, _ = read_all(client, "/users/delta", params={"$select": "jobTitle"})
    fake.update_user(ada, department="Finance")
    unchanged, delta_link, _ = read_all(client, delta_link)
    assert unchanged == []
    fake.update_user(ada, jobTitle="CFO")
    assert read_all(client, delta_link)[0] == [{"id": ada, "jobTitle": "CFO"}]
    fake.link_base = "http://graph.invalid"
    assert read_all(client, "/users/delta")[1].startswith(
        "http://graph.invalid/v1.0/users/delta?$deltatoken="
    )


def test_maxpagesize_empty_pages_and_links_fetched_twice(fake_microsoft):
    fake = fake_microsoft
    fake.add_users(30)
    fake.empty_pages = 2
    client = graph(fake)
    first = client.get("/users/delta", headers={"Prefer": "odata.maxpagesize=10"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=10"
    assert first.json()["value"] == [] and "@odata.nextLink" in first.json()
    link = client.get(first.json()["@odata.nextLink"]).json()["@odata.nextLink"]
    page = client.get(link, headers={"Prefer": "odata.maxpagesize=10"}).json()
    assert len(page["value"]) == 10
    # A client that crashed after fetching a page asks for it again and gets the same page.
    assert client.get(link, headers={"Prefer": "odata.maxpagesize=10"}).json() == page


def test_groups_delta_splits_members_over_pages_repeating_the_group(fake_microsoft):
    fake = fake_microsoft
    fake.members_per_page = 20
    users = fake.add_users(50)
    sales = fake.add_group("Sales", members=users)
    client = graph(fake)
    items, delta_link, _ = read_all(
        client,
        "/groups/delta",
        params={"$select": "displayName,members"},
        headers={"Prefer": "odata.maxpagesize=2"},
    )
    assert [i["id"] for i in items] == [sales, sales, sales]
    assert {m["id"] for i in items for m in i["members@delta"]} == set(users)

    fake.remove_members(sales, [users[0]])
    fake.add_members(sales, [fake.add_user()])
    fake.update_group(sales, displayName="Sales EMEA")
    changes, _, _ = read_all(client, delta_link)
    assert len(changes) == 1 and changes[0]["displayName"] == "Sales EMEA"
    removed = [m for m in changes[0]["members@delta"] if "@removed" in m]
    assert [m["id"] for m in removed] == [users[0]]
    assert len(changes[0]["members@delta"]) == 2


@pytest.mark.parametrize("status", [410, 400])
def test_invalidated_tokens_answer_sync_state_not_found(fake_microsoft, status):
    fake = fake_microsoft
    fake.add_users(150)
    client = graph(fake)
    first = client.get("/users/delta").json()
    _, delta_link, _ = read_all(client, "/users/delta")
    fake.invalidate_delta_tokens(status=status)
    for link in (delta_link, first["@odata.nextLink"]):
        answer = client.get(link)
        assert answer.status_code == status
        assert answer.json()["error"]["code"] == "syncStateNotFound"
    assert len(read_all(client, "/users/delta")[0]) == 150


def test_throttling_is_injected_with_retry_after(fake_microsoft):
    fake = fake_microsoft
    client = graph(fake)
    fake.fail_next(2, status=429, retry_after=3)
    fake.fail_next(1, status=503, retry_after=None)
    fake.throttle_percentage = 0.9
    answers = [client.get("/organization") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 503, 200]
    assert answers[0].headers["Retry-After"] == "3" and "Retry-After" not in answers[2].headers
    assert answers[0].json()["error"]["code"] == "TooManyRequests"
    assert answers[3].headers["x-ms-throttle-limit-percentage"] == "0.9"
    assert answers[3].json()["value"][0]["id"] == fake.tenant_id
    fake.fail_ratio = 0.5
    statuses = {client.get("/organization").status_code for _ in range(40)}
    assert statuses == {200, 429}


def test_graph_refuses_bad_tokens_unknown_paths_and_methods(fake_microsoft):
    fake = fake_microsoft
    client = graph(fake)
    fake.expire_access_tokens()
    expired = client.get("/users/delta")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    client = graph(fake, scopes=("User.Read",))
    assert client.get("/users/delta").json()["error"]["code"] == "Authorization_RequestDenied"
    client = graph(fake)
    assert client.get("/nothing").status_code == 400
    assert client.put("/users/delta").status_code == 405
    assert {"code", "message", "innerError"} <= set(client.put("/users/delta").json()["error"])


# --- Graph writes ----------------------------------------------------------------------------------------


def test_patch_user_accepts_writable_properties_only(fake_microsoft):
    fake = fake_microsoft
    user = fake.add_user()
    client = graph(fake)
    _, delta_link, _ = read_all(client, "/users/delta")
    ok = client.patch(f"/users/{user}", json={"jobTitle": "CFO", "businessPhones": ["+33 1 00 00 00 00"]})
    assert ok.status_code == 204
    assert fake.users[user]["jobTitle"] == "CFO"
    for body in ({"shoeSize": 42}, {"jobTitle": "x" * 129}, {"businessPhones": ["1", "2"]}):
        refused = client.patch(f"/users/{user}", json=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "Request_BadRequest"
    assert (
        client.patch(f"/users/{user}", content=b"{", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert (
        client.patch("/users/00000000-0000-0000-0000-000000000000", json={"jobTitle": "CFO"}).status_code
        == 404
    )
    assert fake.users[user]["jobTitle"] == "CFO"
    # The write comes back through the next delta, as Graph reports changes whoever made them.
    assert [c["jobTitle"] for c in read_all(client, delta_link)[0]] == ["CFO"]
    logged = fake.calls("PATCH", rf"/users/{user}$")[0]
    assert logged.json == {"jobTitle": "CFO", "businessPhones": ["+33 1 00 00 00 00"]}
    assert logged.header("authorization").startswith("Bearer ")


def test_group_writes_and_member_references(fake_microsoft):
    fake = fake_microsoft
    alice, bob = fake.add_user(), fake.add_user()
    client = graph(fake)
    created = client.post(
        "/groups",
        json={"displayName": "Sales", "mailEnabled": False, "mailNickname": "sales", "securityEnabled": True},
    )
    assert created.status_code == 201
    group = created.json()["id"]
    assert client.post("/groups", json={"displayName": "No nickname"}).status_code == 400
    assert client.patch(f"/groups/{group}", json={"displayName": "Sales EMEA"}).status_code == 204
    assert fake.groups[group]["displayName"] == "Sales EMEA"
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{alice}"}
    assert client.post(f"/groups/{group}/members/$ref", json=ref).status_code == 204
    duplicate = client.post(f"/groups/{group}/members/$ref", json=ref)
    assert duplicate.status_code == 400
    assert "already exist" in duplicate.json()["error"]["message"]
    assert client.delete(f"/groups/{group}/members/{alice}/$ref").status_code == 204
    assert client.delete(f"/groups/{group}/members/{bob}/$ref").status_code == 404
    assert fake.members[group] == {}


def test_populating_a_large_tenant_is_fast(fake_microsoft):
    started = time.perf_counter()
    users, groups = fake_microsoft.populate(users=10_000, groups=300, members_per_group=50)
    assert time.perf_counter() - started < 2
    assert len(set(users)) == 10_000 and len(groups) == 300
    upns = {u["userPrincipalName"] for u in fake_microsoft.users.values()}
    assert len(upns) == 10_000


# --- Google ------------------------------------------------------------------------------------------------

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
