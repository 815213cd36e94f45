from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress

from tessera.accounts.models import User
from tests.accounts.support import PASSWORD, emails_to, inline_code, link_from, security_actions

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"


def signup_data(**overrides):
    return {
        "full_name": "Grace Hopper",
        "email": "grace@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "age_confirmed": "on",
        "terms_accepted": "on",
        **overrides,
    }


def test_sign_up_page_asks_for_age_and_sets_no_cookie(client):
    response = client.get(SIGNUP)
    html = response.content.decode()
    assert response.status_code == 200
    assert not response.cookies
    assert 'type="checkbox" name="age_confirmed" required' in html
    assert "J&#x27;ai 16 ans ou plus" in html or "J'ai 16 ans ou plus" in html  # French by default
    assert "I am 16 or older" in client.get("/en" + SIGNUP).content.decode()
    assert inline_code(html) == []


def test_sign_up_creates_an_unconfirmed_account_and_queues_a_confirmation_email(client):
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    # Nothing waits in a session for the confirmation: no cookie for someone not signed in.
    assert not response.cookies

    user = User.objects.get(email="grace@example.org")
    assert user.full_name == "Grace Hopper"
    assert user.age_confirmed_at is not None
    assert user.language == "fr"
    assert user.password.startswith("md5$")  # hashed (argon2 outside the test settings)
    assert not EmailAddress.objects.get(user=user).verified
    [email] = emails_to("grace@example.org", "email_confirmation_signup")
    assert "/accounts/confirm-email/" in email.body_text
    assert "<html" in email.body_html and "/accounts/confirm-email/" in email.body_html
    assert security_actions() == ["account.signup"]
    # Not signed in until the address is confirmed.
    assert client.get("/accounts/").status_code == 302


def test_sign_up_in_english_records_the_language(client):
    client.post("/en" + SIGNUP, signup_data())
    assert User.objects.get(email="grace@example.org").language == "en"


def test_sign_up_without_the_age_confirmation_is_refused_and_creates_nothing(client):
    data = signup_data()
    del data["age_confirmed"]
    response = client.post("/en" + SIGNUP, data)
    assert response.status_code == 200
    assert "You must be 16 or older to create an account." in response.content.decode()
    assert not User.objects.exists()
    assert emails_to("grace@example.org") == []


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1!", "This password is too short."),
        ("password123", "This password is too common."),
        ("4815162342108", "This password is entirely numeric."),
        ("grace@example.org", "The password is too similar to the"),
    ],
)
def test_sign_up_with_a_weak_password_is_refused_and_creates_nothing(client, password, message):
    response = client.post("/en" + SIGNUP, signup_data(password1=password, password2=password))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()


def test_sign_up_with_mismatched_passwords_is_refused(client):
    response = client.post("/en" + SIGNUP, signup_data(password2=PASSWORD + "x"))
    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_with_a_taken_address_emails_its_owner_and_creates_no_second_account(client, user):
    response = client.post(SIGNUP, signup_data(email=user.email.upper()))
    # Same answer as a fresh sign-up: nobody learns which addresses have an account.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.count() == 1
    assert EmailAddress.objects.filter(email__iexact=user.email).count() == 1
    [email] = emails_to(user.email, "account_already_exists")
    assert "/accounts/password/reset/" in email.body_text
    assert "/accounts/password/reset/" in email.body_html


def test_a_failure_half_way_through_sign_up_leaves_no_account(client, monkeypatch):
    def outbox_down(**kwargs):
        raise RuntimeError("the database refused the outbox row")

    monkeypatch.setattr("tessera.accounts.adapters.email_queue_template", outbox_down)
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        client.post(SIGNUP, signup_data())
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()


def test_confirmation_link_confirms_the_address_then_the_person_can_sign_in(client):
    client.post(SIGNUP, signup_data())
    [email] = emails_to("grace@example.org")
    link = link_from(email.body_text, "/accounts/confirm-email/")

    page = client.get(link)
    assert page.status_code == 200
    assert not page.cookies
    assert "grace@example.org" in page.content.decode()
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(email="grace@example.org").verified

    signed_in = client.post("/accounts/login/", {"login": "grace@example.org", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/accounts/"
    assert list(signed_in.cookies) == ["tessera_session"]
    assert security_actions() == ["account.signup", "account.email_confirmed", "auth.login"]


def test_signing_in_before_confirming_sends_the_link_again_instead(client):
    client.post(SIGNUP, signup_data())
    response = client.post("/accounts/login/", {"login": "grace@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not response.cookies
    assert client.get("/accounts/confirm-email/").status_code == 200
    assert client.get("/accounts/").status_code == 302
    assert len(emails_to("grace@example.org", "email_confirmation")) == 1


def test_a_forged_confirmation_link_is_refused(client):
    client.post(SIGNUP, signup_data())
    forged = "/en/accounts/confirm-email/MQ:1xVFgN:forgedsignatureforgedsignatureforged/"
    page = client.get(forged)
    assert "This confirmation link has expired or is not valid." in page.content.decode()
    client.post(forged)
    assert not EmailAddress.objects.get(email="grace@example.org").verified


def test_an_expired_confirmation_link_is_refused(client):
    client.post(SIGNUP, signup_data())
    [email] = emails_to("grace@example.org")
    link = link_from(email.body_text, "/accounts/confirm-email/").replace("/accounts/", "/en/accounts/", 1)
    with time_machine.travel(timedelta(days=3)):
        page = client.get(link)
        assert "This confirmation link has expired or is not valid." in page.content.decode()
        client.post(link)
    assert not EmailAddress.objects.get(email="grace@example.org").verified


def test_a_taken_address_costs_the_same_password_hashing_and_gets_the_same_answer(client, user, monkeypatch):
    """Sign-up timing must not tell which addresses have an account: both paths hash one password."""
    from django.contrib.auth.hashers import get_hasher

    hasher = type(get_hasher())
    calls = []
    encode = hasher.encode
    monkeypatch.setattr(hasher, "encode", lambda self, *a, **k: calls.append(1) or encode(self, *a, **k))

    fresh = client.post(SIGNUP, signup_data(email="someone.new@example.org"))
    hashed_for_new = len(calls)
    calls.clear()
    taken = client.post(SIGNUP, signup_data(email=user.email))
    assert hashed_for_new >= 1
    assert len(calls) == hashed_for_new
    assert (fresh.status_code, fresh["Location"]) == (taken.status_code, taken["Location"])
    assert fresh.content == taken.content
    assert set(fresh.cookies) == set(taken.cookies)
