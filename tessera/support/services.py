"""Writes of the contact form and the ticket desk: each in one transaction with the emails it causes."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.core import pow
from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.privacy.retention import batched_delete

from . import links
from .conf import RETENTION, staff_address
from .models import Ticket, TicketLink, TicketMessage, TicketNote

CONTACT_SCOPE = "support:contact"


class TicketClosed(Exception):
    """The sender answered a closed ticket: nothing is stored."""


def _link_issue(ticket: Ticket) -> str:
    token = links.token_make()
    TicketLink.objects.create(ticket=ticket, token_hash=links.token_digest(token))
    return links.follow_up_url(public_id=ticket.public_id, token=token, language=ticket.language)


def _desk_url(ticket: Ticket) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return settings.TESSERA_BASE_URL + reverse("support:desk_ticket", kwargs={"pk": ticket.pk})


@transaction.atomic
def ticket_create(*, data: dict, challenge: str, nonce: str, language: str) -> Ticket:
    """A message of the contact form becomes a ticket; the sender gets a confirmation with their link.

    The proof of work is spent in the same transaction, so a refused or replayed one stores nothing.
    """
    try:
        pow.challenge_redeem(challenge=challenge, nonce=nonce, scope=CONTACT_SCOPE)
    except pow.ProofOfWorkError as error:
        raise ValidationError({"__all__": [str(error)]}, code="pow") from None
    now = timezone.now()
    ticket = Ticket.objects.create(
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
        phone=data.get("phone", ""),
        company=data.get("company", ""),
        subject=data["subject"],
        language=language,
        created_at=now,
        last_message_at=now,
    )
    TicketMessage.objects.create(
        ticket=ticket, author=TicketMessage.Author.CUSTOMER, body=data["message"], created_at=now
    )
    email_queue_template(
        to=ticket.email,
        template="support/email/received",
        context={"ticket": ticket, "link": _link_issue(ticket), "message": data["message"]},
        language=ticket.language,
        kind="support_received",
        confidential=True,  # the link opens the thread
    )
    return ticket


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, body: str) -> TicketMessage:
    """The sender answers from their link: the ticket is open again and staff are told."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Ticket.Status.CLOSED:
        raise TicketClosed
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket, author=TicketMessage.Author.CUSTOMER, body=body, created_at=now
    )
    ticket.last_message_at = now
    if ticket.status == Ticket.Status.WAITING:
        ticket.status = Ticket.Status.OPEN
    ticket.save(update_fields=["last_message_at", "status"])
    assignee = ticket.assignee
    email_queue_template(
        to=assignee.email if assignee else staff_address(),
        template="support/email/customer_replied",
        context={"ticket": ticket, "desk_url": _desk_url(ticket)},
        language=getattr(assignee, "language", None),
        kind="support_customer_replied",
    )
    return message


@transaction.atomic
def ticket_staff_reply(*, ticket: Ticket, actor, body: str, request=None) -> TicketMessage:
    """Staff answer from the desk: the sender gets it by email with a link to the thread."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket, author=TicketMessage.Author.STAFF, staff_author=actor, body=body, created_at=now
    )
    ticket.last_message_at = now
    ticket.status = Ticket.Status.WAITING
    ticket.closed_at = None
    ticket.save(update_fields=["last_message_at", "status", "closed_at"])
    email_queue_template(
        to=ticket.email,
        template="support/email/staff_replied",
        context={"ticket": ticket, "link": _link_issue(ticket), "message": body},
        language=ticket.language,
        kind="support_staff_replied",
        confidential=True,
    )
    security_event_record(
        action="support.ticket.replied", actor=actor, request=request, data={"ticket": ticket.pk}
    )
    return message


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor, status: str, assignee, request=None) -> Ticket:
    """Change a ticket's status or assignee from the desk."""
    if status not in Ticket.Status.values:
        raise ValidationError({"status": [_("Choose a valid status.")]})
    if assignee is not None and not (assignee.is_staff and assignee.is_active):
        raise ValidationError({"assignee": [_("Only active staff can be assigned a ticket.")]})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before = {"status": ticket.status, "assignee": ticket.assignee_id}
    ticket.status = status
    ticket.assignee = assignee
    if status == Ticket.Status.CLOSED and ticket.closed_at is None:
        ticket.closed_at = timezone.now()
    elif status != Ticket.Status.CLOSED:
        ticket.closed_at = None
    ticket.save(update_fields=["status", "assignee", "closed_at"])
    after = {"status": ticket.status, "assignee": ticket.assignee_id}
    if after != before:
        security_event_record(
            action="support.ticket.updated",
            actor=actor,
            request=request,
            data={"ticket": ticket.pk, "before": before, "after": after},
        )
    return ticket


@transaction.atomic
def ticket_note_add(*, ticket: Ticket, actor, body: str) -> TicketNote:
    return TicketNote.objects.create(ticket=ticket, author=actor, body=body)


def ticket_read_record(*, ticket: Ticket, actor, request=None) -> None:
    """Staff access is logged: who opened which ticket, in the security log."""
    security_event_record(
        action="support.ticket.viewed", actor=actor, request=request, data={"ticket": ticket.pk}
    )


def tickets_expired_delete(*, now) -> int:
    """Closed tickets whose last message is more than 3 years old go, with their thread, notes and links."""
    due = Ticket.objects.filter(status=Ticket.Status.CLOSED, last_message_at__lt=now - RETENTION)
    return batched_delete(due.order_by())


def tickets_of_email_delete(*, email: str) -> int:
    return batched_delete(Ticket.objects.filter(email__iexact=email).order_by())
