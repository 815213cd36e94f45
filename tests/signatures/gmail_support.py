"""The Google fake with Gmail and a service account, and a Google Workspace connection made the way pages make it.

Import the fixtures into a test module: `from tests.signatures.gmail_support import fake_gmail, connected`.
"""

import json

import pytest

from tests.directory.oauth_support import google_connect
from tests.fakes.gmail import FakeGmail


@pytest.fixture
def fake_gmail(settings):
    fake = FakeGmail().start()
    key = fake.service_account()
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
        "GOOGLE_SERVICE_ACCOUNT_KEY": json.dumps(key),
    }
    fake.key = key
    yield fake
    fake.stop()


def connect_google(*, organisation, actor, fake):
    """The organisation's administrator connects its Google Workspace (a super administrator there)."""
    connection, _ = google_connect(organisation=organisation, actor=actor)
    fake.clear_log()
    return connection
