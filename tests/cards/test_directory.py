"""Cards fed by a company directory, through accounts' hooks: values, locks, templates, disabled people."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tessera.accounts import hooks
from tessera.cards import services
from tessera.cards.models import Card
from tests.factories import MembershipFactory, UserFactory

from .conftest import brand_template

SOURCE = "Microsoft Entra ID"
VALUES = {
    "first_name": "Dana",
    "last_name": "Doe",
    "job_title": "Buyer",
    "department": "Purchasing",
    "office": "Building B, floor 3",
    "city": "Lyon",
    "phones": [{"kind": "work", "number": "+33 4 72 00 00 00"}, {"kind": "mobile", "number": "+33612345678"}],
}
LOCKED = ("first_name", "last_name", "job_title", "department", "office", "city", "phones")


@pytest.fixture
def seat(org):
    return MembershipFactory(
        organisation=org, user=UserFactory(email="dana@alpha.example", full_name="Dana D")
    )


def sync(seat, values=None, **kwargs):
    """Call the hook as the directory does; cards' receiver is the one that answers."""
    arguments = {
        "membership": seat,
        "values": VALUES if values is None else values,
        "locked": LOCKED,
        "source": SOURCE,
        "template": None,
        "groups": [],
        "active": True,
        "dry_run": False,
    } | kwargs
    (answer,) = hooks.member_synced.send(**arguments)
    return answer


def card_of(seat) -> Card:
    return Card.objects.get(organisation=seat.organisation, owner=seat.user)


def test_a_synced_member_gets_a_card_with_the_directory_s_values_and_locks(seat, org):
    assert sync(seat) == "created"
    card = card_of(seat)
    assert (card.first_name, card.last_name, card.job_title, card.office, card.company) == (
        "Dana",
        "Doe",
        "Buyer",
        "Building B, floor 3",
        "Alpha",
    )
    assert [p["number"] for p in card.phones] == ["+33472000000", "+33612345678"]
    assert sorted(card.directory_fields) == sorted(LOCKED) and card.directory_source == SOURCE
    assert card.is_active and card.slug
    assert sync(seat) == "unchanged"
    assert sync(seat, values=VALUES | {"job_title": "Head buyer"}) == "updated"
    assert card_of(seat).job_title == "Head buyer"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("job_title", "x" * 10_000),
        ("phones", [{"kind": "work", "number": "not a phone"}]),
        ("office", "nul\x00byte"),
        ("shoe_size", "44"),
    ],
)
def test_a_refused_value_names_its_field_and_writes_nothing(seat, field, value):
    with pytest.raises(ValidationError) as error:
        sync(seat, values=VALUES | {field: value})
    assert field in error.value.message_dict
    assert not Card.objects.filter(owner=seat.user).exists()
    sync(seat)
    with pytest.raises(ValidationError):
        sync(seat, values=VALUES | {"job_title": "Chief", field: value})
    assert card_of(seat).job_title == "Buyer"


def test_an_unknown_locked_field_is_refused(seat):
    with pytest.raises(ValidationError) as error:
        sync(seat, locked=("job_title", "password"))
    assert "password" in error.value.message_dict and not Card.objects.filter(owner=seat.user).exists()


def test_a_dry_run_answers_and_writes_nothing(seat):
    assert sync(seat, dry_run=True) == "created"
    assert not Card.objects.filter(owner=seat.user).exists()
    sync(seat)
    before = card_of(seat).updated_at
    assert sync(seat, values=VALUES | {"office": "Tower A"}, dry_run=True, active=False) == "updated"
    assert sync(seat, dry_run=True) == "unchanged"
    card = card_of(seat)
    assert card.office == "Building B, floor 3" and card.is_active and card.updated_at == before


def test_a_person_costs_a_handful_of_queries_and_no_template_rendering(seat, org):
    template = brand_template(org, name="Sales")
    with CaptureQueriesContext(connection) as created:
        sync(seat, template=template.public_id, groups=["Sales"])
    with CaptureQueriesContext(connection) as unchanged:
        sync(seat, template=template.public_id, groups=["Sales"])
    with CaptureQueriesContext(connection) as updated:
        sync(seat, values=VALUES | {"office": "Tower A"}, template=template.public_id, groups=["Sales"])
    # Other apps' receivers of a card's save (signatures) are theirs to count.
    created, unchanged, updated = (
        [q["sql"] for q in c if "cards_" in q["sql"]] for c in (created, unchanged, updated)
    )
    assert len(created) <= 3 and len(unchanged) == 1 and len(updated) == 2
    assert updated[1].startswith('UPDATE "cards_card" SET "office" = ')


# --- templates and groups -----------------------------------------------------------------------------


def test_a_group_s_template_overrides_the_department_s_and_leaves_with_the_group(seat, org):
    by_department = brand_template(org, name="Purchasing", departments=["Purchasing"])
    by_group = brand_template(org, name="Sales team")
    sync(seat, template=by_group.public_id, groups=["Sales"])
    card = card_of(seat)
    assert card.template == by_group and card.groups == ["Sales"] and card.directory_template
    assert services.template_for(card) == by_group
    sync(seat, template=None, groups=[])
    card = card_of(seat)
    assert card.template is None and card.groups == [] and services.template_for(card) == by_department


def test_an_administrator_s_template_stays_when_no_group_gives_one(seat, org, admin_user):
    chosen = brand_template(org, name="Chosen")
    sync(seat)
    services.card_assign(card=card_of(seat), template=chosen, groups=[])
    assert sync(seat, template=None) == "unchanged"
    assert card_of(seat).template == chosen
    other = brand_template(org, name="Group's")
    sync(seat, template=str(other.public_id))
    assert card_of(seat).template == other


def test_a_deleted_or_foreign_template_falls_back_to_the_automatic_one(seat, org, other_org):
    foreign = brand_template(other_org, name="Theirs")
    sync(seat, template=foreign.public_id)
    assert card_of(seat).template is None
    assert sync(seat, template="not-a-uuid") == "unchanged"


def test_the_templates_a_group_may_give_are_the_organisation_s(org, other_org):
    brand_template(org, name="Zeta")
    alpha = brand_template(org, name="Alpha look")
    brand_template(other_org, name="Theirs")
    (answer,) = hooks.organisation_templates.send(organisation=org)
    assert answer[0] == (str(alpha.public_id), "Alpha look")
    assert [name for _id, name in answer] == ["Alpha look", "Zeta"]


# --- disabled people ----------------------------------------------------------------------------------


def test_a_disabled_person_loses_the_public_page_and_gets_it_back_when_enabled(seat, client):
    sync(seat)
    slug = card_of(seat).slug
    assert client.get(f"/c/{slug}").status_code == 200
    assert sync(seat, active=False) == "updated"
    assert client.get(f"/c/{slug}").status_code == 404
    with pytest.raises(ValidationError):
        services.card_set_active(card=card_of(seat), active=True)  # not while the directory disables them
    assert not card_of(seat).is_active
    assert sync(seat, active=True) == "updated"
    assert card_of(seat).is_active and client.get(f"/c/{slug}").status_code == 200


def test_a_card_its_owner_turned_off_stays_off_when_the_person_is_enabled_again(seat):
    sync(seat)
    services.card_set_active(card=card_of(seat), active=False)
    sync(seat, active=False)
    sync(seat, active=True)
    card = card_of(seat)
    assert not card.is_active and card.directory_off == ""
    services.card_set_active(card=card, active=True)  # theirs to publish again
    assert card_of(seat).is_active


def test_a_person_disabled_before_their_card_exists_gets_it_off_the_web(seat):
    assert sync(seat, active=False) == "created"
    assert not card_of(seat).is_active


# --- disconnection --------------------------------------------------------------------------------------


def test_disconnecting_makes_the_fields_editable_again_and_keeps_other_sources(seat, org):
    sync(seat, active=False)
    other = MembershipFactory(organisation=org)
    sync(other, source="SCIM")
    hooks.directory_released.send(organisation=org, source=SOURCE)
    card = card_of(seat)
    assert card.directory_fields == [] and card.directory_source == "" and card.job_title == "Buyer"
    assert not card.is_active  # it stays off, but its owner may publish it again
    services.card_set_active(card=card, active=True)
    assert card_of(other).directory_source == "SCIM" and card_of(other).directory_fields
