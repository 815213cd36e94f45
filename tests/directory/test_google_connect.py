"""Connecting Google Workspace: OAuth 2.0 with PKCE and state, a verified Workspace administrator only."""

import pytest
import time_machine
from django.utils import timezone

from tessera.directory.crypto import token_open
from tessera.directory.models import Connection, Provider
from tessera.directory.providers import (
    ConsentRefused,
    FlowInvalid,
    NotOrganisationAdmin,
    NotWorkspaceAdmin,
    OtherDirectory,
    ProviderUnreachable,
    ScopesMissing,
)
from tessera.directory.services import connections
from tests.directory.oauth_support import (
    REDIRECT_URI,
    consent,
    events,
    google_connect,
    log_text,
    query_of,
    session_of,
)
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(email="olga@example.org")


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin, name="Example")


def start(org, admin, session):
    return connections.google_connect_url(
        organisation=org, actor=admin, redirect_uri=REDIRECT_URI, session=session
    )


def test_a_super_admin_connects_and_only_the_sealed_refresh_token_is_kept(fake_google, org, admin):
    connection, _ = google_connect(organisation=org, actor=admin)

    assert connection.provider == Provider.GOOGLE and connection.is_live
    assert connection.tenant_id == fake_google.customer_id
    assert (connection.display_name, connection.primary_domain) == ("Example Org", "example.org")
    assert connection.connected_as == "ada@example.org" and connection.connected_by == admin
    # Sealed at rest: the stored value is not the token, and opens to the refresh token Google issued.
    refresh = token_open(connection.refresh_token)
    assert refresh in fake_google.refresh_tokens and refresh not in connection.refresh_token
    assert connection.admin_checked_at is not None and connection.token_used_at is not None
    # The admin check ran against the Admin SDK, then customers.get(my_customer).
    assert fake_google.calls("GET", r"/customer/my_customer/roleassignments$")[0].query == {
        "userKey": fake_google.accounts["ada@example.org"].sub,
        "includeIndirectRoleAssignments": "true",
        "maxResults": "100",
    }
    assert fake_google.calls("GET", r"/customer/my_customer/roles$")
    assert fake_google.calls("GET", r"/customers/my_customer$")
    [check] = events("directory.google_admin.checked")
    assert check.actor_id == admin.pk and check.data["result"] is True
    assert check.data["source"] == "connect" and check.data["roles"] == ["_SEED_ADMIN_ROLE"]
    assert events("directory.connection.connected")[0].data["tenant"] == fake_google.customer_id
    # No token of any kind reached the security log.
    text = log_text()
    assert refresh not in text
    assert not any(token in text for token in fake_google.access_tokens)


def test_the_pkce_verifier_and_state_never_leave_the_server(fake_google, org, admin):
    session = session_of(admin)
    url = start(org, admin, session)
    params = query_of(url)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    [flow] = session[connections.FLOW_KEY].values()
    assert flow["verifier"] not in url and params["state"] in session[connections.FLOW_KEY]
    query = consent(url)
    connections.google_connect_complete(actor=admin, session=session, query=query)
    # The verifier went to the token endpoint only, which checked it against the challenge.
    [token_call] = fake_google.calls("POST", r"^/token$")
    assert token_call.form["code_verifier"] == flow["verifier"]


def test_state_is_single_use_and_bound_to_the_person(fake_google, org, admin):
    session = session_of(admin)
    query = consent(start(org, admin, session))
    connections.google_connect_complete(actor=admin, session=session, query=query)
    with pytest.raises(FlowInvalid):
        connections.google_connect_complete(actor=admin, session=session, query=query)

    other_admin = UserFactory()
    MembershipFactory(organisation=org, user=other_admin, role="admin")
    query = consent(start(org, admin, session))
    with pytest.raises(FlowInvalid):  # someone else's callback, even with the right state
        connections.google_connect_complete(actor=other_admin, session=session, query=query)
    with pytest.raises(FlowInvalid):  # and the attempt is spent
        connections.google_connect_complete(actor=admin, session=session, query=query)


def test_an_unknown_or_forged_state_writes_nothing(fake_google, org, admin):
    session = session_of(admin)
    query = consent(start(org, admin, session))
    with pytest.raises(FlowInvalid):
        connections.google_connect_complete(actor=admin, session=session, query={**query, "state": "forged"})
    with pytest.raises(FlowInvalid):
        connections.google_connect_complete(actor=admin, session=session_of(admin), query=query)
    assert not Connection.objects.exists()
    assert not fake_google.calls("POST", r"^/token$")


def test_an_attempt_expires_after_ten_minutes(fake_google, org, admin):
    session = session_of(admin)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        url = start(org, admin, session)
        clock.shift(601)
        with pytest.raises(FlowInvalid):
            connections.google_connect_complete(actor=admin, session=session, query=consent(url))
    assert not Connection.objects.exists()


def test_only_an_organisation_admin_may_start(fake_google, org):
    member = UserFactory()
    MembershipFactory(organisation=org, user=member, role="member")
    with pytest.raises(NotOrganisationAdmin) as refused:
        start(org, member, session_of(member))
    assert "administrator of the organisation" in str(refused.value.message)
    assert not fake_google.requests


def test_a_google_account_without_an_admin_role_is_refused_and_its_grant_revoked(fake_google, org, admin):
    fake_google.add_account("bob@example.org", "Bob Martin")
    fake_google.sign_in_as("bob@example.org")
    with pytest.raises(NotWorkspaceAdmin):
        google_connect(organisation=org, actor=admin)
    assert not Connection.objects.exists()
    # The grant Google issued for this attempt is withdrawn: no token outlives a refused connection.
    assert len(fake_google.revocations) == 1
    assert all(grant.revoked for grant in fake_google.refresh_tokens.values())
    [check] = events("directory.google_admin.checked")
    assert check.data["result"] is False and check.actor_id == admin.pk
    assert events("directory.connection.refused")[0].data["error"] == "not_workspace_admin"


@pytest.mark.parametrize(
    ("role", "qualifies"),
    [
        ("USER_ADMIN_ROLE", True),  # USERS_ALL
        ("HELP_DESK_ROLE", False),  # USERS_RETRIEVE only
        ("GROUPS_ADMIN_ROLE", False),
    ],
)
def test_which_prebuilt_roles_qualify(fake_google, org, admin, role, qualifies):
    fake_google.add_account("eve@example.org", "Eve Admin", roles=[getattr(fake_google, role)])
    fake_google.sign_in_as("eve@example.org")
    if qualifies:
        assert google_connect(organisation=org, actor=admin)[0].connected_as == "eve@example.org"
    else:
        with pytest.raises(NotWorkspaceAdmin):
            google_connect(organisation=org, actor=admin)


def test_a_custom_role_with_users_update_and_a_role_given_through_a_group_qualify(fake_google, org, admin):
    custom = fake_google.add_role("Signature managers", [("USERS_UPDATE", "00haapch16h1ysv")])
    fake_google.add_account("sam@example.org", "Sam Custom", roles=[custom])
    fake_google.sign_in_as("sam@example.org")
    assert google_connect(organisation=org, actor=admin)[0].connected_as == "sam@example.org"

    # Indirect: a super admin role assigned to a group the person belongs to.
    fake_google.group_roles["it-admins@example.org"] = [fake_google.SUPER_ADMIN_ROLE]
    fake_google.add_account("gil@example.org", "Gil Group", groups=["it-admins@example.org"])
    fake_google.sign_in_as("gil@example.org")
    assert google_connect(organisation=org, actor=admin)[0].connected_as == "gil@example.org"


def test_consent_refused_or_scopes_unticked_give_a_clear_error(fake_google, org, admin):
    fake_google.consent_denied = True
    with pytest.raises(ConsentRefused):
        google_connect(organisation=org, actor=admin)
    fake_google.consent_denied = False
    fake_google.grant_only = {"https://www.googleapis.com/auth/userinfo.email"}
    with pytest.raises(ScopesMissing) as missing:
        google_connect(organisation=org, actor=admin)
    assert "gmail.settings.basic" in missing.value.detail
    assert not Connection.objects.exists()
    assert fake_google.revocations  # the partial grant was withdrawn
    assert [e.data["error"] for e in events("directory.connection.refused")] == [
        "consent_refused",
        "scopes_missing",
    ]


def test_google_unreachable_during_the_callback(fake_google, org, admin):
    session = session_of(admin)
    query = consent(start(org, admin, session))
    fake_google.stop()
    with pytest.raises(ProviderUnreachable) as error:
        connections.google_connect_complete(actor=admin, session=session, query=query)
    assert "could not be reached" in str(error.value.message)
    assert not Connection.objects.exists()


def test_connecting_again_replaces_the_token_and_another_workspace_is_refused(fake_google, org, admin):
    first, _ = google_connect(organisation=org, actor=admin)
    first_token = token_open(first.refresh_token)
    second, _ = google_connect(organisation=org, actor=admin)
    assert second.pk == first.pk
    assert token_open(Connection.objects.get(pk=first.pk).refresh_token) not in ("", first_token)
    assert Connection.objects.filter(provider=Provider.GOOGLE).count() == 1

    fake_google.customer_id = "C0another"
    with pytest.raises(OtherDirectory):
        google_connect(organisation=org, actor=admin)
    assert Connection.objects.get().tenant_id != "C0another"
