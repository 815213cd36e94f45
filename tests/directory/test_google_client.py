"""The Google and Microsoft clients: the allowlist holds before any I/O, and the Admin SDK is paged through."""

import pytest

from tessera.directory import google, microsoft
from tessera.directory.providers import CallForbidden, NotWorkspaceAdmin

READ_SCOPES = [
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/userinfo.email",
]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/directory/v1/users"),  # the seed's scopes do not read people
        ("DELETE", "/admin/directory/v1/users/ada@example.org"),
        ("POST", "/admin/directory/v1/customer/my_customer/roleassignments"),
        ("GET", "/admin/directory/v1/customer/C0other/roles"),
        ("PUT", "/gmail/v1/users/ada@example.org/settings/sendAs/ada@example.org"),
    ],
)
def test_a_google_call_outside_the_allowlist_never_leaves(fake_google, method, path):
    token = fake_google.issue_access_token(READ_SCOPES)
    with google._client(access_token=token) as client, pytest.raises(CallForbidden):
        client.request(method, fake_google.url + path)
    assert fake_google.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1.0/users"),  # sync reads through the Graph client, not through this one
        ("DELETE", "/v1.0/users/someone"),
        ("POST", "/v1.0/users/someone/authentication/methods"),
    ],
)
def test_a_microsoft_call_outside_the_allowlist_never_leaves(fake_microsoft, method, path):
    session = microsoft._GuardedSession(microsoft.allowed_calls())
    with pytest.raises(CallForbidden):
        session.request(method, fake_microsoft.url + path)
    assert fake_microsoft.requests == []


def test_roles_and_assignments_are_read_page_by_page(fake_google):
    custom = [
        fake_google.add_role(f"Reader {n}", [("USERS_RETRIEVE", "00haapch16h1ysv")]) for n in range(100)
    ]
    writer = fake_google.add_role("Signature writer", [("USERS_UPDATE", "00haapch16h1ysv")])
    fake_google.add_account("kim@example.org", "Kim Many", roles=[*custom, writer])  # 101 assignments
    token = fake_google.issue_access_token(READ_SCOPES, email="kim@example.org")
    check = google.admin_check(access_token=token, user_key="kim@example.org")
    assert check.is_admin and check.roles == ("Signature writer",)
    assert len(fake_google.calls("GET", r"/roleassignments$")) == 2  # 100 a page, then 1
    assert len(fake_google.roles) == 105 and len(fake_google.calls("GET", r"/roles$")) == 2


def test_a_person_who_may_not_read_roles_is_not_an_admin(fake_google):
    fake_google.add_account("bob@example.org", "Bob Martin")
    token = fake_google.issue_access_token(READ_SCOPES, email="bob@example.org")
    assert google.admin_check(access_token=token, user_key="bob@example.org") == google.AdminCheck(False, ())
    with pytest.raises(NotWorkspaceAdmin):
        google.customer(access_token=token)
