"""The Microsoft fake keeps the documented contracts of Microsoft Graph and the Microsoft identity platform.

Production code is tested against these servers only, so each contract the sync or the connection code
relies on is pinned here once, with msal where production uses it.
"""

import base64
import hashlib
import secrets
import ssl
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
import pytest

SEED_SCOPES = ["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All",
               "Group.Read.All", "Group.ReadWrite.All", "email"]  # fmt: skip
CALLBACK = "http://testserver/directory/callback"


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
    fake.restore_user(ids[1])
    assert [c["id"] for c in read_all(client, next_delta)[0]] == [ids[1]]
    with pytest.raises(KeyError):
        fake.restore_user(ids[2])  # a permanent deletion cannot be undone


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
    # Injected mid-round, a 410 also forgets every link handed out before it.
    nxt = client.get("/users/delta").json()["@odata.nextLink"]
    fake.fail_next(1, status=410, retry_after=None, path="/delta")
    assert client.get(nxt).json()["error"]["code"] == "syncStateNotFound"
    assert client.get(nxt).status_code == status


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
    assert client.get("/nothing").status_code == 404
    user = fake.add_user()
    password = client.post(f"/users/{user}/authentication/methods/x/resetPassword", json={"newPassword": "x"})
    assert password.status_code == 404 and fake.calls("POST", "resetPassword")[0].json == {"newPassword": "x"}
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


@pytest.mark.parametrize("partial", [False, True])
def test_a_client_applying_every_delta_converges_to_the_directory(fake_microsoft, partial):
    """Random changes, some made while a round is being read: applying each round rebuilds the directory."""
    import random

    fake = fake_microsoft
    fake.partial_updates = partial
    rng = random.Random(partial)
    users = fake.add_users(40)
    groups = [fake.add_group(f"G{i}", members=rng.sample(users, 10)) for i in range(4)]
    fake.members_per_page = 3
    client = graph(fake)
    seen_users, seen_groups = {}, {}
    links = {
        "users": "/users/delta?$select=displayName,jobTitle,accountEnabled",
        "groups": "/groups/delta?$select=displayName,members",
    }

    def mutate():
        live = list(fake.users)
        action = rng.choice(["update", "disable", "delete", "add", "join", "leave"])
        if action == "update":
            fake.update_user(rng.choice(live), jobTitle=f"Title {rng.random():.3f}")
        elif action == "disable":
            fake.update_user(rng.choice(live), accountEnabled=False)
        elif action == "delete" and len(live) > 5:
            fake.delete_user(rng.choice(live), permanent=rng.random() < 0.5)
        elif action == "add":
            fake.add_user()
        elif action == "join":
            fake.add_members(rng.choice(groups), [rng.choice(live)])
        else:
            group = rng.choice(groups)
            if fake.members[group]:
                fake.remove_members(group, [rng.choice(list(fake.members[group]))])

    def apply(kind, item):
        store = seen_users if kind == "users" else seen_groups
        if "@removed" in item:
            store.pop(item["id"], None)
            return
        entry = store.setdefault(item["id"], {"members": set()} if kind == "groups" else {})
        for member in item.pop("members@delta", []):
            (entry["members"].discard if "@removed" in member else entry["members"].add)(member["id"])
        entry.update({k: v for k, v in item.items() if k != "id"})

    for _ in range(12):
        for kind in ("users", "groups"):
            url = links[kind]
            size = rng.choice([2, 5, 50])
            while True:
                body = client.get(url, headers={"Prefer": f"odata.maxpagesize={size}"}).json()
                for item in body["value"]:
                    apply(kind, item)
                if rng.random() < 0.3:
                    mutate()  # changes made while the round is read show up in the next one
                if "@odata.deltaLink" in body:
                    links[kind] = body["@odata.deltaLink"]
                    break
                url = body["@odata.nextLink"]
        for _ in range(rng.randrange(1, 6)):
            mutate()
    for kind in ("users", "groups"):  # a last quiet round catches up with everything
        url = links[kind]
        while url:
            body = client.get(url).json()
            for item in body["value"]:
                apply(kind, item)
            url = body.get("@odata.nextLink")
    fields = ("displayName", "jobTitle", "accountEnabled")
    assert seen_users == {uid: {f: u[f] for f in fields} for uid, u in fake.users.items()}
    assert {gid: g["members"] for gid, g in seen_groups.items()} == {
        gid: set(m) for gid, m in fake.members.items()
    }
