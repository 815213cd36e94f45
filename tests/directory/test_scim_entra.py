"""The requests Microsoft Entra's provisioning service sends, in its order, with the exact answers expected.

The request bodies follow Microsoft's tutorial "Develop and plan provisioning for a SCIM endpoint in Microsoft
Entra ID" (its User and Group operations) and the "Known issues" page of Entra's SCIM compliance (PATCH forms
with and without the aadOptscim062020 flag): `Replace` and `Add` capitalised, `active` as the string
"False", value maps without a path (keyed by `name.givenName` or by a filtered path), the Microsoft group
schema URN that carries no attribute, members added and removed by value list or by filter.
"""

import datetime as dt

import pytest
import time_machine

from tessera.accounts.models import Membership
from tessera.cards.models import Card
from tests.directory.scim_support import CORE_GROUP, CORE_USER, ENTERPRISE, LIST, PATCH_OP, scim_client
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
STAMP = "2026-03-02T09:30:00Z"
BASE = "http://testserver/scim/v2"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture
def org():
    return OrganisationFactory(owner=UserFactory(email="owner@contoso.example"), name="Contoso")


@pytest.fixture
def entra(org):
    with time_machine.travel(NOW, tick=False):
        yield scim_client(org)


def empty_list() -> dict:
    return {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def user_answer(scim_id: str, **changes) -> dict:
    answer = {
        "schemas": [CORE_USER],
        "id": scim_id,
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "meta": {"resourceType": "User", "lastModified": STAMP, "location": f"{BASE}/Users/{scim_id}"},
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "displayName": "givenName familyName",
        "active": True,
        "emails": [{"value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com", "type": "work",
                    "primary": True}],
    }  # fmt: skip
    answer.update(changes)
    return answer


def patch(*operations) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_entra_provisioning_sequence(org, entra):
    # Test Connection: a user that cannot exist, by a random GUID; an empty ListResponse means "reachable".
    probe = entra.send("GET", 'Users?filter=userName eq "ec9b0ff1-b4c5-4db5-a5c6-3a2e3f1b6f3f"')
    assert probe.status_code == 200 and probe["Content-Type"] == "application/scim+json"
    assert probe.json() == empty_list()

    # Before creating, Entra looks the user up by its matching attribute.
    lookup = 'Users?filter=userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"'
    assert entra.send("GET", lookup).json() == empty_list()

    created = entra.send(
        "POST",
        "Users",
        {
            "schemas": [CORE_USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": True,
            "emails": [{"primary": True, "type": "work",
                        "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
        },
    )  # fmt: skip
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    assert created["Location"] == f"{BASE}/Users/{user_id}"
    assert created.json() == user_answer(user_id)

    found = entra.send("GET", lookup)
    assert found.json() == {
        "schemas": [LIST],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [user_answer(user_id)],
    }
    assert entra.send("GET", f"Users/{user_id}").json() == user_answer(user_id)

    # Update a multi-valued and a single-valued attribute, Entra's capitalised ops.
    updated = entra.send(
        "PATCH",
        f"Users/{user_id}",
        patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ),
    )
    assert updated.status_code == 200, updated.content
    assert updated.json() == user_answer(
        user_id,
        name={
            "formatted": "givenName updatedFamilyName",
            "familyName": "updatedFamilyName",
            "givenName": "givenName",
        },
        emails=[{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}],
    )

    # With the compliance flag: one value map, no path, keyed by sub-attributes and a filtered path.
    replaced = entra.send(
        "PATCH",
        f"Users/{user_id}",
        patch(
            {
                "op": "replace",
                "value": {
                    "displayName": "Pvlo",
                    'emails[type eq "work"].value': "TestBcwqnm@test.microsoft.com",
                    "name.givenName": "Gtfd",
                    "name.familyName": "Pkqf",
                    "externalId": "Eqpj",
                    f"{ENTERPRISE}:employeeNumber": "Eoob",
                },
            },
            {"op": "Add", "value": {"nickName": "Babs"}},
        ),
    )
    assert replaced.status_code == 200, replaced.content
    expected = user_answer(
        user_id,
        externalId="Eqpj",
        displayName="Pvlo",
        name={"formatted": "Gtfd Pkqf", "familyName": "Pkqf", "givenName": "Gtfd"},
        emails=[{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": True}],
    )
    assert replaced.json() == expected
    card = Card.objects.get(
        organisation=org, owner__email="test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    )
    assert (card.first_name, card.last_name) == ("Gtfd", "Pkqf")

    # Disable, as Entra sends it without the flag: "Replace" and the string "False".
    disabled = entra.send(
        "PATCH", f"Users/{user_id}", patch({"op": "Replace", "path": "active", "value": "False"})
    )
    assert disabled.json() == {**expected, "active": False}
    card.refresh_from_db()
    assert card.is_active is False
    enabled = entra.send(
        "PATCH", f"Users/{user_id}", patch({"op": "replace", "path": "active", "value": True})
    )
    assert enabled.json() == expected

    # Groups: created with Microsoft's attribute-less schema URN, read without members.
    group = entra.send(
        "POST",
        "Groups",
        {
            "schemas": [CORE_GROUP, MS_GROUP],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )
    assert group.status_code == 201, group.content
    group_id = group.json()["id"]
    group_answer = {
        "schemas": [CORE_GROUP],
        "id": group_id,
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "meta": {"resourceType": "Group", "location": f"{BASE}/Groups/{group_id}"},
        "displayName": "displayName",
    }
    assert group.json() == group_answer
    assert entra.send("GET", f"Groups/{group_id}?excludedAttributes=members").json() == group_answer
    assert entra.send(
        "GET", 'Groups?excludedAttributes=members&filter=displayName eq "displayName"'
    ).json() == {
        "schemas": [LIST],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [group_answer],
    }

    renamed = entra.send(
        "PATCH",
        f"Groups/{group_id}",
        patch(
            {
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
            }
        ),
    )
    assert (renamed.status_code, renamed.content) == (204, b"")
    group_answer["displayName"] = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"

    member = {"value": user_id, "type": "User", "display": "Pvlo",
              "$ref": f"{BASE}/Users/{user_id}"}  # fmt: skip
    added = entra.send("PATCH", f"Groups/{group_id}", patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user_id}]}))  # fmt: skip
    assert (added.status_code, added.content) == (204, b"")
    assert entra.send("GET", f"Groups/{group_id}").json() == {**group_answer, "members": [member]}

    removed = entra.send("PATCH", f"Groups/{group_id}", patch({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user_id}]}))  # fmt: skip
    assert (removed.status_code, removed.content) == (204, b"")
    assert entra.send("GET", f"Groups/{group_id}").json() == group_answer

    entra.send(
        "PATCH", f"Groups/{group_id}", patch({"op": "Add", "path": "members", "value": [{"value": user_id}]})
    )
    by_filter = entra.send("PATCH", f"Groups/{group_id}", patch({"op": "remove", "path": f'members[value eq "{user_id}"]'}))  # fmt: skip
    assert (by_filter.status_code, by_filter.content) == (204, b"")
    assert entra.send("GET", f"Groups/{group_id}").json() == group_answer

    # Deletions: both answer 204 with no body; the ids are gone, the member leaves, the card goes off the web.
    deleted_group = entra.send("DELETE", f"Groups/{group_id}")
    assert (deleted_group.status_code, deleted_group.content) == (204, b"")
    deleted_user = entra.send("DELETE", f"Users/{user_id}")
    assert (deleted_user.status_code, deleted_user.content) == (204, b"")
    assert entra.send("GET", lookup).json() == empty_list()
    assert entra.send("GET", f"Users/{user_id}").status_code == 404
    assert not Membership.objects.filter(organisation=org, user=card.owner).exists()
    card.refresh_from_db()
    assert card.is_active is False
