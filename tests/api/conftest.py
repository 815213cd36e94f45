import pytest

from tessera.accounts.services import api_key_create
from tessera.cards import services as cards
from tests.factories import OrganisationFactory, UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@alpha.example", password="a-long-test-password", full_name="Olive Owner")


@pytest.fixture
def organisation(owner):
    return OrganisationFactory(owner=owner, name="Alpha")


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
