"""The Gmail client: a service account impersonating each member, and sendAs.patch as its only Gmail call."""

import json

import httpx
import pytest

from tessera.directory import gmail
from tessera.directory.providers import CallForbidden
from tests.fakes.gmail import JWT_BEARER
from tests.signatures.gmail_support import fake_gmail  # noqa: F401

SIGNATURE = (
    '<table style="width:100%;max-width:600px"><tr><td style="color:#333">Bob Martin</td></tr></table>'
)


@pytest.fixture
def client(fake_gmail):  # noqa: F811
    fake_gmail.add_account("bob@example.org", "Bob Martin")
    gmail_client = gmail.Gmail()
    yield gmail_client
    gmail_client.close()


def test_a_member_signature_is_set_as_that_member(fake_gmail, client):  # noqa: F811
    kept = client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert kept == SIGNATURE == fake_gmail.signature_of("bob@example.org")
    grant, patch = fake_gmail.requests
    assert grant.path == "/token" and grant.form["grant_type"] == JWT_BEARER
    assert patch.method == "PATCH"
    assert patch.path == "/gmail/v1/users/bob@example.org/settings/sendAs/bob@example.org"
    assert patch.json == {"signature": SIGNATURE}  # only the signature field is touched
    # The assertion names the member, the one scope, and is no longer than an hour.
    claims = __import__("jwt").decode(grant.form["assertion"], options={"verify_signature": False})
    assert claims["sub"] == "bob@example.org" and claims["iss"] == fake_gmail.key["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/gmail.settings.basic"
    assert claims["exp"] - claims["iat"] <= 3600
    # A second write reuses the member's token: one grant per member per hour.
    client.signature_set(email="bob@example.org", signature=SIGNATURE + " ")
    assert fake_gmail.jwt_grants == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/gmail/v1/users/bob@example.org/settings/sendAs"),  # sendAs.list
        ("GET", "/gmail/v1/users/bob@example.org/settings/sendAs/bob@example.org"),  # sendAs.get
        ("PUT", "/gmail/v1/users/bob@example.org/settings/sendAs/bob@example.org"),  # sendAs.update
        ("POST", "/gmail/v1/users/bob@example.org/messages/send"),
        ("GET", "/gmail/v1/users/bob@example.org/messages"),
        ("PATCH", "/gmail/v1/users/bob@example.org/settings/vacation"),
        ("PATCH", "/gmail/v1/users/bob@example.org/settings/sendAs/bob@example.org/extra"),
        ("POST", "/admin/directory/v1/users"),
    ],
)
def test_any_other_gmail_call_raises_before_a_request_leaves(fake_gmail, client, method, path):  # noqa: F811
    with pytest.raises(CallForbidden):
        client._http.request(method, fake_gmail.url + path, json={})
    assert fake_gmail.requests == []
    # The same URL on another host is not the allowed call either.
    with pytest.raises(CallForbidden):
        client._http.patch(
            "http://127.0.0.2:9/gmail/v1/users/bob@example.org/settings/sendAs/bob@example.org", json={}
        )
    allowed = [(verb, pattern.pattern) for verb, pattern in gmail.allowed_calls()]
    assert [verb for verb, _ in allowed] == ["POST", "PATCH"]  # the token endpoint, and sendAs.patch


def test_gmail_keeps_the_signature_the_way_gmail_does(fake_gmail, client):  # noqa: F811
    hostile = (
        '<style>td{color:red}</style><script>alert(1)</script><table onclick="steal()">'
        '<tr><td style="color:#333"><a href="javascript:alert(1)">Bob</a></td></tr></table>'
    )
    kept = client.signature_set(email="bob@example.org", signature=hostile)
    assert kept == '<table><tr><td style="color:#333"><a>Bob</a></td></tr></table>'
    with pytest.raises(gmail.GmailRefused) as refused:
        client.signature_set(email="bob@example.org", signature="x" * 10_001)
    assert refused.value.detail == "Signature is too long."
    assert fake_gmail.signature_of("bob@example.org") == kept  # unchanged by the refusal


def test_reading_is_an_empty_patch_that_changes_nothing(fake_gmail, client):  # noqa: F811
    client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert client.signature_get(email="bob@example.org") == SIGNATURE
    assert fake_gmail.calls("PATCH")[-1].json == {}
    assert fake_gmail.applied["bob@example.org"] == [SIGNATURE]
    assert gmail.fingerprint(SIGNATURE) == gmail.fingerprint(SIGNATURE.replace('"', "'"))
    assert gmail.fingerprint(SIGNATURE) != gmail.fingerprint(SIGNATURE.replace("Bob", "Rob"))


def test_quota_errors_say_when_to_come_back(fake_gmail, client):  # noqa: F811
    fake_gmail.fail_next(1, status=429, retry_after=7, path="/gmail/")
    with pytest.raises(gmail.GmailBusy) as busy:
        client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert (busy.value.retry_after, busy.value.per_user, busy.value.detail) == (
        7.0,
        False,
        "Rate Limit Exceeded",
    )
    body = fake_gmail.calls("PATCH")
    assert len(body) == 1
    fake_gmail.fail_next(1, status=503, retry_after=None, path="/gmail/")
    with pytest.raises(gmail.GmailBusy) as busy:
        client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert busy.value.retry_after is None
    # Gmail's per-user quota: 250 units a second, and a patch costs 100.
    client.signature_set(email="bob@example.org", signature=SIGNATURE)
    client.signature_set(email="bob@example.org", signature=SIGNATURE)
    with pytest.raises(gmail.GmailBusy) as busy:
        client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert busy.value.per_user and busy.value.detail == "User Rate Limit Exceeded"


def test_without_delegation_or_outside_the_workspace_google_refuses(fake_gmail, client):  # noqa: F811
    with pytest.raises(gmail.GmailRefused) as refused:
        client.signature_set(email="eve@elsewhere.example", signature=SIGNATURE)
    assert refused.value.detail == "Invalid email or User ID"
    fake_gmail.delegate(fake_gmail.key["client_id"], scopes=["https://mail.google.com/"])
    with pytest.raises(gmail.DelegationMissing):
        client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert not fake_gmail.calls("PATCH")


def test_the_key_comes_from_the_environment(settings, fake_gmail, tmp_path):  # noqa: F811
    path = tmp_path / "key.json"
    path.write_text(json.dumps(fake_gmail.key))
    settings.DIRECTORY = {**settings.DIRECTORY, "GOOGLE_SERVICE_ACCOUNT_KEY": str(path)}
    assert gmail.service_account_client_id() == fake_gmail.key["client_id"]
    settings.DIRECTORY = {**settings.DIRECTORY, "GOOGLE_SERVICE_ACCOUNT_KEY": ""}
    with pytest.raises(gmail.ServiceAccountMissing):
        gmail.Gmail()
    assert gmail.service_account_client_id() == ""


def test_a_transport_failure_is_a_retry(settings, fake_gmail, client):  # noqa: F811
    fake_gmail.stop()
    with pytest.raises(gmail.GmailBusy) as busy:
        client.signature_set(email="bob@example.org", signature=SIGNATURE)
    assert busy.value.detail in {"ConnectError", "ReadError", "RemoteProtocolError"}
    assert isinstance(httpx.ConnectError("x"), httpx.TransportError)
