from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tessera.core import audit
from tessera.core.audit import (
    entry_hash,
    security_event_record,
    security_log_prune,
    security_log_shred,
    security_log_verify,
)
from tessera.core.models import SecurityEvent, SecurityLogHead

pytestmark = pytest.mark.django_db

T0 = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def chain(time_machine):
    """Five entries, one minute apart; entry 3 is about bob."""
    time_machine.move_to(T0, tick=False)
    entries = []
    for i, email in enumerate(
        ["ada@example.org", "ada@example.org", "bob@example.org", "", "eve@example.org"]
    ):
        entries.append(
            security_event_record(
                action="auth.login" if i % 2 == 0 else "auth.login_failed",
                email=email,
                ip=f"192.0.2.{i + 1}",
                user_agent="Firefox",
                data={"n": i, "nested": {"ok": True}},
            )
        )
        time_machine.shift(timedelta(minutes=1))
    return entries


def verify():
    call_command("verify_audit_log")


def assert_tampered(*words):
    with pytest.raises(CommandError) as failure:
        verify()
    for word in words:
        assert word in str(failure.value), str(failure.value)


def test_intact_chain_verifies(chain, capsys):
    verify()
    assert "intact: 5 entries" in capsys.readouterr().out


def test_empty_log_verifies():
    verify()


@pytest.mark.parametrize(
    "changes",
    [
        {"data": {"n": 2, "nested": {"ok": False}}},
        {"action": "auth.logout"},
        {"created_at": T0 + timedelta(minutes=2, seconds=1)},
        {"email": "mallory@example.org"},
        {"ip": "198.51.100.7"},
        {"user_agent": "Chrome"},
        {"actor_id": 42},
        {"seq": 30},
        {"prev_hash": "f" * 64},
        {"hash": "e" * 64},
        {"personal_digest": "d" * 64},
        # Pretending the entry was erased while rewriting who it is about.
        {"shredded_at": T0, "email": "mallory@example.org", "salt": "", "ip": None, "user_agent": ""},
    ],
    ids=lambda changes: "+".join(changes),
)
def test_editing_any_field_of_an_entry_is_detected(chain, changes):
    SecurityEvent.objects.filter(seq=3).update(**changes)
    assert_tampered("entry 3" if "seq" not in changes else "entry 30")


def test_deleting_an_entry_in_the_middle_is_detected(chain):
    SecurityEvent.objects.filter(seq=3).delete()
    assert_tampered("entries 3..3 are missing", "entry 4 does not chain")


def test_deleting_the_last_entry_is_detected(chain):
    SecurityEvent.objects.filter(seq=5).delete()
    assert_tampered("entries 5..5 are missing")


def test_deleting_the_head_is_detected(chain):
    SecurityLogHead.objects.all().delete()
    assert_tampered("head of the chain is missing")


def test_an_entry_forged_after_the_last_one_is_detected(chain):
    last = chain[-1]
    forged = {
        "seq": 6,
        "created_at": T0 + timedelta(hours=1),
        "action": "auth.login",
        "actor_id": None,
        "personal_digest": "0" * 64,
        "data": {},
    }
    SecurityEvent.objects.bulk_create(
        [SecurityEvent(**forged, prev_hash=last.hash, hash=entry_hash(prev_hash=last.hash, **forged))]
    )
    assert_tampered("entry 6")


def test_an_entry_inserted_before_the_start_of_the_chain_is_detected(chain, time_machine):
    time_machine.move_to(T0 + timedelta(days=400), tick=False)
    security_log_prune()
    security_event_record(action="auth.login")  # entry 6; entries 1..5 are gone
    verify()
    old = chain[2]
    SecurityEvent.objects.bulk_create(
        [
            SecurityEvent(
                seq=old.seq,
                created_at=old.created_at,
                action=old.action,
                personal_digest=old.personal_digest,
                prev_hash=old.prev_hash,
                hash=old.hash,
                data=old.data,
            )
        ]
    )
    assert_tampered("entry 3 precedes the start of the chain")


def test_entries_cannot_be_changed_or_deleted_through_the_model(chain):
    entry = SecurityEvent.objects.get(seq=2)
    entry.action = "auth.logout"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    verify()


def test_shredding_an_email_erases_personal_fields_and_the_chain_still_verifies(chain):
    assert security_log_shred(email=" ADA@example.org ") == 2
    erased = SecurityEvent.objects.filter(seq__in=[1, 2])
    assert {(e.email, e.ip, e.user_agent, e.salt) for e in erased} == {("", None, "", "")}
    assert all(e.shredded_at for e in erased)
    assert SecurityEvent.objects.get(seq=3).email == "bob@example.org"
    verify()
    assert security_log_shred(email="ada@example.org") == 0


def test_entries_are_kept_365_days_then_pruned_and_the_chain_still_verifies(time_machine):
    time_machine.move_to(T0, tick=False)
    old = security_event_record(action="auth.login", email="old@example.org")
    time_machine.shift(timedelta(days=2))
    young = security_event_record(action="auth.login", email="young@example.org")

    time_machine.move_to(T0 + timedelta(days=366), tick=False)  # old: 366 days, young: 364 days
    assert security_log_prune() == 1
    assert list(SecurityEvent.objects.values_list("seq", flat=True)) == [young.seq]
    head = SecurityLogHead.objects.get()
    assert (head.anchor_seq, head.anchor_hash) == (old.seq, old.hash)
    verify()

    assert security_log_prune() == 0  # idempotent
    security_event_record(action="auth.login")
    verify()


def test_prune_works_in_batches_and_stops_at_the_first_young_entry(time_machine, monkeypatch):
    monkeypatch.setattr(audit, "PRUNE_BATCH", 2)
    time_machine.move_to(T0, tick=False)
    for _ in range(5):
        security_event_record(action="auth.login")
    time_machine.shift(timedelta(days=300))
    security_event_record(action="auth.login")

    time_machine.move_to(T0 + timedelta(days=366), tick=False)
    with CaptureQueriesContext(connection) as queries:
        assert security_log_prune() == 5
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "core_securityevent"')]
    assert len(deletes) == 3
    assert list(SecurityEvent.objects.values_list("seq", flat=True)) == [6]
    assert SecurityLogHead.objects.get().anchor_seq == 5
    verify()


def test_the_periodic_prune_records_itself_in_the_chain(time_machine):
    from tessera.core import tasks

    time_machine.move_to(T0, tick=False)
    security_event_record(action="auth.login")
    time_machine.move_to(T0 + timedelta(days=400), tick=False)
    assert tasks.security_log_prune.call_local() == 1
    (entry,) = SecurityEvent.objects.all()
    assert (entry.action, entry.data) == ("security_log.pruned", {"entries": 1})
    verify()


def test_verify_reports_problems_as_a_list():
    security_event_record(action="auth.login")
    assert security_log_verify() == []


def test_a_chain_rewritten_without_the_audit_key_is_detected(chain, settings):
    """Someone with database access edits an entry and rebuilds every hash and the head, but cannot
    read the settings: the rebuilt chain does not verify under the real key."""
    settings.TESSERA_AUDIT_KEY = "the-attacker-guesses-this"
    target = chain[2]
    SecurityEvent.objects.filter(pk=target.pk).update(action="auth.logout")
    prev = SecurityLogHead.objects.get().anchor_hash
    for entry in SecurityEvent.objects.order_by("seq"):
        new_hash = entry_hash(
            prev_hash=prev,
            seq=entry.seq,
            created_at=entry.created_at,
            action=entry.action,
            actor_id=entry.actor_id,
            personal_digest=entry.personal_digest,
            data=entry.data,
        )
        SecurityEvent.objects.filter(pk=entry.pk).update(prev_hash=prev, hash=new_hash)
        prev = new_hash
    SecurityLogHead.objects.filter(pk=1).update(last_hash=prev)
    assert security_log_verify() == []  # consistent under the attacker's key...
    settings.TESSERA_AUDIT_KEY = ""
    assert security_log_verify()  # ...but not under the installation's key
