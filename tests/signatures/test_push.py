"""Pushing signatures to Gmail: who, per-member results, the administrator check, retries, crash and cancel."""

import json
from datetime import timedelta

import pytest

from tessera.core.models import SecurityEvent
from tessera.signatures.models import PushedSignature, PushItem, PushRun
from tessera.signatures.services import push
from tests.factories import MembershipFactory, UserFactory
from tests.signatures.gmail_support import fake_gmail  # noqa: F401
from tests.signatures.push_support import member_add, pushed, results, statuses, workspace  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(workspace):  # noqa: F811
    member_add(workspace, "bob@example.org", department="Sales", job_title="Account manager")
    member_add(workspace, "carol@example.org", department="Support")
    member_add(workspace, "eve@elsewhere.example", in_google=False)
    member_add(workspace, "dan@example.org", card=False)
    return workspace


def log(action: str) -> list[dict]:
    return [e.data for e in SecurityEvent.objects.filter(action=action).order_by("seq")]


def test_everyone_is_pushed_with_a_result_per_member(team, django_capture_on_commit_callbacks):
    run = pushed(team, django_capture_on_commit_callbacks, everyone=True)
    assert run.status == PushRun.Status.DONE
    found = results(run)
    assert {email: status for email, (status, _) in found.items()} == {
        "ada@example.org": "updated",
        "bob@example.org": "updated",
        "carol@example.org": "updated",
        "eve@elsewhere.example": "skipped",
        "dan@example.org": "skipped",
    }
    assert found["eve@elsewhere.example"][1] == (
        "The address eve@elsewhere.example is not in the Google Workspace's domains."
    )
    assert found["dan@example.org"][1] == "No published card in the organisation."
    bob = team.fake.signature_of("bob@example.org")
    assert "Bob Martin" in bob and "Account manager" in bob and "Sales" in bob
    assert set(team.fake.applied) == {"ada@example.org", "bob@example.org", "carol@example.org"}
    # Only the signature field was sent, each time as the member it belongs to.
    assert all(set(r.json) == {"signature"} for r in team.fake.calls("PATCH"))
    # Each member's result is in the security log, with no token and no HTML.
    entries = log("signatures.push.member")
    assert sorted((e["member"], e["result"]) for e in entries) == sorted(
        (u.pk, statuses(run)[email]) for email, u in team.members.items()
    )
    text = json.dumps(list(SecurityEvent.objects.values("data", "email")))
    assert not any(token in text for token in team.fake.access_tokens)
    assert "<table" not in text and "Account manager" not in text and "eve@elsewhere" not in text


def test_a_second_push_changes_nothing_and_calls_nobody(team, django_capture_on_commit_callbacks):
    pushed(team, django_capture_on_commit_callbacks, everyone=True)
    team.fake.clear_log()
    again = pushed(team, django_capture_on_commit_callbacks, everyone=True)
    assert statuses(again)["bob@example.org"] == "unchanged"
    assert not team.fake.calls("PATCH")


def test_one_member_a_selection_or_a_department(team, django_capture_on_commit_callbacks):
    bob, carol = team.members["bob@example.org"], team.members["carol@example.org"]
    assert statuses(pushed(team, django_capture_on_commit_callbacks, user_ids=[bob.pk])) == {
        "bob@example.org": "updated"
    }
    run = pushed(team, django_capture_on_commit_callbacks, department=" support ")
    assert statuses(run) == {"carol@example.org": "updated"}
    run = pushed(team, django_capture_on_commit_callbacks, user_ids=[bob.pk, carol.pk])
    assert statuses(run) == {"bob@example.org": "unchanged", "carol@example.org": "unchanged"}
    outsider = UserFactory()  # not a member: never part of a push
    with pytest.raises(push.PushRefused):
        push.signature_push_request(organisation=team.organisation, actor=team.admin, user_ids=[outsider.pk])


def test_a_non_admin_cannot_push(team):
    member = team.members["bob@example.org"]
    stranger = UserFactory()
    MembershipFactory(organisation=team.organisation, user=stranger)
    for actor in (member, stranger, None):
        with pytest.raises(push.PushRefused) as refused:
            push.signature_push_request(organisation=team.organisation, actor=actor, everyone=True)
        assert refused.value.messages == [
            "Only an administrator of the organisation may push signatures to Gmail."
        ]
    assert not PushRun.objects.exists() and not team.fake.requests


def test_an_admin_whose_workspace_role_was_removed_is_refused(team, django_capture_on_commit_callbacks):
    team.fake.unassign_roles("ada@example.org")
    team.clock.shift(timedelta(minutes=11))  # past the ten minutes the last check is trusted
    with pytest.raises(push.PushRefused) as refused:
        push.signature_push_request(organisation=team.organisation, actor=team.admin, everyone=True)
    assert "not a Google Workspace administrator" in refused.value.messages[0]
    assert not PushRun.objects.exists() and not team.fake.calls("PATCH")
    assert log("signatures.push.refused")[-1]["organisation"] == team.organisation.pk


def test_the_role_is_checked_again_when_the_worker_starts(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = push.signature_push_request(organisation=team.organisation, actor=team.admin, everyone=True)
    team.fake.unassign_roles("ada@example.org")
    team.clock.shift(timedelta(minutes=11))
    for callback in queued:
        callback()
    run.refresh_from_db()
    assert run.status == PushRun.Status.FAILED and "not a Google Workspace administrator" in run.message
    assert set(statuses(run).values()) == {"skipped"} and not team.fake.calls("PATCH")


def test_quota_errors_and_outages_are_retried(team, django_capture_on_commit_callbacks):
    team.fake.fail_next(2, status=429, retry_after=0, path="/gmail/")
    team.fake.fail_next(1, status=503, retry_after=0, path="/gmail/")
    team.fake.fail_next(1, status=403, retry_after=0, path="/gmail/")  # rateLimitExceeded
    run = pushed(team, django_capture_on_commit_callbacks, everyone=True)
    assert run.status == PushRun.Status.DONE
    assert set(statuses(run).values()) == {"updated", "skipped"}
    assert sum(i.attempts for i in run.items.all()) == 3 + 4
    assert all(len(signatures) == 1 for signatures in team.fake.applied.values())
    # After the 503 Google may have applied it: that member was read (an empty patch) before being written;
    # a read that meets one of the injected quota errors is read again, so the number depends on the order.
    assert len([r for r in team.fake.calls("PATCH") if r.json == {}]) >= 1


def test_a_member_google_refuses_is_failed_with_google_s_words(team, django_capture_on_commit_callbacks):
    member_add(team, "zoe@example.org", in_google=False)  # in the domain, not in the Workspace
    team.fake.fail_next(8, status=429, retry_after=0, path="/gmail/v1/users/carol")
    run = pushed(team, django_capture_on_commit_callbacks, everyone=True)
    found = results(run)
    assert found["zoe@example.org"] == ("failed", "Invalid email or User ID")
    assert found["carol@example.org"] == ("failed", "Rate Limit Exceeded")  # gave up after 8 attempts
    assert run.items.get(user__email="carol@example.org").attempts == push.MAX_ATTEMPTS
    assert found["bob@example.org"][0] == "updated"


def test_a_crashed_worker_is_resumed_without_pushing_anyone_twice(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = push.signature_push_request(organisation=team.organisation, actor=team.admin, everyone=True)
    # A worker takes the run, sends Bob's signature, and dies before it records Google's answer.
    assert push._claim(run.pk) is not None
    bob = run.items.get(user__email="bob@example.org")
    member = push.member_signatures(organisation=team.organisation, user_ids=[bob.user_id])[0]
    PushItem.objects.filter(pk=bob.pk).update(status=PushItem.Status.SENDING, attempts=1)
    push.hooks.signature_gmail_patch.send(
        organisation=team.organisation, email="bob@example.org", signature=member.signature.html
    )
    # Carol's row was marked too, but her call never left.
    PushItem.objects.filter(run=run, user__email="carol@example.org").update(status=PushItem.Status.SENDING)
    assert push.push_resume_due() == []  # the worker's heartbeat is still fresh
    team.clock.shift(push.STALE_AFTER + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert push.push_resume_due() == [run.pk]
    run.refresh_from_db()
    assert run.status == PushRun.Status.DONE
    assert statuses(run)["bob@example.org"] == "updated" and statuses(run)["carol@example.org"] == "updated"
    assert {email: len(s) for email, s in team.fake.applied.items()} == {
        "ada@example.org": 1,
        "bob@example.org": 1,
        "carol@example.org": 1,
    }
    # The two interrupted members were read first (an empty patch), then only Carol was written.
    reads = [r.path for r in team.fake.calls("PATCH") if r.json == {}]
    assert sorted(reads) == sorted(
        f"/gmail/v1/users/{e}/settings/sendAs/{e}" for e in ("bob@example.org", "carol@example.org")
    )


def test_a_queued_push_can_be_cancelled(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = push.signature_push_request(organisation=team.organisation, actor=team.admin, everyone=True)
    with pytest.raises(push.PushRefused):
        push.signature_push_cancel(run=run, actor=team.members["bob@example.org"])
    push.signature_push_cancel(run=run, actor=team.admin)
    for callback in queued:
        callback()  # the task arrives after the cancel: nothing to do
    run.refresh_from_db()
    assert run.status == PushRun.Status.CANCELLED
    assert set(statuses(run).values()) == {"cancelled"} and not team.fake.calls("PATCH")
    assert log("signatures.push.cancelled")[-1]["run"] == run.pk


def test_a_running_push_stops_at_its_next_heartbeat(team, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=False):
        run = push.signature_push_request(organisation=team.organisation, actor=team.admin, everyone=True)
    claimed = push._claim(run.pk)
    push.signature_push_cancel(run=run, actor=team.admin)
    monkeypatch.setattr(push, "_claim", lambda run_id: claimed)  # the worker that held the run goes on
    push.push_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == PushRun.Status.CANCELLED and not team.fake.calls("PATCH")


def test_a_card_change_is_pushed_again_once_per_window(team, django_capture_on_commit_callbacks):
    from tessera.cards.models import Card
    from tessera.cards.services.profiles import card_update

    pushed(team, django_capture_on_commit_callbacks, everyone=True)
    bob = team.members["bob@example.org"]
    card = Card.objects.get(owner=bob, organisation=team.organisation)
    card_update(card=card, changes={"job_title": "Head of sales"}, actor=bob)
    due = PushedSignature.objects.get(user=bob).repush_due_at
    team.clock.shift(timedelta(seconds=30))
    card_update(card=card, changes={"department": "Sales EMEA"}, actor=team.admin)
    assert PushedSignature.objects.get(user=bob).repush_due_at == due  # the window does not move
    assert push.repush_due() == []
    team.clock.shift(push.REPUSH_WINDOW)
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = push.repush_due()
    run.refresh_from_db()
    assert run.kind == PushRun.Kind.AUTOMATIC and statuses(run) == {"bob@example.org": "updated"}
    assert len(team.fake.applied["bob@example.org"]) == 2
    assert "Head of sales" in team.fake.signature_of("bob@example.org")
    assert "Sales EMEA" in team.fake.signature_of("bob@example.org")
    assert push.repush_due() == []  # one push for both changes


def test_a_hostile_card_field_cannot_inject_markup(team, django_capture_on_commit_callbacks):
    member_add(team, "mallory@example.org", job_title='<img src=x onerror="alert(1)">\u202egnp.exe')
    run = pushed(team, django_capture_on_commit_callbacks, user_ids=[team.members["mallory@example.org"].pk])
    assert statuses(run) == {"mallory@example.org": "updated"}
    kept = team.fake.signature_of("mallory@example.org")
    assert "<img src=x" not in kept and "&lt;img" in kept and "\u202e" not in kept


def test_a_directory_sync_change_is_pushed_again_too(team, django_capture_on_commit_callbacks):
    from tessera.directory.models import Provider
    from tessera.directory.services.people import Person, person_apply

    pushed(team, django_capture_on_commit_callbacks, everyone=True)
    person = Person(
        external_id="00u1",
        user_name="bob@example.org",
        email="bob@example.org",
        values={"first_name": "Bob", "last_name": "Martin", "job_title": "Directeur commercial"},
    )
    outcome = person_apply(
        organisation=team.organisation, provider=Provider.GOOGLE, person=person, invite=False
    )
    assert outcome.result == "updated"
    team.clock.shift(push.REPUSH_WINDOW)
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = push.repush_due()
    run.refresh_from_db()
    assert statuses(run) == {"bob@example.org": "updated"}
    assert "Directeur commercial" in team.fake.signature_of("bob@example.org")
