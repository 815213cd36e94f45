from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from tessera.core import tasks
from tessera.core.models import OutboxMessage
from tessera.core.outbox import CLAIM_TIMEOUT, email_queue, outbox_deliver_due, outbox_retry

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


def queue(to: str, subject: str = "Hello", **kwargs) -> OutboxMessage:
    """Queue one email in its own transaction, as a service does."""
    with transaction.atomic():
        return email_queue(to=to, subject=subject, body_text=f"Body of {subject}", kind="test", **kwargs)


def refresh(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def test_relay_outage_delays_every_email_and_each_arrives_exactly_once(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.start()
    before = queue("first@example.org", "Before the outage")
    assert relay.message_ids() == [before.message_id]

    relay.stop()  # connections are now refused
    during = [queue(f"guest{i}@example.org", f"During the outage {i}") for i in range(3)]
    with transaction.atomic():  # two emails caused by one action
        during += [
            email_queue(to=f"pair{i}@example.org", subject="Pair", body_text="x", kind="t") for i in (1, 2)
        ]
    for message in map(refresh, during):
        assert message.status == OutboxMessage.Status.PENDING
        assert message.attempts == 1
        assert "refused" in message.last_error.lower()
        assert message.next_attempt_at > T0

    # Nothing is due before the backoff; once due, a sweep against a dead relay charges no attempt.
    assert outbox_deliver_due() == 0
    time_machine.shift(timedelta(seconds=30))
    assert outbox_deliver_due() == 0
    assert [refresh(m).attempts for m in during] == [1] * len(during)

    relay.start()  # the relay is back, on the same port
    time_machine.shift(timedelta(minutes=2))
    assert tasks.outbox_flush.call_local() == len(during)

    expected = [before.message_id] + [m.message_id for m in during]
    assert Counter(relay.message_ids()) == Counter(expected)
    assert all(count == 1 for count in Counter(relay.message_ids()).values())
    assert {refresh(m).status for m in during} == {OutboxMessage.Status.SENT}

    # Sweeping again, or replaying the per-message tasks, sends nothing twice.
    time_machine.shift(timedelta(hours=3))
    assert outbox_deliver_due() == 0
    for message in during:
        tasks.outbox_deliver_task(str(message.pk))
    assert sorted(relay.message_ids()) == sorted(expected)


def test_email_of_a_rolled_back_transaction_is_never_sent(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.start()
    with pytest.raises(RuntimeError), transaction.atomic():
        email_queue(to="ghost@example.org", subject="Ghost", body_text="x", kind="test")
        raise RuntimeError("the action failed")
    with transaction.atomic():
        kept = email_queue(to="kept@example.org", subject="Kept", body_text="x", kind="test")
        try:
            with transaction.atomic():
                email_queue(to="inner@example.org", subject="Inner", body_text="x", kind="test")
                raise RuntimeError("the inner step failed")
        except RuntimeError:
            pass

    time_machine.shift(timedelta(hours=2))
    outbox_deliver_due()
    assert relay.message_ids() == [kept.message_id]
    assert list(OutboxMessage.objects.values_list("recipient", flat=True)) == ["kept@example.org"]


def test_message_claimed_by_a_worker_that_died_is_sent_after_the_claim_timeout(relay, settings, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.start()
    settings.EMAIL_BACKEND = "tests.core.backends.WorkerKilledBackend"
    with pytest.raises(SystemExit):
        queue("patient@example.org", "Survives a crash")
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.claimed_at) == (OutboxMessage.Status.SENDING, 1, T0)

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    time_machine.shift(CLAIM_TIMEOUT - timedelta(seconds=1))
    assert outbox_deliver_due() == 0
    assert tasks.outbox_deliver_task.call_local(str(message.pk)) is False
    assert refresh(message).status == OutboxMessage.Status.SENDING

    time_machine.shift(timedelta(seconds=2))
    assert outbox_deliver_due() == 1
    assert relay.message_ids() == [message.message_id]
    message = refresh(message)
    assert (message.status, message.attempts, message.claimed_at) == (OutboxMessage.Status.SENT, 2, None)


def test_permanent_rejection_is_final_and_temporary_refusal_is_retried(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.rcpt = {
        "unknown@": "550 5.1.1 No such user",
        "greylisted@": "451 4.7.1 Try again later",
    }
    relay.start()
    rejected = refresh(queue("unknown@example.org", "Nobody reads this"))
    delayed = refresh(queue("greylisted@example.org", "Greylisted"))

    assert rejected.status == OutboxMessage.Status.REJECTED
    assert "550" in rejected.last_error
    assert delayed.status == OutboxMessage.Status.PENDING
    assert "451" in delayed.last_error
    assert relay.messages == []

    del relay.rcpt["greylisted@"]
    time_machine.shift(timedelta(hours=2))
    assert outbox_deliver_due() == 1
    time_machine.shift(timedelta(days=2))
    assert outbox_deliver_due() == 0
    assert relay.message_ids() == [delayed.message_id]
    assert refresh(rejected).attempts == 1
    assert refresh(rejected).status == OutboxMessage.Status.REJECTED
    assert refresh(delayed).status == OutboxMessage.Status.SENT


def test_content_rejected_with_5xx_is_final(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.data = "554 5.6.0 Message content refused"
    relay.start()
    message = refresh(queue("someone@example.org", "Refused body"))
    assert message.status == OutboxMessage.Status.REJECTED
    assert "554" in message.last_error


def test_one_sweep_goes_past_refused_recipients_to_the_rest(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.rcpt = {"unknown@": "550 5.1.1 No such user", "greylisted@": "451 4.7.1 Later"}
    messages = [
        queue(address)
        for address in ["unknown@example.org", "greylisted@example.org", "a@example.org", "b@example.org"]
    ]  # relay down: all wait
    relay.start()
    time_machine.shift(timedelta(minutes=5))
    assert outbox_deliver_due() == 2
    assert sorted(relay.message_ids()) == sorted(m.message_id for m in messages[2:])
    statuses = [refresh(m).status for m in messages]
    assert statuses == ["rejected", "pending", "sent", "sent"]


def test_a_sweep_sends_everything_over_one_connection(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    messages = [queue(f"guest{i}@example.org") for i in range(4)]  # relay down: all wait
    relay.start()
    time_machine.shift(timedelta(minutes=5))
    assert outbox_deliver_due() == 4
    assert sorted(relay.message_ids()) == sorted(m.message_id for m in messages)
    assert len(set(relay.connections)) == 1


def test_relay_failing_temporarily_backs_off_exponentially(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    message = queue("later@example.org")  # the relay is down
    delays = [(refresh(message).next_attempt_at - T0).total_seconds()]
    for _ in range(4):
        attempt_at = refresh(message).next_attempt_at
        time_machine.move_to(attempt_at, tick=False)
        assert outbox_deliver_due() == 0
        assert tasks.outbox_deliver_task.call_local(str(message.pk)) is False
        delays.append((refresh(message).next_attempt_at - attempt_at).total_seconds())
    assert refresh(message).attempts == 5
    for attempt, delay in enumerate(delays):
        assert 15 * 2**attempt * 0.9 <= delay <= 15 * 2**attempt * 1.1, (attempt, delay)


def test_attachments_and_html_alternative_arrive_intact(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.start()
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    binary = bytes(range(256)) * 4
    html = '<p style="color:#333">Bonjour <strong>Zoé</strong> &amp; co</p>'
    message = queue(
        "Zoé Martin <zoe@example.org>",
        "Invitation : réunion",
        body_html=html,
        attachments=(
            ("invite.ics", calendar, "text/calendar"),
            ("blob.bin", binary, "application/octet-stream"),
        ),
    )
    assert message.recipient == "zoe@example.org"

    (received,) = relay.mailbox.wait_for(1)
    assert received["Message-ID"] == message.message_id
    assert received["Subject"] == "Invitation : réunion"
    assert received.get_body(("plain",)).get_content().strip() == "Body of Invitation : réunion"
    assert received.get_body(("html",)).get_content().strip() == html
    attachments = {part.get_filename(): part for part in received.iter_attachments()}
    assert set(attachments) == {"invite.ics", "blob.bin"}
    assert attachments["blob.bin"].get_content() == binary
    assert attachments["invite.ics"].get_content_type() == "text/calendar"
    assert attachments["invite.ics"].get_payload(decode=True) == calendar


def test_retry_now_sends_a_rejected_message_again_but_never_a_sent_one(relay, time_machine):
    time_machine.move_to(T0, tick=False)
    relay.rcpt = {"typo@": "550 5.1.1 No such user"}
    relay.start()
    rejected = queue("typo@example.org")
    sent = queue("fine@example.org")
    assert refresh(rejected).status == OutboxMessage.Status.REJECTED

    relay.rcpt.clear()  # the relay's configuration was fixed
    retried = outbox_retry(message_ids=[rejected.pk, sent.pk])
    assert retried == [rejected.pk]
    assert refresh(rejected).status == OutboxMessage.Status.SENT
    assert Counter(relay.message_ids()) == Counter([rejected.message_id, sent.message_id])


def test_emails_of_one_transaction_leave_in_batches_over_one_connection_each(relay):
    from tessera.core.outbox import DELIVERY_BATCH

    relay.start()
    count = DELIVERY_BATCH * 2 + 7
    with transaction.atomic():  # an event with many invitees
        queued = [
            email_queue(to=f"guest{i}@example.org", subject="Hi", body_text="x", kind="t")
            for i in range(count)
        ]
    assert sorted(relay.message_ids()) == sorted(m.message_id for m in queued)
    # One SMTP connection per batch, not one per message.
    assert len(set(relay.connections)) == 3
    assert {refresh(m).status for m in queued} == {OutboxMessage.Status.SENT}


def test_a_rolled_back_transaction_leaves_no_batch_behind(relay):
    relay.start()
    with pytest.raises(RuntimeError), transaction.atomic():
        email_queue(to="never@example.org", subject="Rolled back", body_text="x", kind="t")
        raise RuntimeError
    # The next transaction's emails are delivered, and only they.
    with transaction.atomic():
        kept = [
            email_queue(to=f"k{i}@example.org", subject="Kept", body_text="x", kind="t") for i in range(2)
        ]
    assert sorted(relay.message_ids()) == sorted(m.message_id for m in kept)
    assert not OutboxMessage.objects.filter(recipient="never@example.org").exists()


@pytest.mark.django_db
def test_message_ids_stay_unique_when_the_random_module_is_replayed():
    import random

    import time_machine

    # A seeded `random` (a property-based test, a library) must not make two emails share a Message-ID.
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), tick=False):
        ids = []
        for n in range(2):
            random.seed(42)
            ids.append(email_queue(to=f"m{n}@example.org", subject="Hi", body_text="x", kind="t").message_id)
    assert ids[0] != ids[1]
