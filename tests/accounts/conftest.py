import pytest
from django.test import Client, TestCase

from tessera.core.csrf import FORM_FIELD, form_token_make
from tests.accounts.support import PASSWORD, UserFactory, totp_code, totp_secret_from
from tests.fakes.oidc import FakeOIDCProvider, configure_tessera


class BrowserLikeClient(Client):
    """Posts the way a browser does from our pages: an Origin header and the page's signed form token."""

    def __init__(self, **kwargs):
        super().__init__(headers={"Origin": "http://testserver"}, **kwargs)

    def post(self, path, data=None, **extra):
        return super().post(path, {FORM_FIELD: form_token_make(), **(data or {})}, **extra)


@pytest.fixture
def client():
    return BrowserLikeClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


def sign_in(client, user, password=PASSWORD):
    return client.post("/accounts/login/", {"login": user.email, "password": password})


@pytest.fixture
def signed_in(client, user):
    response = sign_in(client, user)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


@pytest.fixture
def totp_window(settings):
    # Accept the neighbouring 30-second period, so that a code computed at a period's edge still works.
    settings.MFA_TOTP_TOLERANCE = 1


def reauthenticate(client, password=PASSWORD):
    """Confirm the password again, as allauth asks before security settings change."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()[:2000]


def totp_activate(client) -> str:
    """Set up an authenticator app through the pages, as a person would; returns the secret."""
    reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = totp_secret_from(page.content.decode())
    # allauth announces the new authenticator (signal, email) once the transaction commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


@pytest.fixture
def google(settings):
    with FakeOIDCProvider() as fake:
        configure_tessera(settings, {"google": ("Google", fake)})
        yield fake
