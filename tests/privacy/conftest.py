import re

import pytest
from allauth.mfa.models import Authenticator

from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(email="ada@example.org", password="correct horse battery", full_name="Ada L")


@pytest.fixture
def staff(db):
    account = UserFactory(
        email="dpo-staff@example.org", password="pw-staff-0123", is_staff=True, is_superuser=True
    )
    Authenticator.objects.create(user=account, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return account


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def link_from(body: str) -> str:
    return re.search(r"https?://\S+/privacy/rights/link/[^/\s]+/", body).group(0)
