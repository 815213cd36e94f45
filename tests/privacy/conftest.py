import re
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator

from tessera.privacy.register import Activity, LegalBasis, Retention
from tests.factories import UserFactory


def demo_activity(name: str) -> Activity:
    """A consent-based activity on account emails, for tests that change the register."""
    return Activity(
        name=name,
        title="Newsletter statistics",
        purpose="Count openings",
        legal_basis=LegalBasis.CONSENT,
        data_subjects=("Subscribers",),
        data_categories=("Email address",),
        fields={"accounts.User": ["email"]},
        recipients=("Staff",),
        retention=Retention(description="1 year", period=timedelta(days=365)),
        security_measures=("TLS",),
    )


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
