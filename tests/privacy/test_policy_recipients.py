"""A substantial policy change reaches every address with a live relationship, once each."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.cards import services as cards_services
from tessera.core.models import OutboxMessage
from tessera.meetings import services as meetings_services
from tessera.privacy import services
from tessera.privacy.policy import policy_change_notify, policy_publish
from tessera.privacy.register import registry
from tests.cards.conftest import lead_for
from tests.factories import UserFactory

from .conftest import demo_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def change():
    """Publish the current register, then return a function publishing a substantial change."""
    activity = demo_activity("demo.recipients_change")
    policy_publish()

    def publish():
        registry.activities[activity.name] = activity
        return policy_publish(notify=False)

    yield publish
    registry.activities.pop(activity.name, None)


def _event(organiser, *, starts_in, language="fr", confirm=True):
    created = meetings_services.event_create(
        title="Point",
        description="",
        starts_at=(timezone.now() + starts_in).replace(second=0, microsecond=0),
        time_zone="Europe/Paris",
        duration_minutes=60,
        organiser_email=organiser,
        invitees=["ana@example.com"],
        language=language,
        age_confirmed=True,
    )
    if confirm:
        meetings_services.event_verify(event=created.event, room_secret=created.room_secret)
    return created.event


def _subscribe(email, *, language="fr"):
    return services.consent_record(
        email=email, purpose="marketing", text="News", text_version="1", method="checkbox", language=language
    )


def _recipients():
    """(address, language the email was written in) of every policy-change email queued."""
    sent = OutboxMessage.objects.filter(kind="privacy_policy_changed").values_list("recipient", "body_text")
    return sorted((to, "en" if body.startswith("Hello,") else "fr") for to, body in sent)


@pytest.fixture
def card(settings):
    settings.TESSERA_CARDS_POW_BITS = 8
    owner = UserFactory(email="owner@cards.example")
    return cards_services.card_create(owner=owner, first_name="Olga")


def test_organisers_subscribers_and_waiting_visitors_are_told_once_each(user, change, card):
    # user (ada@example.org) is an account holder, and card's owner too.
    _subscribe("news@example.org", language="en")
    _subscribe("ADA@example.org")  # also an account holder: one email, the account's
    _subscribe("gone@example.org")
    services.consent_withdraw(email="gone@example.org", method="link")
    _event("Organiser@Example.org", starts_in=timedelta(days=3), language="en")
    _subscribe("organiser@example.org", language="en")  # also an organiser
    _event("unconfirmed@example.org", starts_in=timedelta(days=3), confirm=False)
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        _event("past@example.org", starts_in=timedelta(days=2))
    lead_for(card, email="waiting@example.net")
    answered = lead_for(card, email="answered@example.net")
    cards_services.lead_update(lead=answered, status="contacted")

    version = change()
    queued = policy_change_notify(version_id=version.pk)

    assert _recipients() == sorted(
        [
            ("ada@example.org", "fr"),
            ("owner@cards.example", "fr"),
            ("news@example.org", "en"),
            ("organiser@example.org", "en"),
            ("waiting@example.net", "fr"),
        ]
    )
    assert queued == 5
    version.refresh_from_db()
    assert version.notified_at and version.others_notified_through == ""
    assert policy_change_notify(version_id=version.pk) == 0  # done: nobody twice


def test_relationships_that_began_after_the_change_are_not_told_about_it(user, change):
    version = change()
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        _subscribe("later@example.org")
    assert policy_change_notify(version_id=version.pk) == 1  # the account holder only
    assert _recipients() == [("ada@example.org", "fr")]


def test_a_crash_among_the_other_addresses_resumes_without_emailing_anyone_twice(change, monkeypatch):
    # The emails and their batch size belong to the publishing module: patched there.
    from tessera.privacy.policy import publishing as policy

    addresses = [f"reader{i}@example.org" for i in range(7)]
    for address in addresses:
        _subscribe(address)
    version = change()
    monkeypatch.setattr(policy, "NOTIFY_BATCH", 3)
    real_queue, calls = policy.email_queue_template, []

    def crashing_queue(**kwargs):
        calls.append(kwargs["to"])
        if len(calls) == 5:  # the worker dies in the middle of the second batch
            raise RuntimeError("worker killed")
        return real_queue(**kwargs)

    monkeypatch.setattr(policy, "email_queue_template", crashing_queue)
    with pytest.raises(RuntimeError):
        policy_change_notify(version_id=version.pk)
    version.refresh_from_db()
    assert len(_recipients()) == 3 and version.notified_at is None and version.others_notified_through
    monkeypatch.setattr(policy, "email_queue_template", real_queue)
    assert policy_change_notify(version_id=version.pk) == 4
    assert sorted(r for r, _language in _recipients()) == sorted(addresses)


def test_the_policy_says_who_is_told_of_a_substantial_change(client):
    html = client.get("/en/privacy/").content.decode()
    assert "every organiser of a meeting still to come" in html
    assert "every visitor of a card still awaiting an answer" in html
