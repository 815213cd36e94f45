"""Fixtures of the signature rendering tests: an organisation, its admin, a member with a full card, templates.

Import them into a test module: `from tests.signatures.render_support import *` (names listed in __all__).
"""

import io

import pytest
from PIL import Image

from tessera.cards import services as card_services
from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
from tests.cards.conftest import PASSWORD, admin_user, card, jpeg_bytes, member, org
from tests.factories import OrganisationFactory, UserFactory

__all__ = [
    "PASSWORD",
    "STARTER_HTML",
    "admin_user",
    "card",
    "default_template",
    "jpeg_bytes",
    "member",
    "org",
    "other_admin",
    "other_org",
    "photo_card",
    "png_bytes",
]


def png_bytes(size=(300, 100), colour=(67, 56, 202, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def photo_card(card):
    card = card_services.card_update(
        card=card,
        changes={
            "department": "Engineering",
            "street": "1 rue du Port",
            "postal_code": "44000",
            "city": "Nantes",
            "links": [
                {"label": "Blog", "url": "https://bob.example/blog", "public": True},
            ],
        },
    )
    return card_services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")


@pytest.fixture
def default_template(org, admin_user):
    return signature_template_save(
        organisation=org, actor=admin_user, name="House style", html=STARTER_HTML, is_default=True,
        logo=png_bytes(),
    )  # fmt: skip


@pytest.fixture
def other_admin(db):
    return UserFactory(email="olga@beta.example", full_name="Olga Other", password=PASSWORD)


@pytest.fixture
def other_org(other_admin):
    return OrganisationFactory(owner=other_admin, name="Beta")
