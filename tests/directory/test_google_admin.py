"""The Google Workspace administrator check before every push: asked again, trusted ten minutes, logged."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.directory.models import Connection, Provider
from tessera.directory.providers import (
    NotOrganisationAdmin,
    NotWorkspaceAdmin,
    ProviderUnreachable,
    TokenRevoked,
)
from tessera.directory.services import connections
from tests.directory.oauth_support import events, google_connect, log_text
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)
ROLE_CHECKS = r"/customer/my_customer/roleassignments$"


@pytest.fixture
def admin():
    return UserFactory()


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin, name="Example")


@pytest.fixture
def connected(fake_google, org, admin):
    with time_machine.travel(START, tick=False) as clock:
        connection, _ = google_connect(organisation=org, actor=admin)
        fake_google.clear_log()
        yield connection, clock


def checks() -> list[dict]:
    return [event.data for event in events("directory.google_admin.checked")]


def test_trusted_for_ten_minutes_then_asked_again(fake_google, connected, admin):
    connection, clock = connected
    clock.shift(timedelta(minutes=10))
    assert connections.google_admin_verify(connection=connection, actor=admin) is True
    assert not fake_google.calls("GET", ROLE_CHECKS)  # from the check made at connection

    clock.shift(timedelta(seconds=1))
    assert connections.google_admin_verify(connection=connection, actor=admin) is True
    assert len(fake_google.calls("GET", ROLE_CHECKS)) == 1
    assert Connection.objects.get(pk=connection.pk).admin_checked_at == START + timedelta(
        minutes=10, seconds=1
    )

    # Every check is in the security log, with who asked and where the answer came from; never a token.
    assert [(c["source"], c["result"]) for c in checks()] == [
        ("connect", True),
        ("cache", True),
        ("google", True),
    ]
    assert all(event.actor_id == admin.pk for event in events("directory.google_admin.checked"))
    text = log_text()
    assert not any(token in text for token in [*fake_google.access_tokens, *fake_google.refresh_tokens])


def test_an_admin_who_lost_the_role_is_refused_at_the_next_check(fake_google, connected, admin):
    connection, clock = connected
    fake_google.unassign_roles("ada@example.org")
    clock.shift(timedelta(minutes=11))
    assert connections.google_admin_verify(connection=connection, actor=admin) is False
    assert Connection.objects.get(pk=connection.pk).admin_checked_at is None
    # A refusal is never cached: the next push asks Google again.
    with pytest.raises(NotWorkspaceAdmin):
        connections.google_admin_require(connection=connection, actor=admin)
    assert len(fake_google.calls("GET", ROLE_CHECKS)) == 2
    assert [c["result"] for c in checks()][-2:] == [False, False]


def test_the_person_pushing_must_be_an_organisation_admin(fake_google, connected, org):
    connection, _ = connected
    member = UserFactory()
    MembershipFactory(organisation=org, user=member, role="member")
    assert connections.google_admin_verify(connection=connection, actor=member) is False
    with pytest.raises(NotOrganisationAdmin):
        connections.google_admin_require(connection=connection, actor=member)
    assert not fake_google.calls("GET", ROLE_CHECKS)
    assert checks()[-1]["source"] == "not_org_admin" and checks()[-1]["result"] is False


def test_a_revoked_grant_or_an_unreachable_google_is_a_typed_error(fake_google, connected, admin):
    connection, clock = connected
    clock.shift(timedelta(minutes=11))
    fake_google.fail_next(1, status=503, path=ROLE_CHECKS)
    with pytest.raises(ProviderUnreachable):
        connections.google_admin_verify(connection=connection, actor=admin)
    assert checks()[-1] == {
        "organisation": connection.organisation_id,
        "connection": connection.pk,
        "result": False,
        "error": "unreachable",
        "source": "google",
    }
    fake_google.revoke_all()
    with pytest.raises(TokenRevoked):
        connections.google_admin_verify(connection=connection, actor=admin)
    assert Connection.objects.get(pk=connection.pk).refresh_token == ""


def test_only_google_connections_have_an_admin_check(fake_microsoft, org, admin):
    connection = Connection.objects.create(organisation=org, provider=Provider.MICROSOFT)
    with pytest.raises(ValueError):
        connections.google_admin_verify(connection=connection, actor=admin)
