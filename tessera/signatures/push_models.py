"""What a push to Gmail leaves behind: a durable run, one row per member, and what each member last got."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation


class PushRun(models.Model):
    """A push of some members' signatures to Gmail, worked through by the task queue and resumable."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("in progress")
        DONE = "done", _("finished")
        CANCELLED = "cancelled", _("cancelled")
        FAILED = "failed", _("stopped")

    class Kind(models.TextChoices):
        MANUAL = "manual", _("pushed by an administrator")
        AUTOMATIC = "automatic", _("after a card changed")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="signature_pushes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    label = models.CharField(_("who"), max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.CharField(max_length=500, blank=True)  # why the run stopped, to show
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A worker holding the run refreshes this; a stale one means the worker died and the run is resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    # While Google asks the whole project to slow down, nobody is pushed before this.
    paused_until = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        return f"{self.label} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.CANCELLED, self.Status.FAILED)

    @property
    def who(self) -> str:
        """The label, stored in English, in the reader's language (a run outlives the request's language)."""
        if self.label in ("everyone", "after card changes"):
            return gettext(self.label)
        if self.label.startswith("department "):
            return gettext("department %(name)s") % {"name": self.label.removeprefix("department ")}
        count = self.label.partition(" ")[0]
        if count.isdigit():
            return gettext("%(count)d selected member(s)") % {"count": int(count)}
        return self.label


class PushItem(models.Model):
    """One member in a run: pending, being sent (a crash leaves it so, and it is checked before a rewrite), done."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("sending")
        UPDATED = "updated", _("updated")
        UNCHANGED = "unchanged", _("unchanged")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    run = models.ForeignKey(PushRun, on_delete=models.CASCADE, related_name="items")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True)  # why skipped, or Google's message
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["run", "user"], name="signatures_push_item_once")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self):
        return f"{self.user_id}: {self.status}"


class PushedSignature(models.Model):
    """What Gmail last got for a member, and when a card change asks for the next automatic push."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # A digest of the HTML sent, never the HTML: enough to know a new push would change nothing.
    digest = models.CharField(max_length=64, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set by the first card change of a window; later changes in the window do not move it (coalescing).
    repush_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="signatures_pushed_once_per_member")
        ]
        indexes = [models.Index(fields=["repush_due_at"])]

    def __str__(self):
        return f"{self.user_id} ({self.pushed_at})"
