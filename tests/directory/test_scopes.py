"""Every authorisation URL the product builds asks for exactly the seed's scopes, and no other.

Sign-in with Google or Microsoft (allauth, OpenID Connect), connecting Google Workspace (authlib) and
connecting Entra ID (msal, which adds openid, profile and offline_access itself): each URL is built by the
production code, against the fakes, and its `scope` parameter compared as a set.
"""

import pytest

from tessera.directory.services import connections
from tests.accounts.conftest import BrowserLikeClient
from tests.directory.oauth_support import MS_REDIRECT_URI, REDIRECT_URI, query_of, session_of
from tests.factories import OrganisationFactory, UserFactory
from tests.fakes.oidc import FakeOIDCProvider, configure_tessera

pytestmark = pytest.mark.django_db

SIGN_IN = {"openid", "email", "profile"}
GOOGLE_WORKSPACE = {
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/gmail.settings.basic",
}
ENTRA_ID = {
    "offline_access",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "openid",
    "profile",
    "email",
}


def scopes_of(url: str) -> set[str]:
    scope = query_of(url)["scope"]
    words = scope.split(" ")
    assert len(words) == len(set(words)), f"a scope is repeated: {scope}"
    return set(words)


@pytest.mark.parametrize("provider_id", ["google", "microsoft"])
def test_sign_in_asks_for_identity_only(settings, provider_id):
    with FakeOIDCProvider() as google, FakeOIDCProvider() as microsoft:
        configure_tessera(settings, {"google": ("Google", google), "microsoft": ("Microsoft", microsoft)})
        fake = {"google": google, "microsoft": microsoft}[provider_id]
        response = BrowserLikeClient().post(f"/accounts/oidc/{provider_id}/login/?process=login")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(fake.url + "/authorize?")
    assert scopes_of(url) == SIGN_IN
    assert query_of(url)["code_challenge_method"] == "S256"


def test_sign_in_scopes_are_pinned_in_settings(settings):
    # Pinned, so that a change of the library's default cannot widen what sign-in asks for.
    assert settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["SCOPE"] == ["openid", "email", "profile"]


@pytest.fixture
def admin():
    return UserFactory()


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin)


def test_google_workspace_connection_asks_for_the_seed_scopes_exactly(fake_google, org, admin):
    url = connections.google_connect_url(
        organisation=org, actor=admin, redirect_uri=REDIRECT_URI, session=session_of(admin)
    )
    assert url.startswith(fake_google.url + "/o/oauth2/v2/auth?")
    assert scopes_of(url) == GOOGLE_WORKSPACE
    params = query_of(url)
    # Offline access with a consent prompt: the only way Google issues a refresh token again.
    assert (params["access_type"], params["prompt"]) == ("offline", "consent")
    assert "include_granted_scopes" not in params  # earlier grants must not widen this one


def test_entra_id_connection_asks_for_the_seed_permissions_exactly(fake_microsoft, org, admin):
    url = connections.microsoft_connect_url(
        organisation=org, actor=admin, redirect_uri=MS_REDIRECT_URI, session=session_of(admin)
    )
    assert url.startswith(fake_microsoft.url + "/organizations/oauth2/v2.0/authorize?")
    assert scopes_of(url) == ENTRA_ID
