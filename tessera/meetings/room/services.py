"""Writes of the live room: live sessions and their participants, recording notices and answers, call
quality. Everything here is metadata: no content, no key, no display name. The room imports meetings,
never the other way round: meetings deletes the rows hanging off a session through the deleter the room
registers (apps.py).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tessera.meetings.conf import meetings_setting
from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
from tessera.privacy.retention import BATCH_SIZE, batched_delete

from .models import QualitySample, RecordingAnswer, RecordingNotice, SfuPlacement

log = logging.getLogger(__name__)

NOTICE_TEXT = "{name} wants to record this meeting. Accept / Refuse and leave."
NOTICE_TEXT_VERSION = "room-recording-notice-2026-01"


@transaction.atomic
def meeting_session_open(*, event: Event, now=None) -> MeetingSession:
    now = now or timezone.now()
    return MeetingSession.objects.create(event=event, created_at=now, started_at=now)


@transaction.atomic
def meeting_session_close(*, session: MeetingSession, now=None) -> None:
    now = now or timezone.now()
    MeetingSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=now)
    SessionParticipant.objects.filter(session=session, left_at__isnull=True).update(left_at=now)


@transaction.atomic
def session_participant_join(*, session: MeetingSession, invitation: Invitation, now=None):
    return SessionParticipant.objects.create(
        session=session, invitation=invitation, joined_at=now or timezone.now()
    )


@transaction.atomic
def session_participant_leave(*, participant: SessionParticipant, now=None) -> None:
    SessionParticipant.objects.filter(pk=participant.pk, left_at__isnull=True).update(
        left_at=now or timezone.now()
    )


def live_session_open(*, event_id: int, now=None) -> int:
    event = Event.objects.get(pk=event_id)
    return meeting_session_open(event=event, now=now).pk


def live_session_close(*, session_id: int, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        session = MeetingSession.objects.filter(pk=session_id).first()
        if session is None:
            return
        RecordingNotice.objects.filter(
            session=session, status__in=[RecordingNotice.Status.PENDING, RecordingNotice.Status.RECORDING]
        ).update(status=RecordingNotice.Status.STOPPED, stopped_at=now)
        meeting_session_close(session=session, now=now)


def participant_join(*, session_id: int, invitation_id: int | None, now=None) -> int:
    session = MeetingSession.objects.get(pk=session_id)
    invitation = Invitation.objects.filter(pk=invitation_id).first() if invitation_id else None
    return session_participant_join(session=session, invitation=invitation, now=now).pk


def participant_leave(*, participant_id: int, now=None) -> None:
    participant = SessionParticipant.objects.filter(pk=participant_id).first()
    if participant is not None:
        session_participant_leave(participant=participant, now=now)


@transaction.atomic
def recording_notice_create(*, session_id: int, participant_id: int | None, now=None) -> int:
    now = now or timezone.now()
    notice = RecordingNotice.objects.create(
        session_id=session_id, requested_by_id=participant_id, created_at=now
    )
    return notice.pk


@transaction.atomic
def recording_notice_update(*, notice_id: int, status: str, now=None) -> None:
    now = now or timezone.now()
    values = {"status": status}
    if status == RecordingNotice.Status.RECORDING:
        values["started_at"] = now
    elif status in {RecordingNotice.Status.STOPPED, RecordingNotice.Status.CANCELLED}:
        values["stopped_at"] = now
    RecordingNotice.objects.filter(pk=notice_id).update(**values)


@transaction.atomic
def recording_answer_record(
    *,
    notice_id: int,
    participant_id: int | None,
    invitation_id: int | None,
    organiser: bool,
    accepted: bool,
    joined_during: bool,
    now=None,
) -> None:
    """Store the answer as conference data, and in the consent ledger when we know the person's address."""
    now = now or timezone.now()
    notice = RecordingNotice.objects.select_related("session__event").get(pk=notice_id)
    RecordingAnswer.objects.create(
        notice=notice,
        participant_id=participant_id,
        accepted=accepted,
        joined_during=joined_during,
        answered_at=now,
    )
    email = ""
    if organiser:
        email = notice.session.event.organiser_email
    elif invitation_id:
        email = Invitation.objects.filter(pk=invitation_id).values_list("email", flat=True).first() or ""
    if email:
        # The ledger keeps the answer as long as the session's conference data, no longer.
        keep_until = notice.session.created_at + timedelta(
            days=settings.TESSERA_PRIVACY["recording_notice_days"]
        )
        _consent_ledger_record(
            email=email, accepted=accepted, event=notice.session.event, keep_until=keep_until, now=now
        )


def _consent_ledger_record(*, email: str, accepted: bool, event: Event, keep_until, now) -> None:
    try:
        from tessera.privacy import services as privacy_services
        from tessera.privacy.models import ConsentRecord
    except ImportError:  # the privacy core has no ledger in this installation
        return
    privacy_services.consent_record(
        email=email,
        purpose=ConsentRecord.Purpose.RECORDING_NOTICE,
        text=NOTICE_TEXT,
        text_version=NOTICE_TEXT_VERSION,
        method=ConsentRecord.Method.DIALOG,
        context=f"meeting {event.public_id}",
        answer=accepted,
        keep_until=keep_until,
        now=now,
    )


def quality_sample_record(*, session_id: int, participant_id: int, figures: dict, now=None) -> None:
    QualitySample.objects.create(
        session_id=session_id, participant_id=participant_id, created_at=now or timezone.now(), **figures
    )


def quality_samples_record(*, samples: list[dict]) -> int:
    """Store several samples (`session_id`, `participant_id`, `created_at` and the figures) in one write.

    A sample whose session or participant was deleted meanwhile (an erasure during the call) is skipped,
    not allowed to sink the others; a deletion racing the write falls back to row-by-row inserts.
    """
    present = set(
        SessionParticipant.objects.filter(pk__in={s["participant_id"] for s in samples}).values_list(
            "pk", "session_id"
        )
    )
    rows = [QualitySample(**s) for s in samples if (s["participant_id"], s["session_id"]) in present]
    try:
        with transaction.atomic():
            QualitySample.objects.bulk_create(rows)
        return len(rows)
    except IntegrityError:
        stored = 0
        for row in rows:
            row.pk = None  # the rolled-back bulk insert may have numbered it
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                stored += 1
            except IntegrityError:
                continue
        return stored


def conference_data_expired_delete(*, now=None) -> int:
    """Notices, answers and quality samples: 7 days after their session was created (as the session)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=meetings_setting("session_retention_days"))
    return conference_data_delete(sessions=MeetingSession.objects.filter(created_at__lt=cutoff))


def conference_data_of_participants_delete(*, participants) -> int:
    """A person's recording answers and call quality, from their connections (`participants`).

    A recording notice they started stays for the other participants' answers.
    """
    count = batched_delete(RecordingAnswer.objects.filter(participant__in=participants).order_by())
    return count + batched_delete(QualitySample.objects.filter(participant__in=participants).order_by())


def conference_data_delete(*, sessions, batch_size: int = BATCH_SIZE) -> int:
    """Quality samples, recording answers and notices of `sessions` (a queryset), in bounded batches.

    Children go before their parents, so that no batch cascades into an unbounded number of rows.
    """
    count = 0
    for queryset in (
        QualitySample.objects.filter(session__in=sessions),
        RecordingAnswer.objects.filter(notice__session__in=sessions),
        RecordingNotice.objects.filter(session__in=sessions),
    ):
        count += batched_delete(queryset.order_by(), batch_size=batch_size)
    return count


@transaction.atomic
def sfu_placement_record(*, room_id: str, janus_url: str, janus_room: str) -> None:
    """The room now lives on this Janus (a room re-created elsewhere replaces its row)."""
    SfuPlacement.objects.update_or_create(
        room_id=room_id, defaults={"janus_url": janus_url, "janus_room": janus_room, "participants": 0}
    )


@transaction.atomic
def sfu_placement_count(*, room_id: str, participants: int) -> None:
    SfuPlacement.objects.filter(room_id=room_id).update(participants=participants)


@transaction.atomic
def sfu_placement_release(*, room_id: str) -> None:
    SfuPlacement.objects.filter(room_id=room_id).delete()
