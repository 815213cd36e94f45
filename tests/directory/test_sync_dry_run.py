"""Dry run, confirmation and progress of an Entra sync, through the durable task queue, against the fake."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.models import Membership, User
from tessera.cards.models import Card
from tessera.core.models import OutboxMessage
from tessera.directory.crypto import token_seal
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
from tessera.directory.services.sync import SyncRefused, sync_confirm, sync_dry_run, sync_request, sync_run
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganisationFactory(name="Contoso")


@pytest.fixture
def admin(org):
    return Membership.objects.get(organisation=org, role=Membership.Role.OWNER).user


@pytest.fixture
def connection(org, fake_microsoft):
    return Connection.objects.create(
        organisation=org,
        provider=Provider.MICROSOFT,
        tenant_id=fake_microsoft.tenant_id,
        refresh_token=token_seal(fake_microsoft.issue_refresh_token(scopes=sorted(SCOPES))),
    )


def written(org) -> tuple:
    """Everything a sync may write outside its SyncRun."""
    return (
        User.objects.count(),
        Membership.objects.filter(organisation=org).count(),
        list(Card.objects.filter(organisation=org).order_by("pk").values()),
        list(ExternalUser.objects.order_by("pk").values()),
        list(ExternalGroup.objects.order_by("pk").values()),
        list(SyncCursor.objects.order_by("pk").values()),
        OutboxMessage.objects.count(),
    )


def test_a_dry_run_plans_through_the_task_queue_and_writes_nothing_but_its_run(
    org, admin, connection, fake_microsoft, django_capture_on_commit_callbacks
):
    fake_microsoft.page_size = 3
    users, _groups = fake_microsoft.populate(users=7, groups=2, members_per_group=3)
    fake_microsoft.add_user(givenName="Bad\x00", jobTitle="x" * 10_000)
    fake_microsoft.add_user(givenName="Phone", mobilePhone="not a phone")
    before = written(org)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_dry_run(connection=connection, actor=admin)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.PLANNED, run.error
    assert run.kind == SyncRun.Kind.DRY_RUN and run.requested_by == admin
    emails = {item["email"] for item in run.plan["create"]}
    assert emails == {fake_microsoft.users[u]["mail"] for u in users}
    assert run.plan["update"] == [] and run.plan["deactivate"] == []
    fields = set(SyncProblem.objects.filter(run=run).values_list("field", flat=True))
    assert run.failed == 2 and fields in ({"givenName", "phones"}, {"jobTitle", "phones"})
    assert run.pages >= 3 and run.seen >= 9
    assert written(org) == before
    assert Connection.objects.get(pk=connection.pk).confirmed_at is None


def test_nothing_is_applied_until_the_admin_confirms_then_a_full_sync_runs(
    org, admin, connection, fake_microsoft, django_capture_on_commit_callbacks
):
    fake_microsoft.populate(users=4, groups=1, members_per_group=2)
    with pytest.raises(SyncRefused):
        sync_request(connection=connection, actor=admin)
    with django_capture_on_commit_callbacks(execute=True):
        plan = sync_dry_run(connection=connection, actor=admin)
    plan.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        full = sync_confirm(run=plan, actor=admin)
    full.refresh_from_db()
    assert full.kind == SyncRun.Kind.FULL and full.status == SyncRun.Status.DONE, full.error
    assert full.expected == plan.seen and full.seen == plan.seen  # the dry run told the progress bar
    assert full.created == 4 and ExternalUser.objects.count() == 4
    assert Connection.objects.get(pk=connection.pk).confirmed_at is not None
    with pytest.raises(SyncRefused):
        sync_confirm(run=full, actor=admin)


def test_a_dry_run_after_changes_lists_updates_and_deactivations(org, admin, connection, fake_microsoft):
    users, _groups = fake_microsoft.populate(users=4, groups=0)
    connection.confirmed_at = timezone.now()
    connection.save()
    sync_run(run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL).pk)
    fake_microsoft.update_user(users[0], jobTitle="Head of Sales")
    fake_microsoft.update_user(users[1], accountEnabled=False)
    fake_microsoft.delete_user(users[2])
    before = written(org)
    run = sync_run(run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.DRY_RUN).pk)
    assert run.status == SyncRun.Status.PLANNED, run.error
    mail = {u: fake_microsoft.users.get(u, {}).get("mail") for u in users}
    assert [item["email"] for item in run.plan["update"]] == [mail[users[0]]]
    deactivated = {item["email"] for item in run.plan["deactivate"]}
    assert mail[users[1]] in deactivated and len(deactivated) == 2
    assert run.plan["create"] == []
    assert written(org) == before


def test_progress_is_counted_page_by_page(org, connection, fake_microsoft):
    fake_microsoft.page_size = 2
    fake_microsoft.add_users(6)
    connection.confirmed_at = timezone.now()
    connection.save()
    progress = []

    def watch(run, resource, pages):
        run = SyncRun.objects.get(pk=run.pk)
        progress.append((resource, run.pages, run.seen, run.status))

    sync_run(
        run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL).pk, after_page=watch
    )
    users = [p for p in progress if p[0] == "users"]
    assert [p[2] for p in users] == [2, 4, 6]
    assert all(p[3] == SyncRun.Status.RUNNING for p in progress)


class WorkerDied(BaseException):
    """Stands for a killed worker: nothing in the sync catches it."""


def test_a_dry_run_a_dead_worker_left_starts_again_without_counting_twice(org, connection, fake_microsoft):
    fake_microsoft.page_size = 2
    fake_microsoft.add_users(5)
    fake_microsoft.add_user(givenName="Bad\x01")
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.DRY_RUN)

    def die(run_, resource, pages):
        if pages == 2:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        sync_run(run_id=run.pk, after_page=die)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    done = sync_run(run_id=run.pk)
    assert done.status == SyncRun.Status.PLANNED, done.error
    assert (len(done.plan["create"]), done.created, done.failed) == (5, 5, 1)
    assert SyncProblem.objects.filter(run=run).count() == 1
