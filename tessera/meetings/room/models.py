from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tessera.meetings.models import MeetingSession, SessionParticipant


class RecordingNotice(models.Model):
    """Someone asked to record a live session; conference data, deleted with the session (7 days)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for every answer")
        RECORDING = "recording", _("recording")
        STOPPED = "stopped", pgettext_lazy("recording status", "stopped")
        CANCELLED = "cancelled", _("cancelled before it started")

    session = models.ForeignKey(MeetingSession, on_delete=models.CASCADE, related_name="recording_notices")
    requested_by = models.ForeignKey(
        SessionParticipant, on_delete=models.SET_NULL, null=True, related_name="recordings_requested"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    stopped_at = models.DateTimeField(
        pgettext_lazy("date a recording stopped", "stopped"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("recording notice")
        verbose_name_plural = _("recording notices")
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.session_id} {self.status}"


class RecordingAnswer(models.Model):
    """One participant's answer to a recording notice: accept, or refuse and leave."""

    notice = models.ForeignKey(RecordingNotice, on_delete=models.CASCADE, related_name="answers")
    participant = models.ForeignKey(
        SessionParticipant, on_delete=models.SET_NULL, null=True, related_name="recording_answers"
    )
    accepted = models.BooleanField(pgettext_lazy("recording answer", "accepted"))
    joined_during = models.BooleanField(_("joined during the recording"), default=False)
    answered_at = models.DateTimeField(
        pgettext_lazy("date a participant answered", "answered"), default=timezone.now
    )

    class Meta:
        verbose_name = _("recording answer")
        verbose_name_plural = _("recording answers")
        ordering = ["answered_at"]

    def __str__(self):
        return f"{self.notice_id} {'accepted' if self.accepted else 'refused'}"


class QualitySample(models.Model):
    """Aggregated getStats figures one client sent for a 10-second window; never any content."""

    session = models.ForeignKey(MeetingSession, on_delete=models.CASCADE, related_name="quality_samples")
    participant = models.ForeignKey(
        SessionParticipant, on_delete=models.CASCADE, related_name="quality_samples"
    )
    created_at = models.DateTimeField(_("measured"), default=timezone.now, db_index=True)
    bitrate_in_kbps = models.FloatField(default=0)
    bitrate_out_kbps = models.FloatField(default=0)
    rtt_ms = models.FloatField(null=True, blank=True)
    jitter_ms = models.FloatField(null=True, blank=True)
    loss_pct = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    peers = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("quality sample")
        verbose_name_plural = _("quality samples")
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.participant_id} {self.created_at:%H:%M:%S}"


class SfuPlacement(models.Model):
    """Which Janus forwards a large room's media, and how many take part there (placement by load).

    Operational data only: the Janus room id is random, never the meeting's; no secret, no person.
    """

    room_id = models.CharField(max_length=64, unique=True)
    janus_url = models.CharField(max_length=255, db_index=True)
    janus_room = models.CharField(max_length=64)
    participants = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("SFU placement")
        verbose_name_plural = _("SFU placements")

    def __str__(self):
        return f"{self.room_id} on {self.janus_url}"
