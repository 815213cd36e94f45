"""The directory's retention rules, each proved with a frozen clock through the privacy core's sweep."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tessera.accounts.models import Membership
from tessera.cards.models import Card
from tessera.directory.models import Connection, ExternalGroup, ExternalUser, Provider
from tessera.directory.services import connections
from tessera.directory.services.people import Person, group_apply, person_apply, person_remove
from tessera.privacy.retention import retention_sweep
from tests.directory.oauth_support import microsoft_connect
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(days: float):
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


def sweep(days: float) -> dict:
    with at(days):
        return retention_sweep()


@pytest.fixture
def owner():
    return UserFactory(email="owner@alpha.example")


@pytest.fixture
def org(owner):
    return OrganisationFactory(owner=owner, name="Alpha")


def person(n: int) -> Person:
    return Person(
        external_id=f"obj-{n}",
        user_name=f"p{n}@alpha.example",
        email=f"p{n}@alpha.example",
        values={"first_name": f"P{n}", "last_name": "Doe"},
    )


def test_the_sync_bookkeeping_goes_30_days_after_disconnection_and_the_members_stay(
    org, owner, fake_microsoft
):
    with at(0):
        connection, _query = microsoft_connect(organisation=org, actor=owner)
        people = [
            person_apply(organisation=org, provider=Provider.MICROSOFT, person=person(n)).external_user
            for n in range(3)
        ]
        group_apply(
            organisation=org,
            provider=Provider.MICROSOFT,
            external_id="g1",
            display_name="Sales",
            members=people,
        )
        connections.connection_disconnect(connection=connection, actor=owner)
    sweep(29)
    assert ExternalUser.objects.filter(organisation=org).count() == 3
    assert Connection.objects.filter(pk=connection.pk).exists()
    sweep(31)
    assert not ExternalUser.objects.filter(organisation=org).exists()
    assert not ExternalGroup.objects.filter(organisation=org).exists()
    assert not Connection.objects.filter(pk=connection.pk).exists()
    # The members and their cards are the organisation's, not the directory's bookkeeping.
    assert Membership.objects.filter(organisation=org).count() == 4
    assert Card.objects.filter(organisation=org).count() == 4


def test_a_reconnected_directory_keeps_its_people_when_an_old_connection_expires(org, owner, fake_microsoft):
    with at(0):
        first, _query = microsoft_connect(organisation=org, actor=owner)
        person_apply(organisation=org, provider=Provider.MICROSOFT, person=person(1))
        connections.connection_disconnect(connection=first, actor=owner)
    with at(1):
        microsoft_connect(organisation=org, actor=owner)
    sweep(40)
    assert not Connection.objects.filter(pk=first.pk).exists()
    assert ExternalUser.objects.filter(organisation=org, external_id="obj-1").exists()


def test_a_person_who_left_the_directory_is_forgotten_by_it_30_days_later(org):
    with at(0):
        stays = person_apply(organisation=org, provider=Provider.SCIM, person=person(1)).external_user
        leaves = person_apply(organisation=org, provider=Provider.SCIM, person=person(2)).external_user
        person_remove(external_user=leaves)
    sweep(29)
    assert ExternalUser.objects.filter(pk=leaves.pk).exists()
    sweep(31)
    assert not ExternalUser.objects.filter(pk=leaves.pk).exists()
    assert ExternalUser.objects.filter(pk=stays.pk).exists()
    assert Card.objects.filter(owner=leaves.user, organisation=org, is_active=False).exists()


def test_a_refresh_token_unused_for_90_days_is_deleted(org, owner, fake_microsoft):
    with at(0):
        connection, _query = microsoft_connect(organisation=org, actor=owner)
    assert Connection.objects.get(pk=connection.pk).refresh_token
    sweep(89)
    assert Connection.objects.get(pk=connection.pk).refresh_token
    sweep(91)
    assert Connection.objects.get(pk=connection.pk).refresh_token == ""
