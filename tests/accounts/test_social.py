"""Google and Microsoft sign-in: the production OpenID Connect code against fake providers over HTTP."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.oauth2.client import OAuth2Error

from tessera.accounts.models import User
from tests.accounts.conftest import BrowserLikeClient
from tests.accounts.support import inline_code, security_actions
from tests.fakes.oidc import FakeOIDCProvider, configure_tessera, rsa_key

pytestmark = pytest.mark.django_db

GOOGLE_LOGIN = "/accounts/oidc/google/login/"


def start_at_provider(client, fake) -> str:
    """Click "Continue with Google", confirm, and let the provider consent; returns the callback URL."""
    confirm = client.get(GOOGLE_LOGIN + "?process=login")
    assert confirm.status_code == 200
    assert not confirm.cookies
    assert inline_code(confirm.content.decode()) == []
    to_provider = client.post(GOOGLE_LOGIN + "?process=login")
    assert to_provider.status_code == 302
    authorize_url = to_provider["Location"]
    assert authorize_url.startswith(fake.url + "/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/accounts/oidc/google/login/callback/"]
    back = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return back.headers["Location"]


def test_sign_in_page_offers_the_configured_providers(client, settings):
    with FakeOIDCProvider() as google, FakeOIDCProvider() as microsoft:
        configure_tessera(settings, {"google": ("Google", google), "microsoft": ("Microsoft", microsoft)})
        html = client.get("/en/accounts/login/").content.decode()
    assert 'href="/en/accounts/oidc/google/login/?process=login"' in html
    assert "Continue with Google" in html and "Continue with Microsoft" in html


def test_first_google_sign_in_asks_for_the_age_then_signs_in(client, google):
    callback = start_at_provider(client, google)
    response = client.get(callback)
    assert response.status_code == 302 and response["Location"] == "/accounts/3rdparty/signup/"
    # The token endpoint was called with the PKCE verifier and the code, once.
    assert ("POST", "/token") in google.log and ("GET", "/userinfo") in google.log

    form = client.get("/en/accounts/3rdparty/signup/")
    html = form.content.decode()
    assert 'value="Ada Lovelace"' in html and 'value="ada@example.org"' in html
    assert "I am 16 or older" in html
    assert not User.objects.exists()

    done = client.post(
        "/accounts/3rdparty/signup/",
        {
            "full_name": "Ada Lovelace",
            "email": "ada@example.org",
            "age_confirmed": "on",
            "terms_accepted": "on",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/"
    user = User.objects.get(email="ada@example.org")
    assert user.full_name == "Ada Lovelace" and user.age_confirmed_at is not None
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified  # Google vouched for it (email_verified)
    assert SocialAccount.objects.get(user=user).uid == google.claims["sub"]
    assert client.get("/accounts/").status_code == 200
    assert security_actions() == ["account.signup", "auth.login"]


def test_next_google_sign_in_signs_in_at_once(client, google):
    client.get(start_at_provider(client, google))
    client.post(
        "/accounts/3rdparty/signup/",
        {"email": "ada@example.org", "age_confirmed": "on", "terms_accepted": "on"},
    )
    client.post("/accounts/logout/")

    another_day = BrowserLikeClient()
    response = another_day.get(start_at_provider(another_day, google))
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert another_day.get("/accounts/").status_code == 200
    assert User.objects.count() == 1


def test_google_sign_up_without_the_age_confirmation_creates_nothing(client, google):
    client.get(start_at_provider(client, google))
    response = client.post("/en/accounts/3rdparty/signup/", {"email": "ada@example.org"})
    assert response.status_code == 200
    assert "You must be 16 or older to create an account." in response.content.decode()
    assert not User.objects.exists() and not SocialAccount.objects.exists()


def test_a_refused_consent_creates_nothing(client, google):
    callback = start_at_provider(client, google)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    response = client.get(
        f"/en/accounts/oidc/google/login/callback/?error=access_denied&state={state}", follow=True
    )
    assert "Sign-in cancelled" in response.content.decode()
    assert not User.objects.exists()


def test_a_forged_state_is_refused(client, google):
    callback = start_at_provider(client, google)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = client.get(f"/en/accounts/oidc/google/login/callback/?code={code}&state=forged")
    assert "Sign-in failed" in response.content.decode()
    assert ("POST", "/token") not in google.log
    assert not User.objects.exists()


def test_a_code_the_provider_refuses_is_refused(client, google):
    callback = start_at_provider(client, google).replace("code=", "code=x", 1)
    response = client.get(callback.replace("/accounts/", "/en/accounts/", 1))
    assert "Sign-in failed" in response.content.decode()
    assert not User.objects.exists() and not SocialAccount.objects.exists()


# --- the fake follows the protocol, so the tests above prove something ---------------------------


def _authorize(fake, verifier="v" * 50, redirect_uri="http://testserver/cb"):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = requests.get(
        fake.url + "/authorize",
        params={
            "client_id": fake.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _token(fake, code, verifier="v" * 50, secret=None, redirect_uri="http://testserver/cb"):
    return requests.post(
        fake.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": fake.client_id,
            "client_secret": secret or fake.client_secret,
            "code_verifier": verifier,
        },
        timeout=5,
    )


def test_fake_provider_issues_tokens_signed_with_its_published_key():
    with FakeOIDCProvider() as fake:
        discovery = requests.get(fake.url + "/.well-known/openid-configuration", timeout=5).json()
        assert discovery["issuer"] == fake.url and discovery["jwks_uri"] == fake.url + "/jwks"
        tokens = _token(fake, _authorize(fake)).json()
        claims = jwtkit.verify_and_decode(
            credential=tokens["id_token"],
            keys_url=discovery["jwks_uri"],
            issuer=fake.issuer,
            audience=fake.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
        )
        assert claims["email"] == "ada@example.org"
        userinfo = requests.get(
            fake.url + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5
        )
        assert userinfo.json()["sub"] == claims["sub"]
        forged = fake.id_token(key=rsa_key("forger"))
        with pytest.raises(OAuth2Error):
            jwtkit.verify_and_decode(
                credential=forged,
                keys_url=discovery["jwks_uri"],
                issuer=fake.issuer,
                audience=fake.client_id,
                lookup_kid=jwtkit.lookup_kid_jwk,
            )


def test_fake_provider_answers_bad_requests_with_oauth_errors():
    with FakeOIDCProvider() as fake:
        code = _authorize(fake)
        wrong_verifier = _token(fake, code, verifier="w" * 50)
        assert wrong_verifier.status_code == 400 and wrong_verifier.json()["error"] == "invalid_grant"
        # The code was burnt by the failed attempt.
        assert _token(fake, code).json()["error"] == "invalid_grant"

        code = _authorize(fake)
        assert _token(fake, code).status_code == 200
        assert _token(fake, code).json()["error"] == "invalid_grant"  # single use

        bad_client = _token(fake, _authorize(fake), secret="nope")
        assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
        other_redirect = _token(fake, _authorize(fake), redirect_uri="http://testserver/other")
        assert other_redirect.json()["error"] == "invalid_grant"

        no_token = requests.get(fake.url + "/userinfo", timeout=5)
        assert no_token.status_code == 401


@pytest.mark.parametrize(("provider_id", "name"), [("google", "Google"), ("microsoft", "Microsoft")])
def test_each_provider_is_asked_for_exactly_openid_email_and_profile(
    client, settings, monkeypatch, provider_id, name
):
    from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

    # A library whose default grows (offline access, say) must not widen what we ask for.
    monkeypatch.setattr(
        OpenIDConnectProvider,
        "get_default_scope",
        lambda self: ["openid", "email", "profile", "offline_access"],
    )
    with FakeOIDCProvider() as fake:
        configure_tessera(settings, {provider_id: (name, fake)})
        # A crafted link cannot add scopes either.
        to_provider = client.post(
            f"/accounts/oidc/{provider_id}/login/?process=login&scope=drive,offline_access"
        )
    assert to_provider.status_code == 302
    assert to_provider["Location"].startswith(fake.url + "/authorize?")
    query = parse_qs(urlsplit(to_provider["Location"]).query)
    scopes = query["scope"][0].split(" ")
    assert sorted(scopes) == ["email", "openid", "profile"] and len(scopes) == 3
