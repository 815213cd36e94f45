"""Testimonials a customer submits from their personal space, reviewed by staff, shown on the site."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.core.tokens import opaque_id

TEXT_MIN = 20
TEXT_LIMIT = 1500
NAME_LIMIT = 120
ROLE_LIMIT = 120
COMPANY_LIMIT = 200
MESSAGE_LIMIT = 2000


def _public_id() -> str:
    return opaque_id(12)


class Testimonial(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted, waiting for review")
        PROPOSED = "proposed", _("Edit proposed, waiting for your answer")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Not published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # Still the author's to withdraw, and staff's to review.
    LIVE = (Status.SUBMITTED, Status.PROPOSED, Status.PUBLISHED)
    # Decided for good: deleted 30 days after the decision.
    ENDED = (Status.REJECTED, Status.WITHDRAWN)

    public_id = models.CharField(max_length=32, unique=True, default=_public_id, editable=False)
    # The relationship is the account's: the testimonial goes with it.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="testimonials"
    )
    # Set when an organisation admin speaks for their company.
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    text = models.TextField(_("testimonial"), max_length=TEXT_LIMIT)
    name = models.CharField(_("name as shown"), max_length=NAME_LIMIT)
    role = models.CharField(_("role as shown"), max_length=ROLE_LIMIT, blank=True)
    company = models.CharField(_("company as shown"), max_length=COMPANY_LIMIT, blank=True)
    # A re-encoded JPEG without metadata; served from our origin only.
    photo = models.BinaryField(blank=True, default=b"")
    photo_version = models.CharField(max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    proposed_text = models.TextField(_("proposed text"), blank=True, max_length=TEXT_LIMIT)
    # What staff tell the author: why it was rejected, or what the proposed edit changes.
    staff_message = models.TextField(_("message to the author"), blank=True, max_length=MESSAGE_LIMIT)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent = models.ForeignKey(
        "privacy.ConsentRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("submitted"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    # When it was rejected or withdrawn: the 30 days of its retention count from then.
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("testimonial")
        verbose_name_plural = _("testimonials")

    def __str__(self):
        return f"T{self.pk} {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE
