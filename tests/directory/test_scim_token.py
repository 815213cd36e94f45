"""The SCIM bearer token: one per organisation, only its SHA-256 kept, rotated or revoked by an administrator
(services for the integration page, `manage.py scim_token <org-slug>`); anything else answers 401."""

import hashlib
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tessera.core.models import SecurityEvent
from tessera.directory.models import ScimToken
from tessera.directory.scim import urls
from tessera.directory.services.scim import scim_token_revoke, scim_token_rotate
from tests.directory.scim_support import ScimClient, assert_error, user_body
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganisationFactory(name="Alpha")


def test_only_the_hash_of_the_token_is_kept_and_rotation_is_logged_without_it(org):
    admin = UserFactory()
    token = scim_token_rotate(organisation=org, actor=admin)
    record = ScimToken.objects.get(organisation=org)
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(f"tscim_{record.prefix}_") and len(token) > 40
    assert token not in str(list(ScimToken.objects.values()))
    event = SecurityEvent.objects.filter(action="directory.scim_token.rotated").get()
    assert event.actor_id == admin.pk and event.data == {"organisation": org.pk, "token": record.prefix}
    assert token not in str(event.data)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer tscim_0000_abc", "Bearer tscim__"],
)
def test_a_missing_or_wrong_token_answers_401_in_the_scim_error_schema(org, header):
    scim_token_rotate(organisation=org)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": header} if header else {})
    for method, path in (("GET", "Users"), ("POST", "Users"), ("GET", "ServiceProviderConfig")):
        response = client.generic(method, f"/scim/v2/{path}", b"{}", content_type="application/scim+json")
        assert_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_rotated_token_stops_working_and_a_revoked_one_too(org):
    admin = UserFactory()
    old = scim_token_rotate(organisation=org, actor=admin)
    assert ScimClient(old).send("GET", "Users").status_code == 200
    new = scim_token_rotate(organisation=org, actor=admin)
    assert_error(ScimClient(old).send("GET", "Users"), 401)
    assert ScimClient(new).send("GET", "Users").status_code == 200
    scim_token_revoke(organisation=org, actor=admin)
    assert_error(ScimClient(new).send("GET", "Users"), 401)
    assert not ScimToken.objects.filter(organisation=org).exists()
    assert SecurityEvent.objects.filter(action="directory.scim_token.revoked", actor_id=admin.pk).count() == 1
    scim_token_revoke(organisation=org, actor=admin)  # nothing left to revoke: nothing logged
    assert SecurityEvent.objects.filter(action="directory.scim_token.revoked").count() == 1


def test_a_token_serves_its_own_organisation_only(org):
    other = OrganisationFactory(name="Beta")
    ours, theirs = (
        ScimClient(scim_token_rotate(organisation=org)),
        ScimClient(scim_token_rotate(organisation=other)),
    )
    assert ours.send("POST", "Users", user_body()).status_code == 201
    assert theirs.send("GET", "Users").json()["totalResults"] == 0
    assert ours.send("GET", "Users").json()["totalResults"] == 1


def test_the_last_use_is_noted_at_most_once_a_minute(org):
    client = ScimClient(scim_token_rotate(organisation=org))
    with time_machine.travel("2026-03-02 09:00:00Z", tick=False):
        client.send("GET", "Users")
        first = ScimToken.objects.get().last_used_at
    with time_machine.travel("2026-03-02 09:00:30Z", tick=False):
        client.send("GET", "Users")
        assert ScimToken.objects.get().last_used_at == first
    with time_machine.travel("2026-03-02 09:02:00Z", tick=False):
        client.send("GET", "Users")
        assert ScimToken.objects.get().last_used_at > first


def test_management_command_prints_a_new_working_token(org):
    old = scim_token_rotate(organisation=org)
    out = StringIO()
    call_command("scim_token", org.slug, stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("tscim_") and token != old
    assert ScimToken.objects.get(organisation=org).token_hash == ScimToken.digest(token)
    assert ScimClient(token).send("GET", "Users").status_code == 200
    assert_error(ScimClient(old).send("GET", "Users"), 401)
    assert SecurityEvent.objects.filter(action="directory.scim_token.rotated").count() == 2


def test_management_command_refuses_an_unknown_organisation(org):
    with pytest.raises(CommandError, match="no-such-org"):
        call_command("scim_token", "no-such-org", stdout=StringIO())
    assert ScimToken.objects.count() == 0


def test_every_scim_route_wants_the_bearer_token_and_a_signed_in_session_is_not_one(org):
    """Each route of scim/urls.py, every method: a session cookie of the organisation's owner opens nothing."""
    client = Client(enforce_csrf_checks=True)
    scim_token_rotate(organisation=org)
    client.force_login(org.memberships.get().user)
    samples = {"name": "User", "urn": "urn:ietf:params:scim:schemas:core:2.0:User", "scim_id": "x"}
    for pattern in urls.urlpatterns:
        kwargs = {key: samples[key] for key in pattern.pattern.regex.groupindex}
        path = (
            reverse(f"scim:{pattern.name}", kwargs=kwargs) if pattern.name != "unknown" else "/scim/v2/Bulk"
        )
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            response = client.generic(method, path, b"{}", content_type="application/scim+json")
            assert_error(response, 401)
            assert not response.cookies
