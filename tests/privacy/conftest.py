import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model


@pytest.fixture
def user(db):
    account = get_user_model().objects.create_user(
        "ada@example.org", "correct horse battery", full_name="Ada L"
    )
    EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
    return account


@pytest.fixture
def staff(db):
    account = get_user_model().objects.create_user("dpo-staff@example.org", "pw-staff-0123", is_staff=True)
    account.is_superuser = True
    account.save()
    EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
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
