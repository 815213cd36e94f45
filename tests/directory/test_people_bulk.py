"""A page of people at once (services/people_bulk.py): the answers person_apply would give, in few queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tessera.accounts.models import Membership, User
from tessera.cards.models import Card
from tessera.core.models import OutboxMessage
from tessera.directory.models import ExternalUser, Provider
from tessera.directory.services.people import Person, PersonRejected
from tessera.directory.services.people_bulk import people_apply, people_welcome_send
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTRA = Provider.MICROSOFT
LOCKED = ("first_name", "last_name", "job_title", "phones")


@pytest.fixture
def org():
    return OrganisationFactory(owner=UserFactory(email="owner@alpha.example"), name="Alpha")


def person(n: int, **changes) -> Person:
    values = {"first_name": f"P{n}", "last_name": "Doe", "job_title": "Engineer"}
    values.update({k: v for k, v in changes.items() if k != "active"})
    return Person(
        external_id=f"obj-{n}",
        user_name=f"p{n}@alpha.example",
        email=f"p{n}@alpha.example",
        values=values,
        active=changes.get("active", True),
        display_name=f"P{n} Doe",
    )


def bulk(org, persons, **kwargs):
    return people_apply(organisation=org, provider=ENTRA, persons=persons, locked=LOCKED, **kwargs)


def answers(results) -> list:
    return [r.result if not isinstance(r, PersonRejected) else sorted(r.message_dict) for r in results]


def cards(org) -> list:
    return list(
        Card.objects.filter(organisation=org)
        .order_by("owner__email")
        .values_list(
            "owner__email", "first_name", "job_title", "is_active", "directory_fields", "directory_source"
        )
    )


def test_a_page_gives_the_answers_and_the_cards_person_apply_gives_one_by_one(org):
    OrganisationFactory(owner=UserFactory(email="elsewhere@alpha.example"), name="Beta")
    page = [
        person(1),
        person(2, phones=[{"kind": "work", "number": "nope"}]),
        person(3, active=False),
        Person(external_id="obj-x", user_name="elsewhere@alpha.example", email="elsewhere@alpha.example"),
        person(1),  # the same person twice in a page: the second is matched, not created again
    ]
    results = bulk(org, page)
    assert answers(results) == ["created", ["phones"], "created", ["email"], "unchanged"]
    assert cards(org) == [
        ("owner@alpha.example", "Person", "", True, [], ""),
        ("p1@alpha.example", "P1", "Engineer", True, sorted(LOCKED), "Microsoft Entra ID"),
        ("p3@alpha.example", "P3", "Engineer", False, sorted(LOCKED), "Microsoft Entra ID"),
    ]
    user = User.objects.get(email="p1@alpha.example")
    assert not user.has_usable_password() and not user.emailaddress_set.get().verified
    assert Membership.objects.get(organisation=org, user=user).role == Membership.Role.MEMBER
    # The same page again changes nothing; a changed title is an update through the one-by-one path.
    assert answers(bulk(org, [person(1), person(3, active=False)])) == ["unchanged", "unchanged"]
    assert answers(bulk(org, [person(1, job_title="CTO"), person(3)])) == ["updated", "updated"]
    assert cards(org)[1][2] == "CTO" and cards(org)[2][3] is True


def test_a_page_of_newcomers_unchanged_or_changed_people_costs_a_bounded_number_of_queries(org):
    with CaptureQueriesContext(connection) as first:
        bulk(org, [person(n) for n in range(100)])
    with CaptureQueriesContext(connection) as again:
        results = bulk(org, [person(n) for n in range(100)])
    assert answers(results) == ["unchanged"] * 100
    with CaptureQueriesContext(connection) as changed:
        results = bulk(org, [person(n, job_title="CTO") for n in range(100)])
    assert answers(results) == ["updated"] * 100
    assert len(first.captured_queries) <= 20, [q["sql"][:80] for q in first.captured_queries]
    assert len(again.captured_queries) <= 5
    # Constant work for the page, plus one statement per changed member: its signature's re-push window.
    windows = [q for q in changed.captured_queries if "signatures_" in q["sql"]]
    assert len(changed.captured_queries) - len(windows) <= 20 and len(windows) <= 100
    assert set(
        Card.objects.filter(organisation=org, owner__email__startswith="p").values_list(
            "job_title", flat=True
        )
    ) == {"CTO"}
    assert ExternalUser.objects.filter(organisation=org).count() == 100


def test_a_dry_run_of_a_page_answers_and_writes_nothing(org):
    before = (User.objects.count(), Card.objects.count(), ExternalUser.objects.count())
    results = bulk(org, [person(1), person(2, phones=[{"kind": "work", "number": "x"}])], dry_run=True)
    assert answers(results) == ["created", ["phones"]]
    assert (User.objects.count(), Card.objects.count(), ExternalUser.objects.count()) == before


def test_welcome_emails_are_due_with_the_page_and_sent_once_by_the_follow_up_job(
    org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bulk(org, [person(1), person(2), person(3, active=False)])
    assert ExternalUser.objects.filter(welcome_due=True).count() == 2  # nobody welcomed to a disabled account
    assert not OutboxMessage.objects.filter(kind="accounts_welcome").exists()
    assert callbacks  # the job is handed to the queue once the page commits
    assert people_welcome_send() == 2
    assert people_welcome_send() == 0
    welcomes = OutboxMessage.objects.filter(kind="accounts_welcome")
    assert sorted(welcomes.values_list("recipient", flat=True)) == ["p1@alpha.example", "p2@alpha.example"]
    assert all(welcomes.values_list("confidential", flat=True))
