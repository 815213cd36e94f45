import pytest
from allauth.account.models import EmailAddress

from tessera.accounts import services as accounts_services
from tessera.accounts.models import User
from tessera.accounts.services import api_key_create
from tessera.cards import services as cards


@pytest.fixture
def owner(db):
    user = User.objects.create_user("owner@alpha.example", "a-long-test-password", full_name="Olive Owner")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def organisation(owner):
    return accounts_services.organisation_create(owner=owner, name="Alpha")


@pytest.fixture
def card(owner, organisation):
    card = owner.cards.get(organisation=organisation)
    return cards.card_update(
        card=card,
        changes={
            "first_name": "Olive",
            "phones": [{"kind": "mobile", "number": "+33 6 12 34 56 78"}],
            "links": [{"label": "Site", "url": "https://alpha.example"}],
        },
    )


@pytest.fixture
def api_key(organisation):
    return api_key_create(organisation=organisation, name="tool")[1]
