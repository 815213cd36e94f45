"""Entra ID delta sync against the Microsoft fake over real HTTP: pages, removals, resync, problems, crashes."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.accounts import hooks
from tessera.accounts.models import Membership, User
from tessera.cards.models import Card
from tessera.directory.crypto import token_seal
from tessera.directory.graph import GraphClient
from tessera.directory.microsoft import SCOPES
from tessera.directory.models import (
    Connection,
    ExternalGroup,
    ExternalUser,
    Provider,
    SyncCursor,
    SyncProblem,
    SyncRun,
)
from tessera.directory.services.people import group_mapping_set
from tessera.directory.services.sync import sync_due, sync_request, sync_run
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    """Stands for a killed worker: nothing in the sync catches it, as nothing runs after a SIGKILL."""


@pytest.fixture
def org():
    return OrganisationFactory(name="Contoso")


@pytest.fixture
def connection(org, fake_microsoft):
    return Connection.objects.create(
        organisation=org,
        provider=Provider.MICROSOFT,
        tenant_id=fake_microsoft.tenant_id,
        refresh_token=token_seal(fake_microsoft.issue_refresh_token(scopes=sorted(SCOPES))),
        confirmed_at=timezone.now(),
        sync_enabled=True,
    )


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def graph(fake_microsoft, sleeps):
    token = fake_microsoft.issue_access_token()
    client = GraphClient(token=lambda: token, sleep=sleeps.append)
    yield client
    client.close()


def run(connection, kind=SyncRun.Kind.DELTA, **kwargs) -> SyncRun:
    return sync_run(run_id=SyncRun.objects.create(connection=connection, kind=kind).pk, **kwargs)


def card_of(org, user_id) -> Card:
    external = ExternalUser.objects.get(organisation=org, external_id=user_id)
    return Card.objects.get(organisation=org, owner=external.user)


def snapshot(org) -> list:
    cards = Card.objects.filter(organisation=org).order_by("pk")
    return [
        (c.pk, c.first_name, c.job_title, c.department, c.phones, c.is_active, c.updated_at) for c in cards
    ] + [list(Membership.objects.filter(organisation=org).order_by("pk").values_list("pk", "role"))]


def test_initial_sync_follows_every_page_and_stores_the_delta_link(org, connection, fake_microsoft):
    fake_microsoft.page_size = 3
    fake_microsoft.empty_pages = 2
    fake_microsoft.members_per_page = 2
    users, groups = fake_microsoft.populate(users=8, groups=2, members_per_group=5)
    done = run(connection, SyncRun.Kind.FULL)  # no cursor: the token comes through the sealed refresh token
    assert done.status == SyncRun.Status.DONE, done.error
    assert (done.created, done.failed) == (8, 0)
    assert done.pages >= 6 and done.seen >= 8
    assert Membership.objects.filter(organisation=org).count() == 9  # the owner and eight people
    card = card_of(org, users[0])
    expected = fake_microsoft.users[users[0]]
    assert (card.first_name, card.job_title, card.city) == (
        expected["givenName"],
        expected["jobTitle"],
        expected["city"],
    )
    assert {"first_name", "job_title", "phones", "city"} <= set(card.directory_fields)
    group = ExternalGroup.objects.get(external_id=groups[0])
    # members@delta came two by two, the group repeated over pages: all five merged.
    assert set(group.members.values_list("external_id", flat=True)) == set(fake_microsoft.members[groups[0]])
    for cursor in SyncCursor.objects.filter(connection=connection):
        assert "$deltatoken=" in cursor.delta_link and cursor.next_link == ""
    # Only what the card shows was asked for.
    select = fake_microsoft.calls("GET", "/users/delta")[0].query["$select"].split(",")
    assert "preferredLanguage" not in select and "jobTitle" in select


def test_delta_applies_changes_removals_and_disabled_accounts_without_deleting_cards(
    org, connection, fake_microsoft
):
    users, groups = fake_microsoft.populate(users=6, groups=1, members_per_group=4)
    run(connection, SyncRun.Kind.FULL)
    fake_microsoft.update_user(users[0], jobTitle="Chief Executive")
    fake_microsoft.update_user(users[1], accountEnabled=False)
    fake_microsoft.delete_user(users[2])
    fake_microsoft.delete_user(users[3], permanent=True)
    fake_microsoft.remove_members(groups[0], [users[0]])
    done = run(connection)
    assert done.status == SyncRun.Status.DONE, done.error
    assert card_of(org, users[0]).job_title == "Chief Executive"
    for gone in users[1:4]:
        card = card_of(org, gone)
        assert not card.is_active  # off the public web, still there
    assert ExternalUser.objects.get(external_id=users[2]).removed_at is not None
    assert ExternalUser.objects.get(external_id=users[3]).removed_at is not None
    assert Membership.objects.filter(organisation=org).count() == 7  # memberships stay
    members = ExternalGroup.objects.get(external_id=groups[0]).members.values_list("external_id", flat=True)
    assert set(members) == set(fake_microsoft.members[groups[0]]) == {users[1]}
    assert (done.updated, done.deactivated) == (1, 3)


def test_a_partial_delta_updates_only_what_changed(org, connection, fake_microsoft):
    users, _groups = fake_microsoft.populate(users=2, groups=0)
    run(connection, SyncRun.Kind.FULL)
    fake_microsoft.partial_updates = True
    before = card_of(org, users[0])
    fake_microsoft.update_user(users[0], department="Legal")
    done = run(connection)
    card = card_of(org, users[0])
    assert (done.updated, done.failed) == (1, 0), done.error
    assert card.department == "Legal"
    assert (card.first_name, card.phones) == (before.first_name, before.phones)


def test_410_resyncs_everything_and_changes_nothing_that_did_not_change(org, connection, fake_microsoft):
    users, _groups = fake_microsoft.populate(users=5, groups=2, members_per_group=3)
    run(connection, SyncRun.Kind.FULL)
    before = snapshot(org)
    fake_microsoft.invalidate_delta_tokens()
    done = run(connection)
    assert done.status == SyncRun.Status.DONE, done.error
    assert (done.created, done.updated, done.deactivated, done.unchanged) == (0, 0, 0, 5)
    assert snapshot(org) == before
    # Someone removed while the delta link was lost is only noticed by their absence from the full read.
    fake_microsoft.delete_user(users[0])
    fake_microsoft.invalidate_delta_tokens(status=400)
    done = run(connection)
    assert (done.deactivated, done.unchanged) == (1, 4)
    assert not card_of(org, users[0]).is_active


def test_hostile_values_become_problems_while_the_rest_of_the_page_applies(
    org, connection, fake_microsoft, english
):
    elsewhere = UserFactory(email="taken@contoso.example")
    MembershipFactory(user=elsewhere)
    good = fake_microsoft.add_user(givenName="Good")
    long_title = fake_microsoft.add_user(givenName="Long", jobTitle="x" * 10_000)
    control = fake_microsoft.add_user(givenName="Ctrl\x07", surname="Char")
    phone = fake_microsoft.add_user(givenName="Phone", mobilePhone="call me maybe")
    taken = fake_microsoft.add_user(givenName="Taken", mail="taken@contoso.example")
    disabled = fake_microsoft.add_user(givenName="Gone", accountEnabled=False)
    done = run(connection, SyncRun.Kind.FULL)
    assert (done.created, done.failed) == (1, 4)
    problems = {p.external_id: p for p in SyncProblem.objects.filter(run=done)}
    assert set(problems) == {long_title, control, phone, taken}
    assert problems[long_title].field == "jobTitle"
    assert problems[control].field == "givenName"
    assert problems[phone].field == "phones" and "call me maybe" in problems[phone].message
    assert problems[taken].field == "email" and "outside this organisation" in problems[taken].message
    assert ExternalUser.objects.filter(organisation=org).count() == 1  # a disabled newcomer gets no card
    assert card_of(org, good).first_name == "Good"
    fake_microsoft.update_user(disabled, accountEnabled=True)
    assert run(connection).created == 1 and card_of(org, disabled).is_active
    assert not Membership.objects.filter(organisation=org, user=elsewhere).exists()


def test_a_page_that_fails_midway_leaves_nothing_of_it_and_is_resumed_once(org, connection, fake_microsoft):
    fake_microsoft.page_size = 4
    users = fake_microsoft.add_users(12)
    pages = []

    def broken(**kwargs):
        pages.append(kwargs)
        if len(pages) == 2:  # the second page's cards were written, then the disk fills up
            raise RuntimeError("disk full")

    hooks.members_created.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            run(connection, SyncRun.Kind.FULL)
    finally:
        hooks.members_created._receivers.remove(broken)
    # Pages 1 applied; page 2 (people 5 to 8) rolled back whole, its cursor still on it.
    applied = set(ExternalUser.objects.values_list("external_id", flat=True))
    assert applied == set(users[:4])
    assert Card.objects.filter(organisation=org).count() == 1 + 4  # the owner's and page 1's, none of page 2
    cursor = SyncCursor.objects.get(connection=connection, resource="users")
    assert "$skiptoken=" in cursor.next_link
    done = run(connection)
    assert done.status == SyncRun.Status.DONE, done.error
    assert done.created == 8
    assert (
        ExternalUser.objects.count() == 12 == User.objects.filter(memberships__organisation=org).count() - 1
    )


def test_a_killed_worker_resumes_from_the_stored_page_and_never_applies_a_page_twice(
    org, connection, fake_microsoft
):
    fake_microsoft.page_size = 5
    users = fake_microsoft.add_users(23)

    def die_after_two_pages(run_, resource, pages):
        if pages == 2:
            raise WorkerDied

    started = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL)
    with pytest.raises(WorkerDied):
        sync_run(run_id=started.pk, after_page=die_after_two_pages)
    started.refresh_from_db()
    assert started.status == SyncRun.Status.RUNNING and started.created == 10
    assert ExternalUser.objects.count() == 10
    # Too early: the run may still be alive.
    assert sync_run(run_id=started.pk).status == SyncRun.Status.RUNNING
    assert ExternalUser.objects.count() == 10
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert started.pk in sync_due()  # the sweep hands it to the queue again (it runs at once in tests)
    started.refresh_from_db()
    assert started.status == SyncRun.Status.DONE, started.error
    assert started.created == 23 and started.pages == 5 + 1  # five user pages and one group page, once each
    assert ExternalUser.objects.count() == 23
    assert (
        Card.objects.filter(
            organisation=org, owner__email__in=[fake_microsoft.users[u]["mail"] for u in users]
        ).count()
        == 23
    )


def test_throttling_during_a_sync_waits_and_loses_nothing(org, connection, fake_microsoft, graph, sleeps):
    fake_microsoft.page_size = 4
    fake_microsoft.add_users(20)
    fake_microsoft.fail_ratio = 0.3
    fake_microsoft.fail_retry_after = 2
    done = run(connection, SyncRun.Kind.FULL, client=graph)
    assert done.status == SyncRun.Status.DONE, done.error
    assert done.created == 20 and sleeps and set(sleeps) == {2}


def test_groups_give_templates_and_roles_but_never_the_owner_role(org, connection, fake_microsoft):
    users, groups = fake_microsoft.populate(users=4, groups=1, members_per_group=4)
    owner = Membership.objects.get(organisation=org, role=Membership.Role.OWNER).user
    owner_entra = fake_microsoft.add_user(mail=owner.email, userPrincipalName=owner.email)
    fake_microsoft.add_members(groups[0], [owner_entra])
    run(connection, SyncRun.Kind.FULL)
    group = ExternalGroup.objects.get(external_id=groups[0])
    group_mapping_set(group=group, role=Membership.Role.ADMIN)
    roles = dict(Membership.objects.filter(organisation=org).values_list("user__email", "role"))
    assert roles[owner.email] == Membership.Role.OWNER
    assert {roles[fake_microsoft.users[u]["mail"]] for u in users} == {Membership.Role.ADMIN}
    fake_microsoft.remove_members(groups[0], [users[0]])
    run(connection)
    first = Membership.objects.filter(organisation=org, user__email=fake_microsoft.users[users[0]]["mail"])
    assert first.get().role == Membership.Role.MEMBER
    # Back in the group during a full read (the delta state was lost): the role comes at the read's end.
    fake_microsoft.add_members(groups[0], [users[0]])
    fake_microsoft.invalidate_delta_tokens()
    assert run(connection).status == SyncRun.Status.DONE
    assert first.get().role == Membership.Role.ADMIN
    assert Membership.objects.get(organisation=org, user=owner).role == Membership.Role.OWNER


def test_domain_scope_keeps_other_domains_out(org, connection, fake_microsoft):
    inside = fake_microsoft.add_user(givenName="In")
    outside = fake_microsoft.add_user(
        givenName="Out", mail="out@partner.example", userPrincipalName="out@partner.example"
    )
    connection.scope, connection.scope_domains = Connection.Scope.DOMAIN, ["contoso.example"]
    connection.save()
    run(connection, SyncRun.Kind.FULL)
    assert set(ExternalUser.objects.values_list("external_id", flat=True)) == {inside}
    assert not User.objects.filter(email="out@partner.example").exists()
    fake_microsoft.update_user(outside, mail="out@contoso.example", userPrincipalName="out@contoso.example")
    run(connection)
    assert set(ExternalUser.objects.values_list("external_id", flat=True)) == {inside, outside}


def test_group_scope_reads_members_of_the_chosen_groups_only(org, connection, fake_microsoft):
    users = fake_microsoft.add_users(6)
    chosen = fake_microsoft.add_group("Card holders", members=users[:3])
    fake_microsoft.add_group("Others", members=users[3:])
    connection.scope, connection.scope_groups = Connection.Scope.GROUPS, [chosen]
    connection.save()
    run(connection, SyncRun.Kind.FULL)
    assert set(ExternalUser.objects.values_list("external_id", flat=True)) == set(users[:3])
    fake_microsoft.add_members(chosen, [users[4]])
    fake_microsoft.remove_members(chosen, [users[0]])
    done = run(connection)
    assert done.status == SyncRun.Status.DONE, done.error
    active = ExternalUser.objects.filter(removed_at__isnull=True).values_list("external_id", flat=True)
    assert set(active) == {users[1], users[2], users[4]}
    assert not card_of(org, users[0]).is_active


def test_attribute_map_decides_what_is_fed_and_locked(org, connection, fake_microsoft):
    user = fake_microsoft.add_user(givenName="Ada", jobTitle="Engineer", department="R&D")
    connection.attribute_map = {"first_name": "givenName", "job_title": "jobTitle"}
    connection.save()
    run(connection, SyncRun.Kind.FULL)
    card = card_of(org, user)
    assert set(card.directory_fields) == {"first_name", "job_title"}
    assert card.department == ""
    select = set(fake_microsoft.calls("GET", "/users/delta")[0].query["$select"].split(","))
    assert "department" not in select


def test_the_periodic_sweep_starts_due_deltas_of_enabled_connections_only(org, connection, fake_microsoft):
    fake_microsoft.add_users(2)
    run(connection, SyncRun.Kind.FULL)
    assert sync_due() == []  # the last sync is recent
    paused = Connection.objects.create(
        organisation=OrganisationFactory(), provider=Provider.MICROSOFT, confirmed_at=timezone.now()
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        handed = sync_due()
    assert len(handed) == 1
    assert SyncRun.objects.get(pk=handed[0]).connection == connection
    assert not paused.runs.exists()


def test_a_sync_before_the_dry_run_is_confirmed_is_refused(org, connection):
    connection.confirmed_at = None
    connection.save()
    with pytest.raises(Exception, match="dry run"):
        sync_request(connection=connection, kind=SyncRun.Kind.DELTA)


def test_a_run_graph_keeps_throttling_fails_and_the_next_one_resumes_where_it_stopped(
    org, connection, fake_microsoft, sleeps
):
    fake_microsoft.page_size = 3
    fake_microsoft.add_users(9)
    token = fake_microsoft.issue_access_token()
    with GraphClient(token=lambda: token, sleep=sleeps.append, max_attempts=2) as patient:
        first = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL)

        def throttle_after_first_page(run_, resource, pages):
            if pages == 1:
                fake_microsoft.fail_next(5, 503, retry_after=None)

        failed = sync_run(run_id=first.pk, client=patient, after_page=throttle_after_first_page)
    assert failed.status == SyncRun.Status.FAILED and "slow down" in failed.error
    assert failed.created == 3 and ExternalUser.objects.count() == 3
    fake_microsoft.clear_log()
    done = run(connection)
    assert done.status == SyncRun.Status.DONE, done.error
    assert done.created == 6 and ExternalUser.objects.count() == 9
    assert all(
        "$skiptoken" in r.query or "$deltatoken" in r.query
        for r in fake_microsoft.calls("GET", "/users/delta")
    )


def test_a_refused_token_fails_the_run_with_a_reconnect_message_and_changes_nothing(
    org, connection, fake_microsoft
):
    fake_microsoft.add_users(3)
    with GraphClient(token=lambda: "expired") as refused:
        done = sync_run(
            run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL).pk, client=refused
        )
    assert done.status == SyncRun.Status.FAILED and "reconnect" in done.error
    assert not ExternalUser.objects.exists()
