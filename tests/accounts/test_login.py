import re

import pytest
from django.test import Client

from tessera.core.audit import security_log_verify
from tessera.core.models import SecurityEvent
from tests.accounts.conftest import sign_in
from tests.accounts.support import PASSWORD, emails_to, inline_code, link_from, security_actions

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN_AFTER_LOGOUT_ACTION = re.compile(r'action="/accounts/logout/"[^>]*>\s*<input[^>]*value="([^"]+)"')


def test_sign_in_and_reset_pages_set_no_cookie_and_hold_no_inline_code(client):
    for path in [LOGIN, "/en" + LOGIN, "/accounts/password/reset/", "/accounts/confirm-email/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not response.cookies, path
        assert inline_code(response.content.decode()) == [], path


def test_sign_in_opens_a_session_that_is_the_only_cookie_and_is_logged(client, user):
    response = sign_in(client, user)
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert list(response.cookies) == ["tessera_session"]
    session_cookie = response.cookies["tessera_session"]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert client.get("/accounts/").status_code == 200

    [entry] = SecurityEvent.objects.filter(action="auth.login")
    assert entry.actor_id == user.pk and entry.email == user.email and entry.ip == "127.0.0.1"
    assert security_log_verify() == []


def test_sign_out_is_logged_and_ends_the_session(signed_in, user):
    response = signed_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in.get("/accounts/").status_code == 302
    assert security_actions() == ["auth.login", "auth.logout"]


def test_a_wrong_password_is_refused_with_a_clear_message_and_logged(client, user):
    response = client.post("/en" + LOGIN, {"login": user.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert not response.cookies
    [entry] = SecurityEvent.objects.filter(action="auth.login_failed")
    assert entry.email == user.email and entry.actor_id is None


def test_repeated_failures_on_one_account_lock_it_for_a_while(client, user):
    for _ in range(5):
        client.post("/en" + LOGIN, {"login": user.email, "password": "guess"})
    response = client.post("/en" + LOGIN, {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert client.get("/accounts/").status_code == 302


def test_a_sign_in_flood_gets_429_with_a_clear_message(client):
    statuses = [
        client.post(LOGIN, {"login": f"bot{i}@example.org", "password": "x"}).status_code for i in range(30)
    ]
    assert 429 not in statuses
    response = client.post("/en" + LOGIN, {"login": "bot@example.org", "password": "x"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many attempts" in html
    assert "Please wait a moment, then try again." in html
    assert not response.cookies
    assert inline_code(html) == []


def test_sign_up_flood_gets_429(client):
    for i in range(10):
        client.post("/accounts/signup/", {"email": f"bot{i}@example.org"})
    assert client.post("/accounts/signup/", {"email": "bot@example.org"}).status_code == 429


def test_password_reset_by_email_link(client, user):
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert not response.cookies
    [email] = emails_to(user.email, "password_reset_key")
    link = link_from(email.body_text, "/accounts/password/reset/key/")
    assert link in email.body_html

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    action = form_page.redirect_chain[-1][0]
    new_password = "amber-meadow-compass-77"
    done = client.post(action, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302

    assert sign_in(client, user, new_password).status_code == 302
    assert "auth.password_reset" in security_actions()
    assert emails_to(user.email, "password_reset")  # "your password was reset" notification


def test_password_reset_for_an_unknown_address_tells_that_address_only(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    # The same answer as for a known address.
    assert response.status_code == 302
    [email] = emails_to("nobody@example.org", "unknown_account")
    assert "/accounts/signup/" in email.body_text


def test_a_forged_password_reset_link_is_refused(client, user):
    response = client.get("/en/accounts/password/reset/key/1-forged-key/", follow=True)
    html = response.content.decode()
    assert "This link does not work" in html
    assert "Ask for a new link" in html


def test_the_admin_sign_in_goes_through_allauth(client, staff):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signing_out_leaves_no_session_behind(signed_in):
    response = signed_in.post("/accounts/logout/")
    assert response.cookies["tessera_session"].value == ""  # deleted
    assert response.cookies["tessera_session"]["max-age"] == 0


def test_sign_out_accepts_the_signed_token_of_cookie_free_pages_and_the_session_token(user):
    strict = Client(enforce_csrf_checks=True, headers={"Origin": "http://testserver"})
    strict.force_login(user)
    # A page that is not cookie-free renders Django's session token.
    page = strict.get("/accounts/email/").content.decode()
    session_token = TOKEN_AFTER_LOGOUT_ACTION.search(page).group(1)
    assert strict.post("/accounts/logout/", {"csrfmiddlewaretoken": "forged"}).status_code == 403
    assert strict.get("/accounts/").status_code == 200
    assert strict.post("/accounts/logout/", {"csrfmiddlewaretoken": session_token}).status_code == 302
    assert strict.get("/accounts/").status_code == 302

    strict.force_login(user)
    home = strict.get("/").content.decode()  # cookie-free: a signed token
    signed_token = TOKEN_AFTER_LOGOUT_ACTION.search(home).group(1)
    no_origin = Client(enforce_csrf_checks=True)
    no_origin.cookies = strict.cookies
    assert no_origin.post("/accounts/logout/", {"csrfmiddlewaretoken": signed_token}).status_code == 403
    assert strict.post("/accounts/logout/", {"csrfmiddlewaretoken": signed_token}).status_code == 302
    assert strict.get("/accounts/").status_code == 302
