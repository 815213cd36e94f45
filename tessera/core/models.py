import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OutboxMessage(models.Model):
    """An email written in the same transaction as the action that caused it, delivered later.

    The worker claims a row, sends it, and marks it sent; a crash or a refused connection leaves it
    pending with a later `next_attempt_at`. `message_id` is fixed at creation, so that a relay or a
    mailbox can recognise a repeat after a crash between sending and marking.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", pgettext_lazy("email status", "sent")
        REJECTED = "rejected", _("rejected by the relay")
        HELD = "held", _("held (processing restricted)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    from_email = models.CharField(_("from"), max_length=254)
    to = models.JSONField(_("recipients"), default=list)
    # Lower-cased recipient address, for rights requests ("every email sent to me").
    recipient = models.EmailField(_("recipient"), db_index=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(pgettext_lazy("date an email was sent", "sent"), null=True, blank=True)
    # Bodies and attachments hold secrets (meeting link keys): sealed at rest until delivered, then
    # kept only with those secrets removed (tessera.core.outbox).
    confidential = models.BooleanField(_("confidential until delivered"), default=False)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self):
        return f"{self.subject} → {self.recipient}"


class OutboxAttachment(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()

    class Meta:
        verbose_name = _("attachment")

    def __str__(self):
        return self.filename


class SecurityEvent(models.Model):
    """One entry of the append-only, hash-chained security log.

    `hash` covers the previous entry's hash, the entry's own fields and `personal_digest`, a salted
    digest of the personal fields. Erasing a person overwrites the personal fields and the salt but
    keeps the digest, so the chain still verifies and the digest no longer links to anyone.
    """

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    actor_id = models.BigIntegerField(_("actor account"), null=True, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    salt = models.CharField(max_length=32, blank=True)
    personal_digest = models.CharField(max_length=64)
    shredded_at = models.DateTimeField(_("personal data erased"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("security log entry")
        verbose_name_plural = _("security log")
        ordering = ["-seq"]

    def __str__(self):
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        # Appended by tessera.core.audit only; erasure and retention work on querysets.
        if not self._state.adding:
            raise TypeError("The security log is append-only: entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The security log is append-only: entries leave only by retention.")


class SecurityLogHead(models.Model):
    """The chain's single head row: appends lock it, pruning moves its anchor."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # Entries before anchor_seq were pruned by retention; the first kept one must chain to anchor_hash.
    anchor_seq = models.PositiveBigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"head {self.last_seq}"


class SpentChallenge(models.Model):
    """A proof-of-work challenge already used once; kept until it would have expired anyway."""

    challenge_id = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.challenge_id
