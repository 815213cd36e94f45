from datetime import timedelta

import pytest
import time_machine

from tessera.meetings import services, tasks

from .conftest import outbox

pytestmark = pytest.mark.django_db


def run_reminders_at(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.meetings_reminders_queue.call_local()


def test_reminders_go_out_once_15_minutes_before_the_start(scheduled):
    event = scheduled.event
    assert run_reminders_at(event.starts_at - timedelta(minutes=16)) == 0
    assert run_reminders_at(event.starts_at - timedelta(minutes=15)) == 3
    assert run_reminders_at(event.starts_at - timedelta(minutes=14)) == 0
    messages = outbox("reminder")
    assert sorted(m.recipient for m in messages) == [
        "ana@example.com",
        "ben@example.com",
        "chloe@example.net",
    ]
    # The room secret is never stored, so the reminder cannot repeat the link.
    assert all("/m/" not in m.body_text for m in messages)


def test_no_reminder_when_switched_off_cancelled_or_unconfirmed(created, scheduled):
    services.event_update(event=scheduled.event, reminder_enabled=False)
    assert run_reminders_at(scheduled.event.starts_at - timedelta(minutes=10)) == 0
    services.event_update(event=scheduled.event, reminder_enabled=True)
    services.event_cancel(event=scheduled.event)
    assert run_reminders_at(scheduled.event.starts_at - timedelta(minutes=10)) == 0
    assert outbox("reminder") == []


def test_removed_invitees_get_no_reminder_and_a_new_start_rearms_it(scheduled, starts_at):
    event = scheduled.event
    services.invitation_remove(event=event, invitation=event.invitations.get(email="ben@example.com"))
    assert run_reminders_at(event.starts_at - timedelta(minutes=5)) == 2
    with time_machine.travel(event.starts_at - timedelta(minutes=5), tick=False):
        services.event_update(
            event=event, room_secret=scheduled.room_secret, starts_at=starts_at + timedelta(days=1)
        )
    assert run_reminders_at(starts_at + timedelta(days=1, minutes=-15)) == 2


def test_the_task_is_periodic_every_minute():
    from datetime import datetime

    task = tasks.meetings_reminders_queue.task_class()
    assert all(task.validate_datetime(datetime(2030, 1, 1, 10, minute)) for minute in range(60))
