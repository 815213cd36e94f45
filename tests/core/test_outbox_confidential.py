"""Emails that carry link secrets are sealed at rest and kept only without those secrets."""

import pytest
from django.db import connection, transaction

from tessera.core import outbox
from tessera.core.models import OutboxAttachment, OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cr3tRoomKeyMaterial_abcdefghijklmnop"
LINK = f"https://meet.example/m/room123#inviteTokenXYZ123.{SECRET}"
ICS = (
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nURL:"
    + LINK[:40]
    + "\r\n "
    + LINK[40:]
    + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()


def _queue():
    with transaction.atomic():
        return outbox.email_queue(
            to="guest@example.org",
            subject="Invitation",
            body_text=f"Join: {LINK}\n",
            body_html=f'<a href="{LINK}">{LINK}</a>',
            kind="test_confidential",
            attachments=(("invitation.ics", ICS, "text/calendar"),),
            confidential=True,
        )


def _database_holds(needle: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_text, body_html FROM core_outboxmessage")
        rows = cursor.fetchall()
        cursor.execute("SELECT content FROM core_outboxattachment")
        blobs = [bytes(row[0]) for row in cursor.fetchall()]
    return any(needle in (text or "") + (html or "") for text, html in rows) or any(
        needle.encode() in blob for blob in blobs
    )


def test_a_confidential_email_is_sealed_until_sent_then_kept_without_its_link_secret(smtp):
    from django.test import override_settings

    with override_settings(EMAIL_PORT=1):  # relay down: the message waits, sealed
        message = _queue()
    assert OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.PENDING
    assert not _database_holds(SECRET)

    assert outbox.outbox_deliver(message_id=message.pk, now=message.next_attempt_at.replace(year=2100))
    (received,) = smtp.wait_for(1)
    assert LINK in received.get_body(("plain",)).get_content()
    ics = next(part for part in received.iter_attachments()).get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert SECRET in ics.replace("\r\n ", "")

    stored = OutboxMessage.objects.get(pk=message.pk)
    assert stored.status == OutboxMessage.Status.SENT and not stored.confidential
    assert "https://meet.example/m/room123#…" in stored.body_text
    assert not _database_holds(SECRET)
    assert not _database_holds("inviteTokenXYZ123")
    assert "#…".encode() in bytes(OutboxAttachment.objects.get().content)


def test_plain_emails_are_stored_as_written():
    plain_link = "https://meet.example/m/room123"  # no secret: a link that grants nothing
    with transaction.atomic():
        plain = outbox.email_queue(to="a@example.org", subject="Hi", body_text=plain_link, kind="test_plain")
    assert OutboxMessage.objects.get(pk=plain.pk).body_text == plain_link


@pytest.mark.parametrize(
    "fragment",
    [
        "#inviteTokenXYZ123456789abcdef",  # a link that carries no key: the token is the secret
        "#o.manageTokenXYZ123456789abc",  # an organiser's room link without the key
        "#o.manageTokenXYZ123456789abc.s3cr3tRoomKeyMaterial_abcdefghijklmnop",
    ],
)
def test_token_only_fragments_are_cut_too_and_short_anchors_stay(fragment):
    from tessera.core.sealing import strip_fragments, strip_fragments_bytes

    text = f"Join https://meet.example/m/room123{fragment} or read https://meet.example/privacy#section-2"
    stripped = strip_fragments(text)
    assert fragment not in stripped and "room123#…" in stripped
    assert stripped.endswith("/privacy#section-2")
    folded = f"URL:https://meet.example/m/room123{fragment}\r\nDESCRIPTION:Agenda #1 and # notes\r\n".encode()
    folded = folded[:40] + b"\r\n " + folded[40:]
    cut = strip_fragments_bytes(folded)
    assert b"room123#\xe2\x80\xa6" in cut.replace(b"\r\n ", b"")
    assert b"manageToken" not in cut and b"inviteToken" not in cut
    assert b"DESCRIPTION:Agenda #1 and # notes" in cut
