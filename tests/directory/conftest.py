"""Fixtures that start the Google and Microsoft fakes and point settings.DIRECTORY at them.

Production code reads the same settings; only the base URLs differ. msal only accepts an https authority,
so the Microsoft fake also listens with TLS and REQUESTS_CA_BUNDLE (read by msal's requests session) names
its self-signed certificate.
"""

import pytest
from django.utils import translation

from tests.fakes.google_workspace import FakeGoogle
from tests.fakes.microsoft import FakeMicrosoft


@pytest.fixture(autouse=True)
def _english():
    """Services called directly answer in English here; pages choose their language from the URL."""
    with translation.override("en"):
        yield


@pytest.fixture
def fake_microsoft(settings, monkeypatch):
    fake = FakeMicrosoft().start()
    settings.DIRECTORY = {
        **settings.DIRECTORY,
        "MICROSOFT_CLIENT_ID": fake.client_id,
        "MICROSOFT_CLIENT_SECRET": fake.client_secret,
        "MICROSOFT_AUTHORITY_HOST": fake.authority_host,
        "GRAPH_URL": fake.url + "/v1.0",
    }
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
    yield fake
    fake.stop()


@pytest.fixture
def fake_google(settings):
    fake = FakeGoogle().start()
    settings.DIRECTORY = {
        **settings.DIRECTORY,
        "GOOGLE_CLIENT_ID": fake.client_id,
        "GOOGLE_CLIENT_SECRET": fake.client_secret,
        "GOOGLE_AUTHORIZE_URL": fake.url + "/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URL": fake.url + "/token",
        "GOOGLE_REVOKE_URL": fake.url + "/revoke",
        "GOOGLE_USERINFO_URL": fake.url + "/v1/userinfo",
        "GOOGLE_ADMIN_URL": fake.url,
        "GOOGLE_GMAIL_URL": fake.url,
    }
    yield fake
    fake.stop()
