"""The transactional outbox: emails are rows first, deliveries later.

`email_queue*` must be called inside the transaction of the action that causes the email; delivery is
enqueued only once that transaction commits, and a periodic sweep picks up whatever a crash or an
outage left behind. Retries back off exponentially and never give up on a temporary failure. The
claim, backoff and after-commit enqueue are tessera.core.delivery's, which the cards' webhooks share.

Credentials never sit in clear: an email whose bodies or attachments hold a link with a secret in its
fragment, or a link to one of our routes with a credential path parameter (CREDENTIAL_PARAMETERS:
`token`, `key`, ...), must be queued `confidential=True` or `email_queue` raises UnsealedCredential. The
rule reads the links themselves, so a new email (a ticket link, a death-notice link) is caught on its
first run without being listed anywhere; a new route names its secret parameter `token` (a test checks
that every route parameter is either a record name or a credential).
"""

import html
import logging
import re
import secrets
import smtplib
from datetime import timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from . import delivery, sealing
from .models import OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

# A row left in "sending" this long was claimed by a worker that died: it is due again.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Callables `(to=, kind=) -> bool` added by apps (tessera.privacy): True queues the message HELD.
hold_checks: list = []


class UnsealedCredential(ValueError):
    """An email carrying a credential link, queued without `confidential=True`: it is not queued."""


# Path parameters that carry a credential, in our routes and allauth's (`confirm-email/<key>/`,
# `password/reset/key/<uidb36>-<key>/`, `rights/link/<token>/`, `invitation/<token>/`, ...).
CREDENTIAL_PARAMETERS = frozenset({"token", "key", "uidb36", "secret", "code"})
# Route names with such a parameter that grants nothing worth sealing, added by apps (tessera.privacy).
credential_exempt_routes: set[str] = set()
_URL = re.compile(r"https?://[^\s<>\"'`]+")


def _credential_parameters(url: str) -> list[str]:
    """The values of the credential parameters of one URL of the product (none for other URLs).

    The path is resolved in every language, since English pages live under /en/.
    """
    parts = urlsplit(url)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            try:
                match = resolve(parts.path)
            except Resolver404:
                continue
        if match.view_name in credential_exempt_routes:
            return []
        return [str(v) for k, v in match.kwargs.items() if k in CREDENTIAL_PARAMETERS and v]
    return []


def credential_urls(text: str) -> list[str]:
    """The links in `text` that carry a credential: a secret in the fragment (meeting links), or a
    token in the path of one of our routes (see CREDENTIAL_PARAMETERS)."""
    found = []
    for url in _URL.findall(html.unescape(text)):
        url = url.rstrip(".,;:!?)]}")
        if sealing.has_fragment_secret(url) or _credential_parameters(url):
            found.append(url)
    return found


def credential_strip(text: str) -> str:
    """`text` with every credential of its links replaced by "…": what staff may read once it was sent."""
    text = sealing.strip_fragments(text)
    for url in _URL.findall(text):
        url = url.rstrip(".,;:!?)]}")
        parts = urlsplit(url)
        path = parts.path
        for value in sorted(_credential_parameters(url), key=len, reverse=True):
            path = path.replace(value, "…")
        if path != parts.path:
            text = text.replace(url, parts._replace(path=path).geturl())
    return text


def credential_check(*, body_text: str, body_html: str, attachments, confidential: bool) -> None:
    """Refuse to store a credential link in clear (UnsealedCredential).

    Every email goes through here, so an email added later that carries a reset, confirmation, rights
    or invitation link fails on its first run (and in its tests) until it is queued `confidential`.
    """
    if confidential:
        return
    parts = [body_text, body_html]
    parts += [content.decode("utf-8", "replace").replace("\r\n ", "") for _n, content, _t in attachments]
    for part in parts:
        urls = credential_urls(part or "")
        if urls:
            raise UnsealedCredential(f"an email carrying a credential link must be confidential: {urls[0]}")


class MarketingHeadersMissing(ValueError):
    """A marketing email without the RFC 8058 one-click unsubscribe headers: it is not queued."""


ONE_CLICK = "List-Unsubscribe=One-Click"


def marketing_headers_check(headers: dict) -> None:
    """Every marketing email carries List-Unsubscribe with an HTTPS (or HTTP) URL and the one-click
    List-Unsubscribe-Post header (RFC 8058); raises MarketingHeadersMissing otherwise."""
    unsubscribe = str(headers.get("List-Unsubscribe", ""))
    urls = [part.strip().strip("<>") for part in unsubscribe.split(",")]
    if not any(url.startswith(("https://", "http://")) for url in urls if url):
        raise MarketingHeadersMissing("a marketing email needs a List-Unsubscribe header with an http(s) URL")
    if str(headers.get("List-Unsubscribe-Post", "")).strip() != ONE_CLICK:
        raise MarketingHeadersMissing(
            f"a marketing email needs the header List-Unsubscribe-Post: {ONE_CLICK}"
        )


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
    confidential: bool = False,
) -> OutboxMessage:
    """Write one email to the outbox; it is sent once the surrounding transaction commits.

    `to` is one address, optionally with a display name ("Ada <ada@example.org>"). A `kind="marketing"`
    message must carry the RFC 8058 unsubscribe headers (MarketingHeadersMissing). A `confidential`
    message carries credentials (link secrets in URL fragments, tokens in link paths, codes): its bodies
    and attachments are stored encrypted and, once delivered, only a copy without the link credentials is
    kept. A message with a credential link that is not `confidential` is refused (UnsealedCredential).
    """
    if kind == "marketing":
        marketing_headers_check(headers or {})
    credential_check(
        body_text=body_text, body_html=body_html, attachments=attachments, confidential=confidential
    )
    to = to.strip()
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    message = OutboxMessage.objects.create(
        kind=kind,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        recipient=(parseaddr(to)[1] or to).lower(),
        subject=" ".join(subject.split())[:300],
        body_text=sealing.seal_text(body_text) if confidential else body_text,
        body_html=sealing.seal_text(body_html) if confidential and body_html else body_html,
        confidential=confidential,
        headers=headers or {},
        # From the system's randomness: make_msgid draws on `random`, which a seeded test (or library)
        # can replay, and two messages in the same centisecond then share an id.
        message_id=f"<{secrets.token_hex(16)}@{domain}>",
        status=OutboxMessage.Status.HELD
        if any(check(to=to, kind=kind) for check in hold_checks)
        else OutboxMessage.Status.PENDING,
    )
    OutboxAttachment.objects.bulk_create(
        OutboxAttachment(
            message=message,
            filename=name,
            content=sealing.seal_bytes(content) if confidential else content,
            content_type=ctype,
        )
        for name, content, ctype in attachments
    )
    delivery.enqueue_on_commit(OUTBOX, message.pk)
    return message


# Messages queued in one transaction leave together, over one SMTP connection per batch: 200
# invitations are a few tasks, not 200 tasks and 200 connections. Batches bound the work of one task.
DELIVERY_BATCH = 50


OUTBOX = delivery.Channel(
    model=OutboxMessage,
    task="tessera.core.tasks.outbox_deliver_task",
    batch_task="tessera.core.tasks.outbox_deliver_batch_task",
    batch_size=DELIVERY_BATCH,
    delivered=OutboxMessage.Status.SENT,
    delivered_at="sent_at",
    given_up=OutboxMessage.Status.REJECTED,
    claim_timeout=CLAIM_TIMEOUT,
)


def email_queue_template(
    *,
    to: str,
    template: str,
    context: dict,
    language: str | None = None,
    kind: str | None = None,
    headers: dict | None = None,
    attachments: tuple[tuple[str, bytes, str], ...] = (),
    confidential: bool = False,
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
        rendered_in = translation.get_language()
    return email_queue(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        kind=kind or template.rsplit("/", 1)[-1],
        # RFC 3282: mail clients and screen readers pick the voice from it, as from the html lang.
        headers={"Content-Language": rendered_in, **(headers or {})},
        attachments=attachments,
        confidential=confidential,
    )


def _build(message: OutboxMessage, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=sealing.open_text(message.body_text),
        from_email=message.from_email,
        to=message.to,
        headers={**message.headers, "Message-ID": message.message_id},
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(sealing.open_text(message.body_html), "text/html")
    for attachment in message.attachments.all():
        email.attach(
            attachment.filename, sealing.open_bytes(bytes(attachment.content)), attachment.content_type
        )
    return email


@transaction.atomic
def _declassify(message_id) -> None:
    """Keep a delivered confidential message readable for staff, without its link secrets."""
    message = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if not message.confidential:
        return
    message.body_text = credential_strip(sealing.open_text(message.body_text))
    message.body_html = credential_strip(sealing.open_text(message.body_html))
    message.confidential = False
    message.save(update_fields=["body_text", "body_html", "confidential"])
    for attachment in message.attachments.all():
        attachment.content = sealing.strip_fragments_bytes(sealing.open_bytes(bytes(attachment.content)))
        attachment.save(update_fields=["content"])


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer about this message (its recipient or its content): retrying cannot help.

    A 5xx about the relay itself (greeting, authentication, sender) is a configuration problem that
    would reject every message: it stays temporary, so fixing the relay delivers the backlog.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def _relay_failed(error: Exception) -> bool:
    """The relay is unreachable or refuses us (not just this message): the next one would fail too."""
    return isinstance(error, OSError) and not isinstance(
        error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError
    )


def _deliver(message_id, now, connection, relay_error: Exception | None = None) -> delivery.Result:
    """Claim and send one message; with `relay_error` (the relay could not be reached for its batch),
    record that failure for it instead, as its own attempt would have."""

    def send(message: OutboxMessage) -> None:
        if relay_error is not None:
            raise relay_error
        _build(message, connection).send()

    result = delivery.attempt(OUTBOX, message_id, now=now, send=send, permanent=_is_permanent)
    if result.error is not None:
        log.warning("outbox: %s not delivered (attempt %s): %s", message_id, result.attempts, result.error)
    if result.outcome in (delivery.Outcome.DELIVERED, delivery.Outcome.GAVE_UP):
        _declassify(message_id)
    return result


def outbox_deliver(*, message_id, now=None, connection=None) -> bool:
    """Try to send one message if it is due; True if it was sent by this call.

    Safe to call any number of times and from several workers: only one claim succeeds.
    """
    result = _deliver(message_id, now or timezone.now(), connection or get_connection(fail_silently=False))
    return result.outcome is delivery.Outcome.DELIVERED


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: S110 - a broken connection is being discarded anyway
        pass


def outbox_deliver_due(*, now=None, limit: int = 200) -> int:
    """Send what is due over one SMTP connection; returns how many were sent."""
    now = now or timezone.now()
    return _deliver_many(delivery.due_ids(OUTBOX, now=now, limit=limit), now)


def outbox_deliver_batch(*, message_ids, now=None) -> int:
    """Send those of these messages that are due, over one SMTP connection; returns how many were sent.

    Safe to repeat and to race with the sweep: each message is claimed before it is sent.
    """
    return _deliver_many(list(message_ids), now or timezone.now(), charge_outage=True)


def _deliver_many(due: list, now, *, charge_outage: bool = False) -> int:
    """Send over one connection. A relay that cannot be reached costs the sweep nothing (it retries them
    all next time); for a fresh batch (`charge_outage`) each message records the failed attempt and backs
    off, as if it had been tried on its own."""
    if not due:
        return 0
    connection = get_connection(fail_silently=False)
    # Opened here, the connection stays open across messages (a backend closes the ones it opens).
    try:
        connection.open()
    except Exception as error:
        log.warning("outbox: relay unreachable, %s due messages wait: %s", len(due), error)
        if charge_outage:
            for pk in due:
                _deliver(pk, now, connection, relay_error=error)
        return 0
    sent = 0
    try:
        for pk in due:
            result = _deliver(pk, now, connection)
            if result.outcome is delivery.Outcome.DELIVERED:
                sent += 1
            elif result.outcome is delivery.Outcome.RETRY and _relay_failed(result.error):
                break  # leave the rest for the next sweep
            elif result.outcome in (delivery.Outcome.RETRY, delivery.Outcome.GAVE_UP):
                # The session may be left mid-transaction: the next message starts a fresh one.
                _close_quietly(connection)
                try:
                    connection.open()
                except Exception:
                    break
    finally:
        _close_quietly(connection)
    return sent


def outbox_retry(*, message_ids) -> list:
    """Make pending, rejected or stale messages due now and deliver them after commit; their ids.

    Sent and held messages are left alone: sending twice or despite a restriction is never a retry.
    """
    return delivery.retry(OUTBOX, message_ids)
