"""Contact requests and their threads: a ticket per message sent through the contact form."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.core.tokens import opaque_id

MESSAGE_LIMIT = 10_000


def _public_id() -> str:
    return opaque_id(12)


class Ticket(models.Model):
    """One request sent through the contact form, with the sender's details as they gave them."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting for the customer")
        CLOSED = "closed", _("Closed")

    public_id = models.CharField(max_length=32, unique=True, default=_public_id, editable=False)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("email"), db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    language = models.CharField(_("language"), max_length=8, default="fr")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_tickets",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at"]
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        indexes = [models.Index(fields=["status", "last_message_at"])]

    def __str__(self):
        return f"#{self.pk} {self.subject}"

    @property
    def sender_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class TicketMessage(models.Model):
    """One message of the thread the sender sees: theirs or staff's."""

    class Author(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", _("Staff")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=16, choices=Author.choices)
    staff_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("message"), max_length=MESSAGE_LIMIT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.ticket_id} {self.author} {self.created_at:%Y-%m-%d %H:%M}"


class TicketNote(models.Model):
    """A note staff keep for each other on a ticket; never shown nor sent to the sender."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("internal note"), max_length=MESSAGE_LIMIT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.ticket_id} note {self.created_at:%Y-%m-%d %H:%M}"


class TicketLink(models.Model):
    """A follow-up link emailed to the sender: only the SHA-256 of its token is kept.

    Each email carries a fresh link and older ones keep working, so any email of the thread opens it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.ticket_id} link {self.created_at:%Y-%m-%d}"


from .complaints import Complaint, ComplaintAttachment, ComplaintEvent  # noqa: E402, F401
from .customers import CustomerContact, CustomerFile, CustomerNote  # noqa: E402, F401
from .testimonials import Testimonial  # noqa: E402, F401
