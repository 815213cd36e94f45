"""Accounts in a real browser: sign-up by email, authenticator app, passkeys, Google sign-in, cookies."""

import re

import pytest
from allauth.mfa.models import Authenticator

from tests.accounts.support import PASSWORD, UserFactory, link_from, totp_code
from tests.fakes.oidc import FakeOIDCProvider, configure_tessera


@pytest.fixture
def csp_violations(page) -> list[str]:
    """What the browser refused because of the Content-Security-Policy, and uncaught script errors."""
    found = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def cookies(page) -> list[str]:
    return sorted(cookie["name"] for cookie in page.context.cookies())


def sign_in(page, base: str, email: str, password: str = PASSWORD):
    page.goto(base + "/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', password)
    page.click('main form[action="/accounts/login/"] button[type="submit"]')


def sign_out(page):
    origin = "/".join(page.url.split("/")[:3])
    page.click('header form[action$="/accounts/logout/"] button')
    page.wait_for_url(re.compile(rf"^{re.escape(origin)}(/en)?/$"))


def confirm_password_if_asked(page, password: str = PASSWORD):
    if "/accounts/reauthenticate/" in page.url:
        page.fill('input[name="password"]', password)
        page.click('main button[type="submit"]')


def test_sign_up_confirm_by_email_and_sign_in(server, smtp, page, request_log, csp_violations):
    for path in ["/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"]:
        page.goto(server.url + path)
        assert page.locator("main h1").is_visible()
        assert cookies(page) == [], path

    page.goto(server.url + "/accounts/signup/")
    page.fill('input[name="full_name"]', "Grace Hopper")
    page.fill('input[name="email"]', "grace@example.org")
    page.fill('input[name="password1"]', PASSWORD)
    page.fill('input[name="password2"]', PASSWORD)
    page.check('input[name="age_confirmed"]')
    page.check('input[name="terms_accepted"]')
    page.click('main button[type="submit"]')
    page.wait_for_url("**/accounts/confirm-email/")
    assert cookies(page) == []

    [message] = smtp.wait_for(1)
    assert message["To"] == "grace@example.org"
    assert message.get_body(("html",)) is not None
    link = link_from(message.get_body(("plain",)).get_content(), "/accounts/confirm-email/")
    page.goto(link)
    assert "grace@example.org" in page.locator("main").inner_text()
    page.click('main button[type="submit"]')
    page.wait_for_url("**/accounts/login/")
    assert cookies(page) == []

    sign_in(page, server.url, "grace@example.org")
    page.wait_for_url(server.url + "/accounts/")
    assert page.locator('header a[href="/accounts/"]').is_visible()
    [session] = page.context.cookies()
    assert session["name"] == "tessera_session" and session["httpOnly"] and session["sameSite"] == "Lax"
    assert request_log.third_party(server.url) == []
    assert csp_violations == []


def test_staff_set_up_an_authenticator_app_then_use_the_back_office(
    server, page, settings, request_log, csp_violations
):
    settings.MFA_TOTP_TOLERANCE = 1
    staff = UserFactory(is_staff=True, is_superuser=True)
    sign_in(page, server.url, staff.email)
    page.wait_for_url(server.url + "/accounts/")
    page.goto(server.url + "/admin/")
    page.wait_for_url(server.url + "/accounts/2fa/")  # no back-office without a second factor

    page.goto(server.url + "/accounts/2fa/totp/activate/")
    confirm_password_if_asked(page)
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    qr = page.locator("img.qr-code")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#authenticator_secret").text_content().strip()
    page.fill('input[name="code"]', totp_code(secret))
    page.click('main button[type="submit"]')
    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    assert page.locator("#recovery_codes li").count() >= 10
    assert csp_violations == []

    sign_out(page)
    assert cookies(page) == []
    sign_in(page, server.url, staff.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill('input[name="code"]', totp_code(secret, offset=1))
    page.click('main form[action="/accounts/2fa/authenticate/"] button[type="submit"]')
    page.wait_for_url(server.url + "/accounts/")
    assert cookies(page) == ["tessera_session"]

    page.goto(server.url + "/en/admin/accounts/organisation/add/")
    page.fill('input[name="name"]', "Acme")
    page.fill('input[name="slug"]', "acme")
    page.click('input[name="_save"]')
    page.wait_for_url("**/en/admin/accounts/organisation/")
    assert page.locator("#result_list").get_by_role("link", name="Acme").is_visible()
    assert request_log.third_party(server.url) == []


def test_passkey_added_then_used_to_sign_in_without_password(server, page, csp_violations):
    # WebAuthn refuses IP addresses as relying party ids; "localhost" is a secure context too.
    base = server.url.replace("127.0.0.1", "localhost")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    user = UserFactory()
    sign_in(page, base, user.email)
    page.wait_for_url(base + "/accounts/")

    page.goto(base + "/accounts/2fa/webauthn/add/")
    confirm_password_if_asked(page)
    page.wait_for_url("**/accounts/2fa/webauthn/add/")
    page.fill('input[name="name"]', "Laptop")
    page.check('input[name="passwordless"]')
    page.click("#mfa_webauthn_add")
    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    key = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Laptop" and key.wrap().is_passwordless

    sign_out(page)
    page.goto(base + "/accounts/login/")
    assert cookies(page) == []
    page.click("#passkey_login")
    page.wait_for_url(base + "/accounts/")
    assert page.locator('header a[href="/accounts/"]').is_visible()
    assert cookies(page) == ["tessera_session"]

    # With a key, the password alone is no longer enough: the key is the second step.
    sign_out(page)
    sign_in(page, base, user.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(base + "/accounts/")
    assert cookies(page) == ["tessera_session"]
    assert csp_violations == []


@pytest.fixture
def google(settings):
    with FakeOIDCProvider(
        claims={"sub": "4242", "email": "ada@example.org", "email_verified": True, "name": "Ada Lovelace"}
    ) as fake:
        configure_tessera(settings, {"google": ("Google", fake)})
        yield fake


def test_google_sign_in_through_the_provider_ends_signed_in(
    server, page, google, request_log, csp_violations
):
    page.goto(server.url + "/en/accounts/login/")
    page.click("text=Continue with Google")
    page.wait_for_url("**/accounts/oidc/google/login/**")
    page.click('main button[type="submit"]')
    page.wait_for_url("**/accounts/3rdparty/signup/")
    assert page.input_value('input[name="email"]') == "ada@example.org"
    assert page.input_value('input[name="full_name"]') == "Ada Lovelace"
    page.check('input[name="age_confirmed"]')
    page.check('input[name="terms_accepted"]')
    page.click('main button[type="submit"]')
    page.wait_for_url(server.url + "/en/accounts/")
    assert page.locator('header a[href="/en/accounts/"]').is_visible()
    assert cookies(page) == ["tessera_session"]
    assert ("POST", "/token") in google.log
    # Signing out from a cookie-free page (its forms carry a signed token) ends the session too.
    page.goto(server.url + "/en/")
    sign_out(page)
    assert cookies(page) == []
    # The browser went only to Tessera and to the provider.
    assert {url.split("/")[2] for url in request_log.third_party(server.url)} == {google.url.split("/")[2]}
    assert csp_violations == []
