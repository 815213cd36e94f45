import pytest

from tessera.accounts.models import Membership, Organisation, User
from tessera.accounts.services import api_key_create
from tests.accounts.conftest import sign_in, totp_activate
from tests.accounts.support import UserFactory
from tests.factories import OrganisationFactory

NO_MEMBERSHIPS = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("totp_window")]


@pytest.fixture
def admin_client(client, staff):
    sign_in(client, staff)
    totp_activate(client)
    return client


def test_user_list_shows_who_has_a_second_factor(admin_client, staff):
    UserFactory(email="someone@example.org")
    page = admin_client.get("/en/admin/accounts/user/?q=someone")
    html = page.content.decode()
    assert page.status_code == 200
    assert "someone@example.org" in html and staff.email not in html
    assert "Two-factor" in html


def test_a_user_is_added_with_an_email_address_not_a_username(admin_client):
    form = admin_client.get("/en/admin/accounts/user/add/")
    assert 'name="email"' in form.content.decode() and 'name="username"' not in form.content.decode()
    response = admin_client.post(
        "/en/admin/accounts/user/add/",
        {
            "email": "New.Person@Example.org",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "heron-velvet-quarry-19",
            "password2": "heron-velvet-quarry-19",
            **NO_MEMBERSHIPS,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.get(email="new.person@example.org").check_password("heron-velvet-quarry-19")


def test_a_duplicate_address_in_another_case_is_refused(admin_client, user):
    response = admin_client.post(
        "/en/admin/accounts/user/add/",
        {"email": user.email.upper(), "usable_password": "false", **NO_MEMBERSHIPS},
    )
    assert "A user with this email address already exists." in response.content.decode()


def test_an_organisation_is_created_with_its_members_and_roles(admin_client, user):
    response = admin_client.post(
        "/en/admin/accounts/organisation/add/",
        {
            "name": "Acme",
            "slug": "acme",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": str(user.pk),
            "memberships-0-role": "owner",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    membership = Membership.objects.get(organisation=Organisation.objects.get(slug="acme"))
    assert membership.user == user and membership.can_administer
    listing = admin_client.get("/en/admin/accounts/membership/?role=owner").content.decode()
    assert "Acme" in listing


def test_the_back_office_speaks_french_by_default_and_english_under_en(admin_client):
    assert 'lang="fr"' in admin_client.get("/admin/accounts/organisation/").content.decode()
    english = admin_client.get("/en/admin/accounts/organisation/").content.decode()
    assert 'lang="en"' in english and "organisations" in english


def test_api_keys_are_listed_without_their_secret_and_can_be_revoked(admin_client):
    organisation = OrganisationFactory(name="Acme")
    api_key, secret = api_key_create(organisation=organisation, name="CRM sync")
    page = admin_client.get(f"/en/admin/accounts/organisation/{organisation.pk}/change/").content.decode()
    assert "CRM sync" in page and api_key.prefix in page and secret not in page
    admin_client.post(
        "/en/admin/accounts/organisationapikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
