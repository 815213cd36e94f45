"""Organisation writes live in accounts; what cards keeps per organisation follows them in one transaction."""

import pytest

from tessera.accounts import hooks, services
from tessera.accounts.models import Membership, Organisation
from tessera.cards import services as cards_services
from tessera.cards.models import Card, CardsSettings
from tests.accounts.support import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


def test_a_new_organisation_comes_with_its_owner_seat_cards_settings_and_owner_card():
    owner = UserFactory(full_name="Alice Martin")
    organisation = services.organisation_create(owner=owner, name="  Alpha ")
    assert organisation.name == "Alpha"
    assert Membership.objects.get(organisation=organisation).role == Membership.Role.OWNER
    assert CardsSettings.objects.filter(organisation=organisation).exists()
    card = Card.objects.get(organisation=organisation)
    assert (card.owner, card.first_name, card.last_name, card.company) == (owner, "Alice", "Martin", "Alpha")


def test_a_receiver_that_fails_undoes_the_whole_organisation(monkeypatch):
    seen = []

    def refuse(*, organisation, owner):
        # Called after cards' receiver: the owner's seat and card already exist in this transaction.
        seen.append(
            (Membership.objects.filter(organisation=organisation, user=owner).exists(), owner.cards.count())
        )
        raise Refused

    monkeypatch.setattr(
        hooks.organisation_created, "_receivers", [*hooks.organisation_created._receivers, refuse]
    )
    owner = UserFactory()
    with pytest.raises(Refused):
        services.organisation_create(owner=owner, name="Alpha")
    assert seen == [(True, 1)]
    assert not Organisation.objects.exists()
    assert (
        not Membership.objects.exists() and not CardsSettings.objects.exists() and not Card.objects.exists()
    )


def test_a_removal_that_fails_to_be_logged_leaves_the_seat_and_the_card(monkeypatch):
    owner = UserFactory()
    organisation = services.organisation_create(owner=owner, name="Alpha")
    invitation = cards_services.invitation_create(
        organisation=organisation, email="bob@alpha.example", invited_by=owner
    )
    bob, card = cards_services.invitation_accept(invitation=invitation, password=PASSWORD, full_name="Bob")
    seat = Membership.objects.get(organisation=organisation, user=bob)

    def refuse(**kwargs):
        raise Refused

    monkeypatch.setattr(services, "security_event_record", refuse)
    with pytest.raises(Refused):
        services.membership_remove(membership=seat, actor=owner)
    card.refresh_from_db()
    assert Membership.objects.filter(pk=seat.pk).exists() and card.is_active


def test_a_removal_answers_and_logs_what_became_of_the_card():
    from tessera.core.models import SecurityEvent

    owner = UserFactory()
    organisation = services.organisation_create(owner=owner, name="Alpha")
    invitation = cards_services.invitation_create(
        organisation=organisation, email="bob@alpha.example", invited_by=owner
    )
    bob, card = cards_services.invitation_accept(invitation=invitation, password=PASSWORD, full_name="Bob")
    seat = Membership.objects.get(organisation=organisation, user=bob)
    assert services.membership_remove(membership=seat, actor=owner) == {"card": "deactivated"}
    card.refresh_from_db()
    assert not card.is_active
    event = SecurityEvent.objects.get(action="cards.membership.removed")
    assert event.data["card"] == "deactivated" and event.data["member"] == bob.pk
