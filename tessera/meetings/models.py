import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """A scheduled meeting. The room secret is never stored; by default the server never sees it (0010)."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("waiting for the organiser's confirmation")
        SCHEDULED = "scheduled", _("scheduled")
        CANCELLED = "cancelled", _("cancelled")

    # Opaque identifiers: `room_id` appears in join links, `public_id` in the management link and the API.
    room_id = models.CharField(_("room"), max_length=32, unique=True)
    public_id = models.CharField(_("public identifier"), max_length=32, unique=True)
    uid = models.UUIDField(_("calendar UID"), default=uuid.uuid4, unique=True, editable=False)
    manage_token_hash = models.CharField(max_length=64, unique=True)
    # The organiser chose links that carry the room secret (decision 0010): the server then composes emails
    # with it. Otherwise the secret is born in the organiser's browser and the server never receives it.
    key_in_links = models.BooleanField(_("links carry the meeting key"), default=False)
    # SHA-256 of the room secret under a fixed label: lets the server refuse a mistyped secret, reveals
    # nothing. Empty when the server never saw the secret (links without the key).
    room_secret_check = models.CharField(max_length=64, blank=True)
    # The organiser expects more people than a mesh carries: the room goes through the SFU from its first
    # participant (decision 0011). Offered only where the deployment names a Janus.
    large_meeting = models.BooleanField(_("large meeting"), default=False)
    # Empty only for an instant meeting, which has no title and no organiser's address.
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"), db_index=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    organiser_email = models.EmailField(_("organiser's email"), db_index=True, blank=True)
    # Opened at once from "Start a meeting now": no title, no address, no account; deleted 7 days after
    # the room was last used (meetings.services.instant).
    instant = models.BooleanField(_("instant meeting"), default=False)
    language = models.CharField(_("language of the emails"), max_length=8, default="fr")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="meeting_events",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="meeting_events",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    sequence = models.PositiveIntegerField(_("calendar sequence"), default=0)
    reminder_enabled = models.BooleanField(_("reminder 15 minutes before"), default=True)
    reminder_queued_at = models.DateTimeField(_("reminder queued"), null=True, blank=True)
    verified_at = models.DateTimeField(_("organiser's address confirmed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # The organiser ended the live meeting for everyone: the others cannot come back until the organiser
    # opens the room again. Kept here, not in one process's memory, so a restart does not reopen it.
    room_ended_at = models.DateTimeField(_("ended by the organiser"), null=True, blank=True)
    age_confirmed_at = models.DateTimeField(_("confirmed 16 or older"), null=True, blank=True)
    # The marketing opt-in ticked on the creation form waits here until the address is confirmed: the
    # language and version of the text shown. Both are emptied once the consent ledger records it.
    marketing_opt_in_language = models.CharField(
        _("marketing opt-in awaiting confirmation: language of the text"), max_length=8, blank=True
    )
    marketing_opt_in_version = models.CharField(
        _("marketing opt-in awaiting confirmation: version of the text"), max_length=40, blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["status", "starts_at"], name="meetings_event_due")]

    def __str__(self):
        return f"{self.title or _('Instant meeting')} ({self.starts_at:%Y-%m-%d %H:%M})"

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class Invitation(models.Model):
    """One personal link to an event: an invitee's (with an address) or a guest link (lobby)."""

    class Kind(models.TextChoices):
        INVITEE = "invitee", _("invitee")
        GUEST = "guest", _("guest link")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INVITEE)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    # SHA-256 of the invite token; the token itself is derived, never stored (meetings.links).
    token_hash = models.CharField(max_length=64, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # The language of this invitee's emails; empty means the event's.
    language = models.CharField(_("language of the emails"), max_length=8, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_sequence = models.IntegerField(_("last sequence emailed"), default=-1)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=models.Q(revoked_at__isnull=True, kind="invitee"),
                name="meetings_one_active_invitation_per_address",
            )
        ]

    def __str__(self):
        return self.email or str(self.kind)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def email_language(self) -> str:
        return self.language or self.event.language


class MeetingSession(models.Model):
    """One live session of an event's room: metadata only, kept 7 days after it was created."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("start"), default=timezone.now)
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)

    class Meta:
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.event_id} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.ended_at - self.started_at) if self.ended_at else None


class SessionParticipant(models.Model):
    """Who connected to a live session, and when; deleted with the session."""

    session = models.ForeignKey(MeetingSession, on_delete=models.CASCADE, related_name="participants")
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="connections"
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("session participant")
        verbose_name_plural = _("session participants")
        ordering = ["joined_at"]

    def __str__(self):
        return f"{self.invitation_id} {self.joined_at:%H:%M}"
