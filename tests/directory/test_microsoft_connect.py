"""Connecting Microsoft Entra ID: msal's auth code flow with PKCE, admin consent, the tenant from the id_token."""

import pytest

from tessera.directory import microsoft
from tessera.directory.crypto import token_open
from tessera.directory.models import Connection, Provider
from tessera.directory.providers import (
    ConsentRefused,
    FlowInvalid,
    NotOrganisationAdmin,
    ProviderUnreachable,
    TokenRevoked,
)
from tessera.directory.services import connections
from tests.directory.oauth_support import (
    MS_REDIRECT_URI,
    consent,
    events,
    log_text,
    microsoft_connect,
    query_of,
    session_of,
)
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(email="olga@contoso.example")


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin, name="Contoso")


def start(org, admin, session):
    return connections.microsoft_connect_url(
        organisation=org, actor=admin, redirect_uri=MS_REDIRECT_URI, session=session
    )


def test_an_admin_connects_the_tenant_named_by_the_id_token(fake_microsoft, org, admin):
    connection, _ = microsoft_connect(organisation=org, actor=admin)

    assert connection.provider == Provider.MICROSOFT and connection.is_live
    assert connection.tenant_id == fake_microsoft.tenant_id
    assert connection.display_name == "Contoso" and connection.primary_domain == "contoso.example"
    assert connection.connected_as == "megan.bowen@contoso.example" and connection.connected_by == admin
    refresh = token_open(connection.refresh_token)
    assert refresh in fake_microsoft.refresh_tokens and refresh not in connection.refresh_token
    assert connection.admin_checked_at is None  # Entra has no such check: the tenant's consent is what counts
    # The organisation was read from Graph with the access token just issued.
    [read] = fake_microsoft.calls("GET", r"^/v1\.0/organization$")
    assert read.bearer in fake_microsoft.access_tokens
    text = log_text()
    assert refresh not in text and read.bearer not in text
    assert events("directory.connection.connected")[0].data["tenant"] == fake_microsoft.tenant_id


def test_the_flow_uses_pkce_and_the_organizations_authority(fake_microsoft, org, admin):
    session = session_of(admin)
    url = start(org, admin, session)
    assert url.startswith(f"{fake_microsoft.url}/organizations/oauth2/v2.0/authorize?")
    params = query_of(url)
    assert params["code_challenge_method"] == "S256"
    [flow] = session[connections.FLOW_KEY].values()
    assert flow["msal"]["code_verifier"] not in url
    connections.microsoft_connect_complete(actor=admin, session=session, query=consent(url))
    [token_call] = fake_microsoft.calls("POST", r"/oauth2/v2\.0/token$")
    assert token_call.form["code_verifier"] == flow["msal"]["code_verifier"]


def test_consent_refused_is_shown_clearly(fake_microsoft, org, admin):
    fake_microsoft.consent_denied = True
    with pytest.raises(ConsentRefused) as refused:
        microsoft_connect(organisation=org, actor=admin)
    assert "AADSTS65004" in refused.value.detail
    assert "must accept them for the whole organisation" in str(refused.value.message)
    assert not Connection.objects.exists()
    assert events("directory.connection.refused")[0].data["error"] == "consent_refused"


def test_admin_consent_required_answer_is_a_consent_error(fake_microsoft, org, admin):
    session = session_of(admin)
    url = start(org, admin, session)
    state = query_of(url)["state"]
    # What Entra sends back when the tenant's administrator must consent first.
    query = {
        "error": "consent_required",
        "error_description": "AADSTS65001: The user or administrator has not consented to use the application.",
        "state": state,
    }
    with pytest.raises(ConsentRefused):
        connections.microsoft_connect_complete(actor=admin, session=session, query=query)
    assert not Connection.objects.exists()


def test_state_is_single_use(fake_microsoft, org, admin):
    session = session_of(admin)
    query = consent(start(org, admin, session))
    connections.microsoft_connect_complete(actor=admin, session=session, query=query)
    with pytest.raises(FlowInvalid):
        connections.microsoft_connect_complete(actor=admin, session=session, query=query)
    with pytest.raises(FlowInvalid):
        connections.microsoft_connect_complete(actor=admin, session=session, query={**query, "state": "x"})
    assert Connection.objects.count() == 1


def test_only_an_organisation_admin_connects(fake_microsoft, org, admin):
    member = UserFactory()
    MembershipFactory(organisation=org, user=member, role="member")
    with pytest.raises(NotOrganisationAdmin):
        start(org, member, session_of(member))
    # Demoted between leaving for Microsoft and coming back: refused at the callback too.
    session = session_of(admin)
    query = consent(start(org, admin, session))
    org.memberships.filter(user=admin).update(role="member")
    with pytest.raises(NotOrganisationAdmin):
        connections.microsoft_connect_complete(actor=admin, session=session, query=query)
    assert not Connection.objects.exists()


def test_microsoft_unreachable(fake_microsoft, org, admin):
    fake_microsoft.stop()
    with pytest.raises(ProviderUnreachable):
        start(org, admin, session_of(admin))


def test_a_refresh_rotates_the_sealed_token_and_a_revoked_one_is_deleted(fake_microsoft, org, admin):
    connection, _ = microsoft_connect(organisation=org, actor=admin)
    before = token_open(connection.refresh_token)
    access = connections.connection_access_token(connection=connection)
    assert access in fake_microsoft.access_tokens
    connection.refresh_from_db()
    after = token_open(connection.refresh_token)
    assert after != before and after in fake_microsoft.refresh_tokens  # Entra rotated it; the new one is kept
    [refresh_call] = fake_microsoft.calls("POST", rf"^/{fake_microsoft.tenant_id}/oauth2/v2\.0/token$")
    assert set(refresh_call.form["scope"].split()) == {
        *microsoft.GRAPH_PERMISSIONS,
        "openid",
        "profile",
        "offline_access",
    }

    fake_microsoft.revoke_refresh_tokens()
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=connection)
    connection.refresh_from_db()
    assert connection.refresh_token == "" and connection.is_live
    assert events("directory.token.deleted")[0].data["reason"] == "invalid_grant"


def test_a_refresh_token_entra_let_expire_is_deleted(fake_microsoft, org, admin):
    connection, _ = microsoft_connect(organisation=org, actor=admin)
    fake_microsoft.expire_refresh_tokens()  # AADSTS700082: expired due to inactivity
    with pytest.raises(TokenRevoked) as revoked:
        connections.connection_access_token(connection=connection)
    assert "AADSTS700082" in revoked.value.detail
    connection.refresh_from_db()
    assert connection.refresh_token == ""
