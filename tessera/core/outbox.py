"""The transactional outbox: emails are rows first, deliveries later.

`email_queue*` must be called inside the transaction of the action that causes the email; delivery is
enqueued only once that transaction commits, and a periodic sweep picks up whatever a crash or an
outage left behind. Retries back off exponentially and never give up on a temporary failure.
"""

import logging
import random
import smtplib
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 15
BACKOFF_MAX_SECONDS = 3600
# A row left in "sending" this long was claimed by a worker that died: it is due again.
CLAIM_TIMEOUT = timedelta(minutes=10)


def backoff_seconds(attempts: int) -> float:
    base = min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return base * random.uniform(0.9, 1.1)


@transaction.atomic
def email_queue(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: str,
    headers: dict | None = None,
    attachments: tuple[tuple[str, bytes, str], ...] = (),
    from_email: str | None = None,
) -> OutboxMessage:
    """Write one email to the outbox; it is sent once the surrounding transaction commits."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "localhost"
    message = OutboxMessage.objects.create(
        kind=kind,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        recipient=to.strip().lower(),
        subject=" ".join(subject.split())[:300],
        body_text=body_text,
        body_html=body_html,
        headers=headers or {},
        message_id=make_msgid(domain=domain),
    )
    OutboxAttachment.objects.bulk_create(
        OutboxAttachment(message=message, filename=name, content=content, content_type=ctype)
        for name, content, ctype in attachments
    )
    message_pk = str(message.pk)

    def _enqueue():
        from .tasks import outbox_deliver_task

        outbox_deliver_task(message_pk)

    transaction.on_commit(_enqueue)
    return message


def email_queue_template(
    *,
    to: str,
    template: str,
    context: dict,
    language: str | None = None,
    kind: str | None = None,
    headers: dict | None = None,
    attachments: tuple[tuple[str, bytes, str], ...] = (),
) -> OutboxMessage:
    """Render `<template>_subject.txt`, `<template>_message.txt` and `_message.html` in `language`, then queue.

    This is allauth's naming. Without an HTML template the text is wrapped in the common HTML layout.
    Rendering happens now, so the context may hold any object.
    """
    context = {"operator": settings.TESSERA_OPERATOR, "base_url": settings.TESSERA_BASE_URL, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body_text = render_to_string(f"{template}_message.txt", context)
        html_context = {**context, "subject": subject, "body_text": body_text}
        try:
            body_html = render_to_string(f"{template}_message.html", html_context)
        except TemplateDoesNotExist:
            body_html = render_to_string("core/email/text_as_html.html", html_context)
    return email_queue(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        kind=kind or template.rsplit("/", 1)[-1],
        headers=headers,
        attachments=attachments,
    )


def _claim(message_id, now) -> bool:
    stale = now - CLAIM_TIMEOUT
    return bool(
        OutboxMessage.objects.filter(pk=message_id, next_attempt_at__lte=now)
        .filter(
            Q(status=OutboxMessage.Status.PENDING)
            | Q(status=OutboxMessage.Status.SENDING, claimed_at__lt=stale)
        )
        .update(status=OutboxMessage.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _build(message: OutboxMessage, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=message.to,
        headers={**message.headers, "Message-ID": message.message_id},
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for attachment in message.attachments.all():
        email.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
    return email


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return (
        isinstance(error, smtplib.SMTPResponseException)
        and error.smtp_code >= 500
        and not isinstance(error, smtplib.SMTPServerDisconnected)
    )


def outbox_deliver(*, message_id, now=None, connection=None) -> bool:
    """Try to send one message; True if it was sent by this call."""
    now = now or timezone.now()
    if not _claim(message_id, now):
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        _build(message, connection or get_connection(fail_silently=False)).send()
    except Exception as error:
        permanent = _is_permanent(error)
        OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.SENDING).update(
            status=OutboxMessage.Status.REJECTED if permanent else OutboxMessage.Status.PENDING,
            next_attempt_at=now + timedelta(seconds=backoff_seconds(message.attempts)),
            last_error=f"{type(error).__name__}: {error}"[:2000],
            claimed_at=None,
        )
        log.warning("outbox: %s not delivered (attempt %s): %s", message_id, message.attempts, error)
        return False
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error="", claimed_at=None
    )
    return True


def outbox_deliver_due(*, now=None, limit: int = 200) -> int:
    """Send what is due, sharing one SMTP connection; returns how many were sent."""
    now = now or timezone.now()
    due = list(
        OutboxMessage.objects.filter(next_attempt_at__lte=now)
        .filter(
            Q(status=OutboxMessage.Status.PENDING)
            | Q(status=OutboxMessage.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    sent = 0
    connection = get_connection(fail_silently=False)
    try:
        for pk in due:
            if outbox_deliver(message_id=pk, now=now, connection=connection):
                sent += 1
            elif OutboxMessage.objects.filter(pk=pk, status=OutboxMessage.Status.PENDING).exists():
                break  # the relay is failing: leave the rest for the next sweep
    finally:
        try:
            connection.close()
        except Exception:  # noqa: S110
            pass
    return sent
