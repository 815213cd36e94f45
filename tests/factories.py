"""The one factory layer of the tests: people, organisations, memberships, cards, events, invitations.

Every factory that has a service goes through it, so that a test starts from a state the product can
reach: an organisation always has its owner (and the owner's card), an event has its hashed secrets and
its emails queued. `EventFactory` and `InvitationFactory` hand back the secrets the service returned
once, as `event.room_secret` and `event.manage_token`.
"""

from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, Organisation, User
from tessera.cards import services as cards_services
from tessera.cards.models import Card
from tessera.meetings import services as meetings_services
from tessera.meetings.models import Event, Invitation

PASSWORD = "violet-harbour-lantern-42"


def _email_address(verified: bool):
    def add(obj, create, extracted, **kwargs):
        # `confirmed_email=False` leaves no address at all, as before sign-up finishes.
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=verified, primary=True)

    return add


class UserFactory(factory.django.DjangoModelFactory):
    """A person who signed up and confirmed their address (the state sign-up + confirmation leaves)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        # Signed up, the confirmation link not yet opened.
        unverified = factory.Trait(confirmed_email=factory.PostGeneration(_email_address(False)))

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    age_confirmed_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(PASSWORD)

    confirmed_email = factory.PostGeneration(_email_address(True))


class OrganisationFactory(factory.Factory):
    """An organisation made by `organisation_create`: its owner (a new person by default) and its cards."""

    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *, owner, name):
        return accounts_services.organisation_create(owner=owner, name=name)

    @classmethod
    def _build(cls, model_class, *, owner, name):
        raise TypeError("an organisation exists only with its owner: use create()")


class MembershipFactory(factory.Factory):
    """A seat in an organisation, taken through `membership_join` (no card: the invitation path makes one)."""

    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER

    @classmethod
    def _create(cls, model_class, *, organisation, user, role):
        return accounts_services.membership_join(organisation=organisation, user=user, role=role)


class CardFactory(factory.Factory):
    """A card made by `card_create`; by default a personal one (organisation None).

    For a card in an organisation, give a `owner` who is a member without a card there: the organisation's
    owner already has one, made when the organisation was.
    """

    class Meta:
        model = Card

    owner = factory.SubFactory(UserFactory)
    organisation = None
    first_name = factory.Sequence(lambda n: f"First{n}")

    @classmethod
    def _create(cls, model_class, *, owner, organisation, **profile):
        return cards_services.card_create(owner=owner, organisation=organisation, **profile)


class EventFactory(factory.Factory):
    """An event made by `event_create`, confirmed by its organiser (`verified=False` leaves it waiting).

    The returned event carries `room_secret` and `manage_token`, which the database only keeps hashed.
    """

    class Meta:
        model = Event

    verified = True  # not a field: whether the organiser opened the confirmation link
    title = "Weekly review"
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    )
    time_zone = "Europe/Paris"
    duration_minutes = 60
    organiser_email = "organiser@example.org"
    invitees = factory.LazyFunction(lambda: ["ana@example.com", "ben@example.com"])
    age_confirmed = True

    @classmethod
    def _create(cls, model_class, *, verified, **details):
        created = meetings_services.event_create(**details)
        event = created.event
        if verified and event.status == Event.Status.UNVERIFIED:
            meetings_services.event_verify(event=event, room_secret=created.room_secret)
            event.refresh_from_db()
        event.room_secret = created.room_secret
        event.manage_token = created.manage_token
        return event


class InvitationFactory(factory.Factory):
    """One more invitee of an event, added by `invitation_add` with the event's room secret."""

    class Meta:
        model = Invitation

    event = factory.SubFactory(EventFactory, invitees=[])
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")

    @classmethod
    def _create(cls, model_class, *, event, email, **kwargs):
        return meetings_services.invitation_add(
            event=event, email=email, room_secret=event.room_secret, **kwargs
        )
