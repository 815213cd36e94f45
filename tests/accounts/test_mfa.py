import pytest
from allauth.mfa.models import Authenticator

from tessera.core.models import SecurityEvent
from tests.accounts.conftest import reauthenticate, sign_in, totp_activate
from tests.accounts.support import emails_to, inline_code, security_actions, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("totp_window")]

AUTHENTICATE = "/accounts/2fa/authenticate/"


@pytest.fixture
def totp_secret(signed_in):
    secret = totp_activate(signed_in)
    signed_in.post("/accounts/logout/")
    return secret


def test_security_changes_ask_for_the_password_again(signed_in):
    response = signed_in.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    page = signed_in.get(response["Location"])
    assert page.status_code == 200 and inline_code(page.content.decode()) == []


def test_authenticator_app_setup_shows_a_qr_code_and_no_inline_code(signed_in):
    reauthenticate(signed_in)
    page = signed_in.get("/accounts/2fa/totp/activate/")
    html = page.content.decode()
    assert '<img class="qr-code" src="data:image/svg+xml;base64,' in html
    assert inline_code(html) == []


def test_authenticator_app_setup_refuses_a_wrong_code(signed_in, user):
    reauthenticate(signed_in)
    signed_in.get("/en/accounts/2fa/totp/activate/")
    response = signed_in.post("/en/accounts/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_authenticator_app_setup_creates_recovery_codes_notifies_and_logs(signed_in, user):
    totp_activate(signed_in)
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    assert emails_to(user.email, "totp_activated")
    added = SecurityEvent.objects.filter(action="mfa.added", actor_id=user.pk)
    assert sorted(entry.data["type"] for entry in added) == ["recovery_codes", "totp"]
    codes = signed_in.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200
    assert codes.content.decode().count("<li>") >= 10
    assert inline_code(codes.content.decode()) == []


def test_sign_in_with_an_authenticator_app_asks_for_the_code(client, user, totp_secret):
    response = sign_in(client, user)
    assert response.status_code == 302 and response["Location"] == AUTHENTICATE
    page = client.get(AUTHENTICATE)
    assert page.status_code == 200 and inline_code(page.content.decode()) == []
    assert client.get("/accounts/").status_code == 302  # not signed in yet

    signed = client.post(AUTHENTICATE, {"code": totp_code(totp_secret)})
    assert signed.status_code == 302 and signed["Location"] == "/accounts/"
    assert client.get("/accounts/").status_code == 200
    assert security_actions(action__in=["auth.login", "mfa.used"]) == [
        "auth.login",  # before activation, in the fixture
        "mfa.used",
        "auth.login",
    ]


def test_a_wrong_authenticator_code_is_refused_and_logged(client, user, totp_secret):
    sign_in(client, user)
    response = client.post("/en" + AUTHENTICATE, {"code": "123456"})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert client.get("/accounts/").status_code == 302
    assert security_actions(action="mfa.failed") == ["mfa.failed"]


def test_a_recovery_code_signs_in_once(client, user, totp_secret):
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap()
    code = codes.get_unused_codes()[0]
    sign_in(client, user)
    assert client.post(AUTHENTICATE, {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    sign_in(client, user)
    assert client.post(AUTHENTICATE, {"code": code}).status_code == 200


def test_the_two_factor_page_lists_the_methods(signed_in):
    page = signed_in.get("/en/accounts/2fa/")
    html = page.content.decode()
    assert "Authenticator app" in html and "Passkeys and security keys" in html
    assert inline_code(html) == []
    reauthenticate(signed_in)
    add_key = signed_in.get("/en/accounts/2fa/webauthn/add/")
    assert add_key.status_code == 200
    assert 'type="application/json"' in add_key.content.decode()
    assert inline_code(add_key.content.decode()) == []


def test_staff_without_a_second_factor_are_sent_from_the_back_office_to_set_one_up(client, staff):
    sign_in(client, staff)
    for path, target in [("/admin/", "/accounts/2fa/"), ("/en/admin/accounts/user/", "/en/accounts/2fa/")]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == target
    page = client.get("/en/accounts/2fa/")
    assert "The back-office is open only to staff with a second step" in page.content.decode()


def test_staff_with_an_authenticator_app_reach_the_back_office(client, staff):
    sign_in(client, staff)
    secret = totp_activate(client)
    back_office = client.get("/admin/")
    assert back_office.status_code == 200
    # Its forms must carry their Origin, which the site-wide no-referrer policy would blank.
    assert back_office["Referrer-Policy"] == "same-origin"
    client.post("/accounts/logout/")

    sign_in(client, staff)
    assert client.get("/admin/").status_code == 302  # still at the second step
    client.post(AUTHENTICATE, {"code": totp_code(secret, offset=1)})
    assert client.get("/en/admin/").status_code == 200


def test_people_who_are_not_staff_do_not_reach_the_back_office(signed_in):
    response = signed_in.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
