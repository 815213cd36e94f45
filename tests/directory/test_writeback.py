"""Write-back to Entra ID through the durable queue, against the Microsoft fake over real HTTP."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tessera.accounts.models import Membership
from tessera.cards.models import Card
from tessera.core import delivery
from tessera.core.models import SecurityEvent
from tessera.directory.crypto import token_seal
from tessera.directory.graph import GraphClient
from tessera.directory.microsoft import SCOPES
from tessera.directory.models import Connection, ExternalGroup, ExternalUser, Provider, SyncRun, WriteBack
from tessera.directory.services.sync import sync_run
from tessera.directory.services.writeback import (
    WRITEBACKS,
    group_create,
    group_member_add,
    group_member_remove,
    group_rename,
    writeback_deliver,
    writeback_deliver_due,
    writeback_queue_for_edit,
)
from tests.factories import MembershipFactory, OrganisationFactory

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
        confirmed_at=timezone.now(),
    )


@pytest.fixture
def synced(org, connection, fake_microsoft):
    users, groups = fake_microsoft.populate(users=3, groups=1, members_per_group=2)
    sync_run(run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.FULL).pk)
    return users, groups


@pytest.fixture
def quick(fake_microsoft):
    """A client that gives up on the first throttled answer, so a test sees the queue's own retry."""
    token = fake_microsoft.issue_access_token()
    client = GraphClient(token=lambda: token, sleep=lambda s: None, max_attempts=1)
    yield client
    client.close()


def membership_of(org, user_id) -> Membership:
    return Membership.objects.get(organisation=org, user=ExternalUser.objects.get(external_id=user_id).user)


def test_an_admin_edit_of_fed_fields_is_patched_to_entra_after_commit(
    org, admin, synced, fake_microsoft, django_capture_on_commit_callbacks
):
    users, _groups = synced
    phones = [{"kind": "work", "number": "+33142680000"}, {"kind": "mobile", "number": "+33612345678"}]
    with django_capture_on_commit_callbacks(execute=True):
        row = writeback_queue_for_edit(
            membership=membership_of(org, users[0]),
            changes={"job_title": "Chief Executive", "department": "Board", "phones": phones},
            actor=admin,
        )
    row.refresh_from_db()
    assert row.status == WriteBack.Status.SENT and row.attempts == 1
    user = fake_microsoft.users[users[0]]
    assert (user["jobTitle"], user["department"]) == ("Chief Executive", "Board")
    assert (user["businessPhones"], user["mobilePhone"]) == (["+33142680000"], "+33612345678")
    patch = fake_microsoft.calls("PATCH")[0].json
    assert set(patch) == {"jobTitle", "department", "businessPhones", "mobilePhone"}
    event = SecurityEvent.objects.get(action="directory.graph.user_update")
    assert event.actor_id == admin.pk and event.data["target"] == users[0]


def test_fields_entra_keeps_or_other_directories_are_refused(org, admin, synced):
    users, _groups = synced
    with pytest.raises(ValidationError) as raised:
        writeback_queue_for_edit(
            membership=membership_of(org, users[0]), changes={"first_name": "X"}, actor=admin
        )
    assert "first_name" in raised.value.message_dict
    outsider = MembershipFactory(organisation=org)
    with pytest.raises(ValidationError):
        writeback_queue_for_edit(membership=outsider, changes={"job_title": "X"}, actor=admin)
    assert not WriteBack.objects.exists()


def test_an_unreachable_graph_delays_the_write_and_sends_it_once(org, admin, synced, fake_microsoft, quick):
    users, _groups = synced
    row = writeback_queue_for_edit(
        membership=membership_of(org, users[1]), changes={"job_title": "CTO"}, actor=admin
    )
    fake_microsoft.fail_next(1, 503, retry_after=None)
    assert not writeback_deliver(writeback_id=row.pk, client=quick)
    row.refresh_from_db()
    assert row.status == WriteBack.Status.PENDING and row.next_attempt_at > timezone.now()
    assert fake_microsoft.users[users[1]]["jobTitle"] != "CTO"
    assert writeback_deliver_due(client=quick) == 0  # still backing off
    assert writeback_deliver_due(now=timezone.now() + timedelta(minutes=1), client=quick) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (WriteBack.Status.SENT, 2)
    assert writeback_deliver_due(now=timezone.now() + timedelta(hours=2), client=quick) == 0
    assert len(fake_microsoft.calls("PATCH")) == 2  # the refused one and the one that went through
    assert fake_microsoft.users[users[1]]["jobTitle"] == "CTO"


def test_a_group_created_by_an_attempt_whose_answer_was_lost_is_not_created_twice(
    org, admin, connection, fake_microsoft, quick
):
    row = group_create(connection=connection, display_name="Card holders", actor=admin, role="admin")
    # The worker claimed the row, Graph created the group, and the worker died before recording it.
    assert delivery.claim(WRITEBACKS, row.pk, now=timezone.now())
    quick.group_create(display_name="Card holders", mail_nickname=row.payload["mailNickname"])
    later = timezone.now() + WRITEBACKS.claim_timeout + timedelta(seconds=1)
    assert writeback_deliver_due(now=later, client=quick) == 1
    made = [g for g in fake_microsoft.groups.values() if g["displayName"] == "Card holders"]
    assert len(made) == 1 and len(fake_microsoft.calls("POST", r"/groups$")) == 1
    group = ExternalGroup.objects.get(external_id=made[0]["id"])
    assert (group.display_name, group.role) == ("Card holders", "admin")


def test_group_rename_and_membership_changes_reach_entra_and_come_back_by_sync(
    org, admin, connection, synced, fake_microsoft, quick
):
    users, groups = synced
    group = ExternalGroup.objects.get(external_id=groups[0])
    outsider = ExternalUser.objects.get(external_id=users[2])
    insider = group.members.first()
    rows = [
        group_rename(group=group, display_name="Sales EMEA", actor=admin),
        group_member_add(group=group, external_user=outsider, actor=admin),
        group_member_remove(group=group, external_user=insider, actor=admin),
        group_member_add(group=group, external_user=outsider, actor=admin),  # twice: still one member
    ]
    assert writeback_deliver_due(client=quick) == 4
    assert all(WriteBack.objects.get(pk=r.pk).status == WriteBack.Status.SENT for r in rows)
    assert fake_microsoft.groups[groups[0]]["displayName"] == "Sales EMEA"
    assert outsider.external_id in fake_microsoft.members[groups[0]]
    assert insider.external_id not in fake_microsoft.members[groups[0]]
    sync_run(run_id=SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.DELTA).pk)
    group.refresh_from_db()
    assert group.display_name == "Sales EMEA"
    assert set(group.members.values_list("external_id", flat=True)) == set(fake_microsoft.members[groups[0]])
    assert SecurityEvent.objects.filter(action="directory.graph.member_add", actor_id=admin.pk).count() == 2


def test_only_admins_change_groups_and_a_refused_write_is_given_up(
    org, admin, connection, synced, fake_microsoft, quick
):
    _users, groups = synced
    member = Membership.objects.filter(organisation=org, role=Membership.Role.MEMBER).first().user
    group = ExternalGroup.objects.get(external_id=groups[0])
    with pytest.raises(PermissionDenied):
        group_rename(group=group, display_name="Mine", actor=member)
    with pytest.raises(ValidationError):
        group_rename(group=group, display_name="x" * 300, actor=admin)
    fake_microsoft.delete_group(groups[0])
    row = group_rename(group=group, display_name="Gone", actor=admin)
    assert not writeback_deliver(writeback_id=row.pk, client=quick)
    row.refresh_from_db()
    assert row.status == WriteBack.Status.FAILED and "404" in row.last_error


def test_a_write_queued_before_a_disconnect_is_not_sent(
    org, admin, connection, synced, fake_microsoft, quick
):
    users, _groups = synced
    row = writeback_queue_for_edit(
        membership=membership_of(org, users[0]), changes={"job_title": "X"}, actor=admin
    )
    Connection.objects.filter(pk=connection.pk).update(disconnected_at=timezone.now())
    assert not writeback_deliver(writeback_id=row.pk, client=quick)
    assert WriteBack.objects.get(pk=row.pk).status == WriteBack.Status.FAILED
    assert fake_microsoft.calls("PATCH") == []


def test_the_central_member_editor_writes_job_details_back_to_entra(
    client, org, admin, synced, fake_microsoft, django_capture_on_commit_callbacks
):
    users, _groups = synced
    card = Card.objects.get(organisation=org, owner=ExternalUser.objects.get(external_id=users[0]).user)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/cards/org/{org.slug}/cards/{card.slug}/",
            {"template": "", "groups": "", "job_title": "Head buyer", "department": "Purchasing"},
        )
    assert response.status_code == 302
    assert WriteBack.objects.get().status == WriteBack.Status.SENT
    user = fake_microsoft.users[users[0]]
    assert (user["jobTitle"], user["department"]) == ("Head buyer", "Purchasing")
    card.refresh_from_db()
    assert (card.job_title, card.department) == ("Head buyer", "Purchasing")
