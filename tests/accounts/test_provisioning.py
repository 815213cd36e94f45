"""Accounts a directory creates, their welcome link, and the roles directory groups give."""

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.utils import timezone

from tessera.accounts import services
from tessera.accounts.models import Membership, User, WelcomeLink
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy.register import registry
from tests.accounts.support import PASSWORD, emails_to, link_from
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def org(db):
    return OrganisationFactory(name="Acme & Co")


def _provisioned(org, email="dana@acme.example", language="fr"):
    user = services.user_provision(email=email, full_name="  Dana   Doe ", language=language)
    services.membership_join(organisation=org, user=user, role=Membership.Role.MEMBER)
    services.member_welcome_queue(user=user, organisation=org, language=language)
    return user


def _welcome_path(user) -> str:
    (mail,) = emails_to(user.email, kind="accounts_welcome")
    return urlsplit(link_from(mail.body_text, "/welcome/")).path


# --- user_provision ------------------------------------------------------------------------------------


def test_a_provisioned_account_has_no_usable_password_and_an_unverified_primary_address(db):
    user = services.user_provision(email=" Dana@Acme.example ", full_name="  Dana   Doe ", language="en")
    user.refresh_from_db()
    assert user.email == "dana@acme.example" and user.full_name == "Dana Doe" and user.language == "en"
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("dana@acme.example", False, True)


@pytest.mark.parametrize("taken", ["login", "secondary"])
def test_an_address_that_already_has_an_account_is_refused(db, taken):
    other = UserFactory(email="someone@acme.example")
    if taken == "secondary":
        EmailAddress.objects.create(user=other, email="dana@acme.example", verified=False, primary=False)
        address = "DANA@acme.example"
    else:
        address = "Someone@ACME.example"
    with pytest.raises(ValidationError) as error:
        services.user_provision(email=address, full_name="Dana", language="fr")
    assert "email" in error.value.message_dict
    assert User.objects.count() == 1


def test_an_invalid_address_is_refused(db):
    with pytest.raises(ValidationError) as error:
        services.user_provision(email="not an address", full_name="", language="fr")
    assert "email" in error.value.message_dict and not User.objects.exists()


# --- the welcome email and link ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "prefix", "subject"),
    [("fr", "/accounts/", "Acme & Co"), ("en", "/en/accounts/", "Your business card at Acme & Co is ready")],
)
def test_the_welcome_email_is_sealed_in_the_person_s_language(org, language, prefix, subject):
    user = _provisioned(org, language=language)
    stored = OutboxMessage.objects.get(recipient=user.email, kind="accounts_welcome")
    assert stored.confidential and "/welcome/" not in stored.body_text + stored.body_html
    assert stored.headers["Content-Language"] == language
    (mail,) = emails_to(user.email, kind="accounts_welcome")
    assert subject in mail.subject
    assert f'<html lang="{language}">' in mail.body_html
    url = link_from(mail.body_text, "/welcome/")
    assert f"{prefix}welcome/" in url and "Dana Doe" in mail.body_text


def test_only_a_hash_of_the_token_is_stored_and_only_the_newest_link_works(org, client):
    user = _provisioned(org)
    first = _welcome_path(user)
    token = first.rstrip("/").rsplit("/", 1)[1]
    link = WelcomeLink.objects.get(user=user)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not WelcomeLink.objects.filter(token_hash=token).exists()
    services.member_welcome_queue(user=user, organisation=org, language="fr")
    assert WelcomeLink.objects.filter(user=user).count() == 1
    assert client.get(first).status_code == 404


def test_the_link_sets_the_password_verifies_the_address_and_signs_in_once(org, client):
    user = _provisioned(org, language="en")
    path = _welcome_path(user)
    page = client.get(path)
    assert page.status_code == 200 and "dana@acme.example" in page.content.decode()
    response = client.post(path, {"password1": PASSWORD, "password2": PASSWORD, "age_confirmed": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and user.age_confirmed_at is not None
    assert EmailAddress.objects.get(user=user).verified
    assert int(client.session["_auth_user_id"]) == user.pk
    assert not WelcomeLink.objects.exists()
    assert SecurityEvent.objects.filter(action="accounts.welcome_link_used", actor_id=user.pk).count() == 1
    again = client.get(path)
    assert again.status_code == 404 and "This link does not work" in again.content.decode()
    again = client.post(path, {"password1": "other-" + PASSWORD, "password2": "other-" + PASSWORD})
    assert again.status_code == 404
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_expired_link_answers_a_clear_page_and_changes_nothing(org, client):
    user = _provisioned(org, language="en")
    path = _welcome_path(user)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        page = client.get(path)
        assert page.status_code == 404
        assert "already used or has expired" in page.content.decode()
        late = client.post(path, {"password1": PASSWORD, "password2": PASSWORD, "age_confirmed": "on"})
        assert late.status_code == 404
    user.refresh_from_db()
    assert not user.has_usable_password() and not EmailAddress.objects.get(user=user).verified
    assert client.get("/en/accounts/welcome/made-up-token/").status_code == 404


def test_a_weak_or_mismatched_password_is_refused_and_the_link_still_works(org, client):
    user = _provisioned(org, language="en")
    path = _welcome_path(user)
    weak = client.post(path, {"password1": "12345", "password2": "12345", "age_confirmed": "on"})
    assert weak.status_code == 400
    differ = client.post(path, {"password1": PASSWORD, "password2": PASSWORD + "x", "age_confirmed": "on"})
    assert differ.status_code == 400 and "The two passwords differ." in differ.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password() and WelcomeLink.objects.filter(user=user).exists()
    assert "_auth_user_id" not in client.session


def test_the_service_refuses_an_unknown_token(db):
    with pytest.raises(ValidationError):
        services.welcome_link_use(token="nope", password=PASSWORD)


def test_an_unused_member_account_is_kept_and_expired_links_are_deleted_by_retention(org):
    user = _provisioned(org)
    loner = UserFactory(email="loner@example.net")
    EmailAddress.objects.filter(user=loner).update(verified=False)
    activity = registry.activities["accounts.account"]
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        activity.retention.apply(now=timezone.now())
    assert User.objects.filter(pk=user.pk).exists()  # made by the organisation's directory, not a sign-up
    assert not User.objects.filter(pk=loner.pk).exists()  # a sign-up never confirmed
    assert not WelcomeLink.objects.exists()


# --- roles from directory groups -----------------------------------------------------------------------


def test_a_directory_makes_members_admins_and_back_and_logs_it(org):
    membership = MembershipFactory(organisation=org)
    services.membership_role_sync(membership=membership, role="admin", source="microsoft")
    membership.refresh_from_db()
    assert membership.role == "admin"
    services.membership_role_sync(membership=membership, role="member", source="microsoft")
    membership.refresh_from_db()
    assert membership.role == "member"
    events = list(SecurityEvent.objects.filter(action="directory.membership.role_changed").order_by("seq"))
    assert [(e.data["previous"], e.data["role"], e.data["source"]) for e in events] == [
        ("member", "admin", "microsoft"),
        ("admin", "member", "microsoft"),
    ]
    services.membership_role_sync(membership=membership, role="member", source="microsoft")
    assert SecurityEvent.objects.filter(action="directory.membership.role_changed").count() == 2


def test_a_directory_never_grants_removes_or_changes_the_owner_role(org):
    owner = Membership.objects.get(organisation=org, role="owner")
    for role in ("member", "admin"):
        services.membership_role_sync(membership=owner, role=role, source="scim")
        owner.refresh_from_db()
        assert owner.role == "owner"
    member = MembershipFactory(organisation=org)
    with pytest.raises(ValidationError):
        services.membership_role_sync(membership=member, role="owner", source="scim")
    member.refresh_from_db()
    assert member.role == "member"
    assert Membership.objects.filter(organisation=org, role="owner").count() == 1
    assert not SecurityEvent.objects.filter(action="directory.membership.role_changed").exists()
