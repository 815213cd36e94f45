"""The one path of every directory: people and groups applied to an organisation (services/people.py)."""

import pytest
from allauth.account.models import EmailAddress

from tessera.accounts.models import Membership, User
from tessera.cards.models import Card, CardTemplate
from tessera.core.models import OutboxMessage
from tessera.directory.models import ExternalUser, Provider
from tessera.directory.services.people import (
    Person,
    PersonRejected,
    group_apply,
    group_mapping_set,
    person_apply,
    person_remove,
)
from tests.factories import CardFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTRA = Provider.MICROSOFT
LOCKED = ("first_name", "last_name", "job_title", "department", "phones")


@pytest.fixture
def owner():
    return UserFactory(email="owner@alpha.example", full_name="Olga Owner")


@pytest.fixture
def org(owner):
    return OrganisationFactory(owner=owner, name="Alpha")


def ada(**changes) -> Person:
    values = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "job_title": "Engineer",
        "department": "R&D",
        "phones": [{"kind": "work", "number": "+33 1 23 45 67 89"}],
    }
    fields = {"external_id": "obj-ada", "user_name": "ada@alpha.example", "email": "ada@alpha.example"}
    fields.update({k: v for k, v in changes.items() if k in ("external_id", "user_name", "email", "active")})
    values.update({k: v for k, v in changes.items() if k not in fields})
    return Person(values=values, display_name="Ada Lovelace", **fields)


def apply(org, person, **kwargs):
    return person_apply(organisation=org, provider=ENTRA, person=person, locked=LOCKED, **kwargs)


def state(org) -> tuple:
    """Everything a person's application can write, to prove a refusal wrote nothing."""
    return (
        User.objects.count(),
        Membership.objects.filter(organisation=org).count(),
        list(Card.objects.filter(organisation=org).order_by("pk").values()),
        ExternalUser.objects.count(),
        OutboxMessage.objects.count(),
    )


def test_a_newcomer_gets_an_account_without_password_a_membership_a_locked_card_and_a_sealed_welcome(org):
    outcome = apply(org, ada())
    assert outcome.result == "created"
    user = User.objects.get(email="ada@alpha.example")
    assert not user.has_usable_password()
    # The directory's word is not a proof of the address: the welcome link verifies it.
    assert not EmailAddress.objects.get(user=user).verified
    assert Membership.objects.get(organisation=org, user=user).role == Membership.Role.MEMBER
    card = Card.objects.get(organisation=org, owner=user)
    assert (card.first_name, card.job_title, card.department) == ("Ada", "Engineer", "R&D")
    assert card.phones[0]["number"] == "+33123456789"
    assert set(card.directory_fields) == set(LOCKED)
    assert card.directory_source == "Microsoft Entra ID"
    assert outcome.external_user.user == user and outcome.external_user.external_id == "obj-ada"
    welcome = OutboxMessage.objects.get(recipient="ada@alpha.example")
    assert welcome.confidential


def test_the_same_person_again_is_unchanged_and_a_new_title_is_an_update(org):
    apply(org, ada())
    assert apply(org, ada()).result == "unchanged"
    assert apply(org, ada(job_title="Chief Engineer")).result == "updated"
    assert Card.objects.get(organisation=org, owner__email="ada@alpha.example").job_title == "Chief Engineer"
    assert User.objects.filter(email="ada@alpha.example").count() == 1
    assert (
        OutboxMessage.objects.filter(recipient="ada@alpha.example").count() == 1
    )  # one welcome, not one per sync


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"job_title": "x" * 10_000}, "job_title"),
        ({"phones": [{"kind": "work", "number": "not a phone"}]}, "phones"),
        ({"email": "not-an-address", "user_name": "ada"}, "email"),
        ({"user_name": "ada\x00@alpha.example"}, "userName"),
    ],
)
def test_a_hostile_value_rejects_the_person_with_the_field_named_and_writes_nothing(org, change, field):
    before = state(org)
    with pytest.raises(PersonRejected) as refused:
        apply(org, ada(**change))
    assert field in refused.value.message_dict
    assert state(org) == before


def test_a_refused_update_leaves_the_card_as_it_was(org):
    apply(org, ada())
    before = state(org)
    with pytest.raises(PersonRejected):
        apply(org, ada(job_title="Chief", phones=[{"kind": "work", "number": "12"}]))
    assert state(org) == before


def test_an_address_with_an_account_outside_the_organisation_is_refused_and_that_account_untouched(
    org, english
):
    elsewhere = UserFactory(email="ada@alpha.example")
    OrganisationFactory(owner=elsewhere, name="Beta")
    before = state(org)
    with pytest.raises(PersonRejected) as refused:
        apply(org, ada())
    assert "invite them" in str(refused.value.message_dict["email"])
    assert state(org) == before
    assert not Membership.objects.filter(organisation=org, user=elsewhere).exists()


def test_an_unverified_address_of_a_member_does_not_identify_them(org):
    unverified = UserFactory(email="ada@alpha.example", unverified=True)
    MembershipFactory(organisation=org, user=unverified)
    with pytest.raises(PersonRejected):
        apply(org, ada())


def test_an_existing_verified_member_is_matched_by_address_and_keeps_their_account(org):
    member = UserFactory(email="ada@alpha.example")
    MembershipFactory(organisation=org, user=member)
    CardFactory(owner=member, organisation=org, first_name="A", job_title="Old")
    assert apply(org, ada()).result == "updated"
    assert User.objects.filter(email="ada@alpha.example").count() == 1
    assert Card.objects.get(owner=member, organisation=org).job_title == "Engineer"
    assert not OutboxMessage.objects.filter(
        recipient="ada@alpha.example"
    ).exists()  # they already have access


def test_disabled_then_enabled_takes_the_card_off_the_web_and_back(org):
    apply(org, ada())
    assert apply(org, ada(active=False)).result == "deactivated"
    card = Card.objects.get(organisation=org, owner__email="ada@alpha.example")
    assert not card.is_active
    apply(org, ada(active=True))
    card.refresh_from_db()
    assert card.is_active


def test_a_dry_run_answers_what_would_happen_and_writes_nothing(org):
    before = state(org)
    assert apply(org, ada(), dry_run=True).result == "created"
    assert state(org) == before
    apply(org, ada())
    before = state(org)
    assert apply(org, ada(job_title="CTO"), dry_run=True).result == "updated"
    assert apply(org, ada(active=False), dry_run=True).result == "deactivated"
    assert state(org) == before


def test_groups_give_a_template_and_a_role_but_never_touch_the_owner(org, owner):
    template = CardTemplate.objects.create(organisation=org, name="Engineering")
    ada_user = apply(org, ada()).external_user
    owner_external = person_apply(
        organisation=org,
        provider=ENTRA,
        person=Person(external_id="obj-owner", user_name=owner.email, email=owner.email, values={}),
    ).external_user
    group = group_apply(
        organisation=org,
        provider=ENTRA,
        external_id="grp-eng",
        display_name="Engineering",
        members=[ada_user, owner_external],
    )
    group_mapping_set(group=group, template=template.public_id, role=Membership.Role.ADMIN)
    card = Card.objects.get(organisation=org, owner=ada_user.user)
    assert card.template == template
    assert Membership.objects.get(organisation=org, user=ada_user.user).role == Membership.Role.ADMIN
    assert Membership.objects.get(organisation=org, user=owner).role == Membership.Role.OWNER
    group_apply(
        organisation=org, provider=ENTRA, external_id="grp-eng", display_name="Engineering", members=[]
    )
    assert Membership.objects.get(organisation=org, user=ada_user.user).role == Membership.Role.MEMBER
    assert Membership.objects.get(organisation=org, user=owner).role == Membership.Role.OWNER


def test_a_group_cannot_grant_the_owner_role(org, english):
    group = group_apply(organisation=org, provider=ENTRA, external_id="g", display_name="Bosses")
    with pytest.raises(Exception, match="administrators or members"):
        group_mapping_set(group=group, role=Membership.Role.OWNER)


def test_a_removed_person_keeps_membership_and_card_but_leaves_the_web(org):
    external = apply(org, ada()).external_user
    assert person_remove(external_user=external) == "deactivated"
    card = Card.objects.get(organisation=org, owner=external.user)
    assert not card.is_active
    assert Membership.objects.filter(organisation=org, user=external.user).exists()
    assert person_remove(external_user=external) == "unchanged"


def test_leaving_ends_the_membership_and_the_card_is_never_deleted(org):
    external = apply(org, ada()).external_user
    person_remove(external_user=external, leave=True)
    assert not Membership.objects.filter(organisation=org, user=external.user).exists()
    card = Card.objects.get(owner=external.user)
    assert not card.is_active


def test_a_disconnection_in_another_language_releases_the_cards_a_sync_locked(org, owner, fake_microsoft):
    from django.utils import translation

    from tessera.directory.services.connections import connection_disconnect
    from tests.directory.oauth_support import microsoft_connect

    connection, _query = microsoft_connect(organisation=org, actor=owner)
    with translation.override("fr"):
        external = apply(org, ada()).external_user
    with translation.override("en"):
        connection_disconnect(connection=connection, actor=owner)
    card = Card.objects.get(organisation=org, owner=external.user)
    assert card.directory_fields == [] and card.directory_source == ""
