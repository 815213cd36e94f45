"""Bad SCIM input gets a clear SCIM error (English detail, the RFC's scimType) and writes nothing."""

import pytest

from tessera.accounts.models import Membership, User
from tessera.cards.models import Card
from tessera.core.models import OutboxMessage
from tessera.directory.models import ExternalGroup, ExternalUser
from tests.directory.scim_support import (
    CORE_GROUP,
    CORE_USER,
    assert_error,
    patch_body,
    scim_client,
    user_body,
)
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganisationFactory(owner=UserFactory(email="owner@alpha.example"), name="Alpha")


@pytest.fixture
def scim(org):
    return scim_client(org)


def state() -> tuple:
    """Everything a SCIM write can touch, to prove a refusal wrote nothing."""
    return (
        list(User.objects.order_by("pk").values("pk", "email")),
        list(Membership.objects.order_by("pk").values()),
        list(Card.objects.order_by("pk").values()),
        list(ExternalUser.objects.order_by("pk").values()),
        list(ExternalGroup.objects.order_by("pk").values()),
        OutboxMessage.objects.count(),
    )


@pytest.mark.parametrize(
    ("raw", "scim_type"),
    [
        (b"{not json", "invalidSyntax"),
        (b"\xff\xfe", "invalidSyntax"),
        (b"[1, 2]", "invalidSyntax"),
        (b'{"schemas": ["' + CORE_USER.encode() + b'"], "userName": "a@alpha.example", "shoeSize": 44}', "invalidSyntax"),
        (b'{"schemas": ["urn:example:unknown"], "userName": "a@alpha.example", "urn:example:unknown": {"a": 1}}', "invalidSyntax"),
        (b'{"schemas": ["' + CORE_USER.encode() + b'"], "userName": "a@alpha.example", "active": "maybe"}', "invalidValue"),
    ],
)  # fmt: skip
def test_a_body_that_is_no_user_is_refused(scim, raw, scim_type):
    before = state()
    payload = assert_error(scim.send("POST", "Users", raw=raw), 400, scim_type)
    assert payload["detail"].isascii()
    assert state() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "x" * 10_000}, "job_title"),
        ({"title": "Engineer\x00\x07"}, "job_title"),
        ({"phoneNumbers": [{"value": "call me maybe", "type": "work"}]}, "phones"),
        ({"emails": [{"value": "not an address", "type": "work"}]}, "emails"),
        ({"emails": [], "userName": "no-address"}, "email"),
    ],
)
def test_a_hostile_or_malformed_value_is_refused_in_english_with_nothing_written(scim, changes, field):
    before = state()
    payload = assert_error(scim.send("POST", "Users", user_body(**changes)), 400, "invalidValue")
    assert field in payload["detail"] and "caract" not in payload["detail"]
    assert state() == before


def test_an_address_with_an_account_outside_the_organisation_is_refused(scim):
    UserFactory(email="eve@elsewhere.example")
    before = state()
    payload = assert_error(
        scim.send("POST", "Users", user_body("eve@elsewhere.example")), 400, "invalidValue"
    )
    assert "outside this organisation" in payload["detail"]
    assert state() == before


@pytest.mark.parametrize(
    ("operations", "scim_type"),
    [
        ([{"op": "replace", "path": "shoeSize", "value": 44}], "invalidPath"),
        ([{"op": "replace", "value": {"shoeSize": 44}}], "invalidValue"),
        ([{"op": "move", "path": "title", "value": "x"}], "invalidValue"),
        ([{"op": "remove"}], "noTarget"),
        ([], "invalidValue"),
        ([{"op": "replace", "path": "id", "value": "mine"}], "mutability"),
        ([{"op": "replace", "path": "active", "value": "maybe"}], "invalidValue"),
        ([{"op": "replace", "path": "title", "value": "Countess"}, {"op": "replace", "path": "title", "value": "x" * 10_000}], "invalidValue"),
        ([{"op": "replace", "path": 'emails[type eq "work"', "value": "a@b.c"}], "invalidPath"),
    ],
)  # fmt: skip
def test_a_patch_that_fails_anywhere_changes_nothing(scim, operations, scim_type):
    user = scim.send("POST", "Users", user_body(title="Engineer")).json()
    before = state()
    response = scim.send("PATCH", f"Users/{user['id']}", patch_body(*operations))
    assert_error(response, 400, scim_type)
    assert state() == before
    assert scim.send("GET", f"Users/{user['id']}").json()["title"] == "Engineer"


def test_a_patch_without_the_operations_member_or_with_bad_json_is_refused(scim):
    user = scim.send("POST", "Users", user_body()).json()
    before = state()
    assert_error(scim.send("PATCH", f"Users/{user['id']}", {"schemas": []}), 400, "invalidValue")
    assert_error(scim.send("PATCH", f"Users/{user['id']}", raw=b'{"Operations": ['), 400, "invalidSyntax")
    assert_error(scim.send("PUT", f"Users/{user['id']}", raw=b"nope"), 400, "invalidSyntax")
    assert state() == before


def test_a_bad_group_is_refused_with_nothing_written(scim):
    before = state()
    assert_error(scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "G", "colour": "red"}), 400, "invalidSyntax")  # fmt: skip
    assert_error(scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "x" * 300}), 400, "invalidValue")  # fmt: skip
    assert_error(scim.send("POST", "Groups", {"schemas": [CORE_GROUP]}), 400, "invalidValue")
    assert_error(scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "G", "members": [{"value": "nobody"}]}), 400, "invalidValue")  # fmt: skip
    assert state() == before


def test_a_password_a_client_sends_is_never_applied_nor_kept(scim):
    created = scim.send("POST", "Users", user_body(password="Violet-harbour-42!"))
    assert created.status_code == 201 and "password" not in created.json()
    replaced = scim.send("PUT", f"Users/{created.json()['id']}", user_body(password="Other-lantern-43!"))
    assert replaced.status_code == 200 and "password" not in replaced.json()
    patched = scim.send(
        "PATCH",
        f"Users/{created.json()['id']}",
        patch_body({"op": "replace", "path": "password", "value": "Third-key-44!"}),
    )
    assert patched.status_code == 200
    assert not User.objects.get(email="ada@alpha.example").has_usable_password()
    assert "Violet" not in str(list(ExternalUser.objects.values()))
