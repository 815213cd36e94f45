"""An organisation whose members have cards, a default template, and Google Workspace connected."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.cards.models import Card
from tessera.signatures.models import PushItem, PushRun
from tessera.signatures.services import push
from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
from tests.factories import CardFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.signatures.gmail_support import connect_google

START = timezone.now().replace(microsecond=0) + timedelta(days=1)


@dataclass
class Workspace:
    organisation: object
    admin: object
    fake: object
    clock: object
    members: dict = field(default_factory=dict)  # email -> user


def member_add(space: Workspace, email: str, *, card: bool = True, in_google: bool = True, **profile):
    user = UserFactory(email=email, full_name=email.split("@")[0].title())
    MembershipFactory(organisation=space.organisation, user=user)
    if card:
        first = email.split("@")[0].title()
        CardFactory(
            owner=user, organisation=space.organisation, first_name=first, last_name="Martin", **profile
        )
    if in_google:
        space.fake.add_account(email, email.split("@")[0].title())
    space.members[email] = user
    return user


@pytest.fixture
def workspace(fake_gmail):
    with time_machine.travel(START, tick=True) as clock:
        admin = UserFactory(email="ada@example.org", full_name="Ada Lovelace")
        organisation = OrganisationFactory(owner=admin, name="Example")
        Card.objects.filter(owner=admin, organisation=organisation).update(
            first_name="Ada", last_name="Lovelace"
        )
        signature_template_save(
            organisation=organisation, actor=admin, name="Default", html=STARTER_HTML, is_default=True
        )
        connect_google(organisation=organisation, actor=admin, fake=fake_gmail)
        space = Workspace(organisation=organisation, admin=admin, fake=fake_gmail, clock=clock)
        space.members["ada@example.org"] = admin
        yield space


def pushed(space: Workspace, capture, **target) -> PushRun:
    """An administrator's push, worked through by the (immediate) task queue once the request commits."""
    with capture(execute=True):
        run = push.signature_push_request(organisation=space.organisation, actor=space.admin, **target)
    run.refresh_from_db()
    return run


def results(run: PushRun) -> dict:
    return {item.user.email: (item.status, item.reason) for item in run.items.select_related("user")}


def statuses(run: PushRun) -> dict:
    return {email: status for email, (status, _) in results(run).items()}


__all__ = ["START", "PushItem", "Workspace", "member_add", "pushed", "results", "statuses", "workspace"]
