"""The SCIM 2.0 endpoint at /scim/v2/, driven over HTTP: authentication, discovery, filters, paging and the
Users and Groups it provisions into members and cards."""

import pytest

from tessera.accounts.models import Membership
from tessera.cards import services as cards_services
from tessera.cards.models import Card, Lead
from tessera.core import pow
from tessera.core.models import OutboxMessage
from tessera.directory.models import ExternalGroup, ExternalUser
from tests.directory.scim_support import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE,
    LIST,
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


def create(scim, user_name="ada@alpha.example", **extra) -> dict:
    response = scim.send("POST", "Users", user_body(user_name, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def card_of(org, email) -> Card:
    return Card.objects.get(organisation=org, owner__email=email)


# --- discovery and protocol -----------------------------------------------------------------------


def test_discovery_documents_describe_users_groups_and_what_the_service_supports(scim):
    config = scim.send("GET", "ServiceProviderConfig")
    assert config.status_code == 200 and config["Content-Type"] == "application/scim+json"
    body = config.json()
    assert body["patch"] == {"supported": True}
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["bulk"]["supported"] is False and body["etag"] == {"supported": False}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    types = scim.send("GET", "ResourceTypes").json()
    assert types["schemas"] == [LIST] and types["totalResults"] == 2
    assert {(t["name"], t["endpoint"]) for t in types["Resources"]} == {
        ("User", "/Users"),
        ("Group", "/Groups"),
    }
    user_type = scim.send("GET", "ResourceTypes/User").json()
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert_error(scim.send("GET", "ResourceTypes/Pet"), 404)

    schemas = scim.send("GET", "Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {CORE_USER, CORE_GROUP, ENTERPRISE}
    user_schema = scim.send("GET", f"Schemas/{CORE_USER}").json()
    assert "userName" in {a["name"] for a in user_schema["attributes"]}


def test_requests_in_plain_json_are_accepted_and_answers_set_no_cookie(org):
    scim = scim_client(org, content_type="application/json")
    response = scim.send("POST", "Users", user_body())
    assert response.status_code == 201
    assert response["Content-Type"] == "application/scim+json"
    assert response["Location"].endswith(f"/scim/v2/Users/{response.json()['id']}")
    assert not response.cookies


def test_unsupported_method_answers_405_in_the_scim_error_schema(scim):
    response = scim.send("DELETE", "Users")
    assert_error(response, 405)
    assert response["Allow"] == "GET, POST"


# --- filters and paging ---------------------------------------------------------------------------


def test_filters_match_user_name_external_id_display_name_and_id_in_any_case(scim):
    ada = create(scim)
    create(scim, "grace@alpha.example", displayName="Grace Hopper", name={"givenName": "Grace"})

    def found(expression):
        response = scim.send("GET", f"Users?filter={expression}")
        assert response.status_code == 200, response.content
        return [r["userName"] for r in response.json()["Resources"]]

    assert found('userName eq "ADA@alpha.example"') == ["ada@alpha.example"]
    assert found('USERNAME EQ "ada@alpha.example"') == ["ada@alpha.example"]
    assert found('externalId eq "ext-grace"') == ["grace@alpha.example"]
    assert found('externalId eq "EXT-GRACE"') == []  # externalId is caseExact
    assert found('displayName eq "grace hopper"') == ["grace@alpha.example"]
    assert found(f'id eq "{ada["id"]}"') == ["ada@alpha.example"]
    assert found('id eq "not-an-id"') == []
    assert found('userName eq "ada@alpha.example" and externalId eq "ext-ada"') == ["ada@alpha.example"]
    assert found('userName eq "ada@alpha.example" AND externalId eq "ext-grace"') == []
    assert found('userName eq "ada@alpha.example" or userName eq "grace@alpha.example"') == [
        "ada@alpha.example",
        "grace@alpha.example",
    ]
    assert found(f'{CORE_USER}:userName eq "ada@alpha.example"') == ["ada@alpha.example"]
    # A quote inside the value is escaped, and stays a value.
    assert found(r'userName eq "x\" or userName pr"') == []


@pytest.mark.parametrize(
    "expression",
    ['userName eq', 'userName eq "a" and', "userName ~ 1", 'title eq "x"', 'userName co "a"', "userName pr",
     'name.givenName eq "Ada"', 'emails[type eq "work"]', "userName eq 3"],
)  # fmt: skip
def test_a_bad_or_unsupported_filter_answers_400_invalid_filter(scim, expression):
    assert_error(scim.send("GET", f"Users?filter={expression}"), 400, "invalidFilter")


def test_paging_uses_a_one_based_start_index_and_count(scim):
    for n in range(5):
        create(scim, f"p{n}@alpha.example")
    page = scim.send("GET", "Users?startIndex=2&count=2").json()
    assert page["schemas"] == [LIST]
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["p1@alpha.example", "p2@alpha.example"]
    last = scim.send("GET", "Users?startIndex=5&count=10").json()
    assert [r["userName"] for r in last["Resources"]] == ["p4@alpha.example"]
    counted = scim.send("GET", "Users?count=0").json()
    assert (counted["totalResults"], counted["Resources"]) == (5, [])
    assert scim.send("GET", "Users?startIndex=0").json()["startIndex"] == 1
    assert_error(scim.send("GET", "Users?count=many"), 400, "invalidValue")


# --- Users ----------------------------------------------------------------------------------------


def test_create_makes_a_member_with_a_card_fed_and_locked_by_scim(org, scim):
    body = user_body(
        title="Engineer",
        phoneNumbers=[{"value": "+33 1 23 45 67 89", "type": "work"}, {"value": "+33 6 12 34 56 78", "type": "mobile"}],
        addresses=[{"type": "work", "streetAddress": "1 rue de la Paix", "locality": "Paris", "postalCode": "75002",
                    "country": "FR"}],
        **{ENTERPRISE: {"department": "R&D", "organization": "Alpha SA"}},
    )  # fmt: skip
    response = scim.send("POST", "Users", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["userName"] == "ada@alpha.example" and created["active"] is True
    assert created["name"]["givenName"] == "Ada" and created["title"] == "Engineer"
    assert created[ENTERPRISE] == {"department": "R&D", "organization": "Alpha SA"}
    assert created["meta"]["resourceType"] == "User"
    card = card_of(org, "ada@alpha.example")
    assert (card.first_name, card.last_name, card.job_title, card.department, card.company) == (
        "Ada",
        "Lovelace",
        "Engineer",
        "R&D",
        "Alpha SA",
    )
    assert (card.street, card.city, card.postal_code) == ("1 rue de la Paix", "Paris", "75002")
    assert {p["kind"] for p in card.phones} == {"work", "mobile"}
    assert {"first_name", "job_title", "department", "company", "phones", "city"} <= set(
        card.directory_fields
    )
    assert Membership.objects.filter(organisation=org, user__email="ada@alpha.example").exists()


@pytest.mark.parametrize(
    "duplicate",
    [{"userName": "ADA@alpha.example", "externalId": "other"}, {"userName": "other@alpha.example", "externalId": "ext-ada"}],
)  # fmt: skip
def test_a_taken_user_name_or_external_id_answers_409_uniqueness(scim, duplicate):
    create(scim)
    response = scim.send("POST", "Users", {**user_body("other@alpha.example"), **duplicate})
    assert_error(response, 409, "uniqueness")
    assert ExternalUser.objects.count() == 1


def test_another_organisations_ids_answer_404_like_unknown_ones(org, scim):
    ada = create(scim)
    group = scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "Team"}).json()
    other = scim_client(OrganisationFactory(name="Beta"))
    for method, body in (("GET", None), ("PUT", user_body()), ("PATCH", patch_body({"op": "replace", "path": "title", "value": "x"})), ("DELETE", None)):  # fmt: skip
        payload = assert_error(other.send(method, f"Users/{ada['id']}", body), 404)
        assert "ada@" not in payload["detail"] and "Lovelace" not in payload["detail"]
        assert_error(other.send(method, f"Groups/{group['id']}", body), 404)
    assert other.send("GET", 'Users?filter=userName eq "ada@alpha.example"').json()["totalResults"] == 0
    assert other.send("GET", "Groups").json()["totalResults"] == 0
    assert_error(scim.send("GET", "Users/12345"), 404)
    assert scim.send("GET", f"Users/{ada['id']}").json()["userName"] == "ada@alpha.example"


def test_put_replaces_the_user_and_empties_what_it_no_longer_carries(org, scim):
    ada = create(scim, title="Engineer")
    replaced = scim.send(
        "PUT", f"Users/{ada['id']}", user_body(name={"givenName": "Ada", "familyName": "King"})
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["name"]["familyName"] == "King" and "title" not in replaced.json()
    card = card_of(org, "ada@alpha.example")
    assert (card.last_name, card.job_title) == ("King", "")
    assert "job_title" not in card.directory_fields


def test_patch_in_every_form_identity_providers_send(org, scim):
    ada = create(scim)
    response = scim.send(
        "PATCH",
        f"Users/{ada['id']}",
        patch_body(
            {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
            {"op": "Add", "path": "title", "value": "Countess"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada@alpha.example"},
            {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+33 6 12 34 56 78"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Analytical Engines"},
        ),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"]["givenName"] == "Augusta" and body["title"] == "Countess"
    assert [p["type"] for p in body["phoneNumbers"]] == ["mobile"]
    card = card_of(org, "ada@alpha.example")
    assert (card.first_name, card.job_title, card.department) == ("Augusta", "Countess", "Analytical Engines")

    removed = scim.send("PATCH", f"Users/{ada['id']}", patch_body({"op": "Remove", "path": "title"}))
    assert removed.status_code == 200 and "title" not in removed.json()
    assert card_of(org, "ada@alpha.example").job_title == ""


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": "active", "value": False},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "replace", "value": {"active": False}},
        {"op": "Replace", "value": {"active": "False"}},
    ],
)
def test_active_false_in_any_form_takes_the_card_off_the_web_and_true_brings_it_back(org, scim, operation):
    ada = create(scim)
    response = scim.send("PATCH", f"Users/{ada['id']}", patch_body(operation))
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert card_of(org, "ada@alpha.example").is_active is False
    assert ExternalUser.objects.get().active is False
    back = scim.send(
        "PATCH", f"Users/{ada['id']}", patch_body({"op": "Replace", "value": {"active": "True"}})
    )
    assert back.json()["active"] is True
    assert card_of(org, "ada@alpha.example").is_active is True


def test_a_no_path_value_map_may_name_sub_attributes_and_extension_attributes(org, scim):
    ada = create(scim)
    response = scim.send(
        "PATCH",
        f"Users/{ada['id']}",
        patch_body(
            {
                "op": "Replace",
                "value": {
                    "name.familyName": "Byron",
                    "displayName": "Ada Byron",
                    f"{ENTERPRISE}:department": "Maths",
                },
            }
        ),
    )
    assert response.status_code == 200, response.content
    assert response.json()["displayName"] == "Ada Byron"
    card = card_of(org, "ada@alpha.example")
    assert (card.last_name, card.department) == ("Byron", "Maths")


def test_renaming_the_user_name_keeps_the_same_person(org, scim):
    ada = create(scim)
    renamed = scim.send("PATCH", f"Users/{ada['id']}", patch_body({"op": "Replace", "path": "userName", "value": "ada.l@alpha.example"}))  # fmt: skip
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["id"] == ada["id"] and renamed.json()["userName"] == "ada.l@alpha.example"
    assert ExternalUser.objects.get().user_name == "ada.l@alpha.example"
    create(scim, "grace@alpha.example")
    taken = scim.send("PATCH", f"Users/{ada['id']}", patch_body({"op": "Replace", "path": "userName", "value": "Grace@alpha.example"}))  # fmt: skip
    assert_error(taken, 409, "uniqueness")


def test_delete_ends_the_seat_and_takes_the_card_off_the_web_and_the_id_is_gone(org, scim, settings):
    ada = create(scim)
    settings.TESSERA_CARDS_POW_BITS = 8
    card = card_of(org, "ada@alpha.example")
    challenge = pow.challenge_issue(scope=f"card:{card.slug}")
    lead = cards_services.lead_capture(
        card=card,
        data={"name": "Vera Visitor", "email": "vera@example.net", "consent": True},
        challenge=challenge,
        nonce=pow.solve(challenge),
    )
    response = scim.send("DELETE", f"Users/{ada['id']}")
    assert response.status_code == 204 and response.content == b""
    assert not Membership.objects.filter(organisation=org, user__email="ada@alpha.example").exists()
    assert not Card.objects.filter(
        organisation=org, owner__email="ada@alpha.example", is_active=True
    ).exists()
    assert ExternalUser.objects.get().removed_at is not None
    # The leads stay with their owner, for the owner's own retention.
    assert Lead.objects.get(pk=lead.pk).owner.email == "ada@alpha.example"
    assert_error(scim.send("GET", f"Users/{ada['id']}"), 404)
    assert scim.send("GET", 'Users?filter=userName eq "ada@alpha.example"').json()["totalResults"] == 0
    # The identity provider may provision the person again.
    assert create(scim)["userName"] == "ada@alpha.example"


# --- Groups ---------------------------------------------------------------------------------------


def test_groups_are_created_renamed_filled_emptied_and_deleted(org, scim):
    ada, grace = create(scim), create(scim, "grace@alpha.example")
    response = scim.send(
        "POST",
        "Groups",
        {
            "schemas": [CORE_GROUP],
            "externalId": "g-1",
            "displayName": "Engineers",
            "members": [{"value": ada["id"]}],
        },
    )
    assert response.status_code == 201, response.content
    group = response.json()
    assert [m["value"] for m in group["members"]] == [ada["id"]]
    assert_error(scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "externalId": "g-1", "displayName": "Twin"}), 409, "uniqueness")  # fmt: skip

    def members():
        return {m["value"] for m in scim.send("GET", f"Groups/{group['id']}").json().get("members", [])}

    added = scim.send("PATCH", f"Groups/{group['id']}", patch_body({"op": "Add", "path": "members", "value": [{"value": grace["id"]}]}))  # fmt: skip
    assert added.status_code == 204 and added.content == b""
    assert members() == {ada["id"], grace["id"]}
    scim.send("PATCH", f"Groups/{group['id']}", patch_body({"op": "Remove", "path": f'members[value eq "{ada["id"]}"]'}))  # fmt: skip
    assert members() == {grace["id"]}
    scim.send("PATCH", f"Groups/{group['id']}", patch_body({"op": "Remove", "path": "members", "value": [{"value": grace["id"]}]}))  # fmt: skip
    assert members() == set()
    renamed = scim.send("PATCH", f"Groups/{group['id']}", patch_body({"op": "Replace", "path": "displayName", "value": "Makers"}))  # fmt: skip
    assert renamed.status_code == 204
    assert (
        scim.send("GET", 'Groups?filter=displayName eq "makers"').json()["Resources"][0]["id"] == group["id"]
    )
    put = scim.send("PUT", f"Groups/{group['id']}", {"schemas": [CORE_GROUP], "displayName": "Makers", "members": [{"value": ada["id"]}]})  # fmt: skip
    assert put.status_code == 200 and [m["value"] for m in put.json()["members"]] == [ada["id"]]
    assert scim.send("DELETE", f"Groups/{group['id']}").status_code == 204
    assert_error(scim.send("GET", f"Groups/{group['id']}"), 404)
    assert ExternalGroup.objects.get().removed_at is not None


def test_a_member_that_is_nobody_here_is_refused_with_nothing_written(org, scim):
    create(scim)
    group = scim.send("POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "Team"}).json()
    stranger = create(scim_client(OrganisationFactory(name="Beta")), "eve@beta.example")
    for value in (stranger["id"], "not-an-id"):
        response = scim.send(
            "PATCH",
            f"Groups/{group['id']}",
            patch_body({"op": "Add", "path": "members", "value": [{"value": value}]}),
        )
        assert_error(response, 400, "invalidValue")
    assert ExternalGroup.objects.get(scim_id=group["id"]).members.count() == 0


def test_a_trailing_slash_is_accepted_and_an_unknown_path_is_a_scim_404(scim):
    ada = create(scim)
    assert scim.send("GET", "Users/").json()["totalResults"] == 1
    assert scim.send("GET", f"Users/{ada['id']}/").json()["id"] == ada["id"]
    assert scim.send("GET", "ServiceProviderConfig/").status_code == 200
    for path in ("Bulk", "Me", ".search", "Users/x/y"):
        assert_error(scim.send("POST", path, {}), 404)


def test_attributes_and_excluded_attributes_choose_what_the_answer_carries(scim):
    ada = create(scim, title="Engineer")
    only = scim.send("GET", f"Users/{ada['id']}?attributes=userName,title").json()
    assert set(only) == {"schemas", "id", "userName", "title"}
    without = scim.send("GET", "Users?excludedAttributes=emails,name").json()["Resources"][0]
    assert "emails" not in without and "name" not in without and without["title"] == "Engineer"


def test_a_user_name_that_is_an_address_is_the_address_when_no_email_is_sent(org, scim):
    response = scim.send("POST", "Users", user_body("grace@alpha.example", emails=[]))
    assert response.status_code == 201, response.content
    assert response.json()["emails"] == [{"value": "grace@alpha.example", "type": "work", "primary": True}]
    assert card_of(org, "grace@alpha.example").first_name == "Ada"


def test_an_inactive_newcomer_gets_a_card_off_the_web_and_no_invitation(org, scim):
    created = create(scim, active=False)
    assert created["active"] is False
    assert card_of(org, "ada@alpha.example").is_active is False
    assert not OutboxMessage.objects.filter(recipient="ada@alpha.example").exists()


def test_a_body_over_the_size_limit_answers_413(scim, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    assert_error(scim.send("POST", "Users", user_body(displayName="x" * 500)), 413)
    assert not ExternalUser.objects.exists()


def test_a_group_patch_may_replace_all_members_at_once(scim):
    ada, grace = create(scim), create(scim, "grace@alpha.example")
    group = scim.send(
        "POST", "Groups", {"schemas": [CORE_GROUP], "displayName": "T", "members": [{"value": ada["id"]}]}
    )
    operation = {"op": "Replace", "path": "members", "value": [{"value": grace["id"]}]}
    assert scim.send("PATCH", f"Groups/{group.json()['id']}", patch_body(operation)).status_code == 204
    members = scim.send("GET", f"Groups/{group.json()['id']}").json()["members"]
    assert [m["value"] for m in members] == [grace["id"]]
    assert ExternalGroup.objects.get().members.get().user_name == "grace@alpha.example"
