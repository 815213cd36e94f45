"""Complaints (réclamations) a signed-in customer files from their personal space, and their history."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tessera.core.tokens import opaque_id

DESCRIPTION_LIMIT = 10_000


def _public_id() -> str:
    return opaque_id(12)


class Complaint(models.Model):
    class Category(models.TextChoices):
        CARD = "card", _("Cards")
        MEETING = "meeting", _("Meetings")
        BILLING = "billing", _("Billing")
        PRIVACY = "privacy", _("Privacy and personal data")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        RECEIVED = "received", pgettext_lazy("complaint status", "Received")
        HANDLING = "handling", _("Being handled")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    OPEN = (Status.RECEIVED, Status.HANDLING)

    public_id = models.CharField(max_length=32, unique=True, default=_public_id, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="complaints"
    )
    # Kept apart from the account: a complaint may outlive it (limitation period).
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default="fr")
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    description = models.TextField(_("description"), max_length=DESCRIPTION_LIMIT)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_complaints",
    )
    created_at = models.DateTimeField(_("filed"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due"))
    answered_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self):
        return f"C{self.pk} {self.category}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ComplaintEvent(models.Model):
    """One step of a complaint's history, as the customer sees it."""

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        STATUS = "status", _("Status changed")
        ANSWER = "answer", _("Answer")
        REOPENED = "reopened", _("Reopened")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Complaint.Status.choices)
    staff_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True, max_length=DESCRIPTION_LIMIT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.complaint_id} {self.kind}"


class ComplaintAttachment(models.Model):
    """A file checked by its content; kept in the database, never under a public path."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.complaint_id} {self.name}"
