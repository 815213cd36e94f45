"""Reads of the contact form and the ticket desk."""

import hmac

from django.contrib.auth import get_user_model
from django.db.models import Count

from . import links
from .models import Ticket, TicketLink

QUEUE_LIMIT = 200


def ticket_for_link(*, public_id: str, token: str) -> Ticket | None:
    """The ticket this follow-up link opens; None for a forged link or another ticket's (no hint why)."""
    if not links.token_well_formed(token):
        return None
    digest = links.token_digest(token)
    link = TicketLink.objects.filter(token_hash=digest).select_related("ticket").first()
    if link is None or not hmac.compare_digest(link.ticket.public_id, public_id):
        return None
    return link.ticket


def ticket_thread(*, ticket: Ticket):
    return ticket.messages.select_related("staff_author")


def ticket_notes(*, ticket: Ticket):
    return ticket.notes.select_related("author")


def ticket_get(*, pk: int) -> Ticket | None:
    return Ticket.objects.select_related("assignee").filter(pk=pk).first()


def ticket_queue(*, status: str = "", assignee: str = ""):
    """Tickets of the desk's queue, newest activity first; `assignee` is a user id, "none" or "" (all)."""
    tickets = Ticket.objects.select_related("assignee").annotate(message_count=Count("messages"))
    if status in Ticket.Status.values:
        tickets = tickets.filter(status=status)
    if assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee.isdigit():
        tickets = tickets.filter(assignee_id=int(assignee))
    return tickets.order_by("-last_message_at")[:QUEUE_LIMIT]


def ticket_counts() -> dict:
    """{status: count} for every status, zeros included."""
    found = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {value: found.get(value, 0) for value in Ticket.Status.values}


def staff_members():
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email")
