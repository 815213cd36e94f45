"""Retention (with a frozen clock, the day before and the day after each limit), export and erasure."""

from datetime import timedelta

import pytest
import time_machine

from tessera.meetings import services
from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
from tessera.meetings.room import services as room_services
from tessera.meetings.room.models import QualitySample, RecordingAnswer, RecordingNotice
from tessera.privacy import policy
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep

pytestmark = pytest.mark.django_db


def test_every_personal_field_of_meetings_is_declared():
    assert [f for f in registry.undeclared_fields() if f.startswith("meetings.")] == []
    assert [f for f in registry.undeclared_fields() if f.startswith("meetings_room.")] == []
    names = {name for name, _ in registry.retention_rules()}
    assert {"meetings.events", "meetings.instant", "meetings.sessions", "meetings.conference_data"} <= names


def test_the_policy_lists_every_meetings_rule_under_meetings():
    from django.utils import translation

    with translation.override("en"):
        services_of = {row["id"]: row["service"] for row in policy.register_rows()}
        listed = {row["id"] for row in policy.policy_context()["services"]["Meetings"]}
    meetings = {name for name in services_of if name.startswith("meetings")}
    assert meetings == {
        "meetings.events",
        "meetings.instant",
        "meetings.sessions",
        "meetings.conference_data",
    }
    assert {services_of[name] for name in meetings} == {"Meetings"} and listed == meetings


def test_events_and_invitations_are_deleted_30_days_after_the_end(scheduled):
    end = scheduled.event.ends_at
    with time_machine.travel(end + timedelta(days=29), tick=False):
        retention_sweep()
    assert Event.objects.count() == 1 and Invitation.objects.count() == 3
    with time_machine.travel(end + timedelta(days=30, seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0


def test_unconfirmed_events_go_at_the_same_limit(created):
    with time_machine.travel(created.event.ends_at + timedelta(days=31), tick=False):
        retention_sweep()
    assert Event.objects.count() == 0


def test_live_session_data_is_deleted_7_days_after_the_session_was_created(scheduled):
    event = scheduled.event
    with time_machine.travel(event.starts_at, tick=False):
        session = room_services.meeting_session_open(event=event)
        room_services.session_participant_join(session=session, invitation=event.invitations.first())
    with time_machine.travel(event.starts_at + timedelta(days=6), tick=False):
        retention_sweep()
    assert MeetingSession.objects.count() == 1 and SessionParticipant.objects.count() == 1
    with time_machine.travel(event.starts_at + timedelta(days=7, seconds=1), tick=False):
        retention_sweep()
    assert MeetingSession.objects.count() == 0 and SessionParticipant.objects.count() == 0
    assert Event.objects.count() == 1  # the event itself stays until its own limit


def test_export_and_erase_for_an_organiser_and_for_an_invitee(scheduled):
    from tessera.meetings import privacy

    organiser = privacy.export_subject(Subject(email="organiser@example.org"))
    (events,) = [s for s in organiser if s.category == "events organised"]
    assert events.rows[0]["title"] == scheduled.event.title
    assert sorted(events.rows[0]["invitees"]) == ["ana@example.com", "ben@example.com", "chloe@example.net"]
    invitee = privacy.export_subject(Subject(email="ana@example.com"))
    (received,) = [s for s in invitee if s.category == "invitations received"]
    assert received.rows[0]["organiser"] == "organiser@example.org"

    privacy.erase_subject(Subject(email="ana@example.com"))
    assert not Invitation.objects.filter(email="ana@example.com").exists()
    assert Event.objects.count() == 1
    privacy.erase_subject(Subject(email="organiser@example.org"))
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0


def _live_meeting(event, *, at):
    """A session as the room writes it: two connections, a recording notice with answers, quality figures."""
    with time_machine.travel(at, tick=False):
        session_id = room_services.live_session_open(event_id=event.pk)
        ana, ben = (event.invitations.get(email=e) for e in ("ana@example.com", "ben@example.com"))
        first = room_services.participant_join(session_id=session_id, invitation_id=ana.pk)
        second = room_services.participant_join(session_id=session_id, invitation_id=ben.pk)
        notice = room_services.recording_notice_create(session_id=session_id, participant_id=first)
        for participant, invitation, accepted in ((first, ana, True), (second, ben, False)):
            room_services.recording_answer_record(
                notice_id=notice,
                participant_id=participant,
                invitation_id=invitation.pk,
                organiser=False,
                accepted=accepted,
                joined_during=False,
            )
            room_services.quality_sample_record(
                session_id=session_id,
                participant_id=participant,
                figures={"bitrate_in_kbps": 800.0, "bitrate_out_kbps": 600.0, "rtt_ms": 40.0, "width": 640},
            )
        room_services.live_session_close(session_id=session_id)
    return session_id


def _live_rows() -> dict:
    return {
        "sessions": MeetingSession.objects.count(),
        "participants": SessionParticipant.objects.count(),
        "notices": RecordingNotice.objects.count(),
        "answers": RecordingAnswer.objects.count(),
        "quality": QualitySample.objects.count(),
    }


def test_recording_notices_answers_and_quality_go_7_days_after_the_session_was_created(scheduled):
    event = scheduled.event
    _live_meeting(event, at=event.starts_at)
    assert _live_rows() == {"sessions": 1, "participants": 2, "notices": 1, "answers": 2, "quality": 2}
    with time_machine.travel(event.starts_at + timedelta(days=6, hours=23), tick=False):
        retention_sweep()
    assert _live_rows() == {"sessions": 1, "participants": 2, "notices": 1, "answers": 2, "quality": 2}
    with time_machine.travel(event.starts_at + timedelta(days=7, seconds=1), tick=False):
        counts = retention_sweep()
    assert _live_rows() == dict.fromkeys(_live_rows(), 0)
    assert counts["meetings.conference_data"] + counts["meetings.sessions"] == 1 + 2 + 1 + 2 + 2
    assert Event.objects.count() == 1 and Invitation.objects.count() == 3
    with time_machine.travel(event.starts_at + timedelta(days=8), tick=False):
        assert retention_sweep()["meetings.sessions"] == 0  # idempotent


def _ledger_answers():
    from tessera.privacy.models import ConsentRecord

    return sorted(
        ConsentRecord.objects.filter(purpose=ConsentRecord.Purpose.RECORDING_NOTICE).values_list(
            "email", "answer"
        )
    )


def test_recording_answers_leave_the_consent_ledger_7_days_after_their_session(scheduled):
    event = scheduled.event
    _live_meeting(event, at=event.starts_at)
    assert _ledger_answers() == [("ana@example.com", True), ("ben@example.com", False)]
    with time_machine.travel(event.starts_at + timedelta(days=6), tick=False):
        retention_sweep()
    assert len(_ledger_answers()) == 2
    with time_machine.travel(event.starts_at + timedelta(days=8), tick=False):
        counts = retention_sweep()
    assert _ledger_answers() == []
    assert counts["privacy.consent_ledger"] == 2


def test_the_event_rule_removes_everything_hanging_off_the_event(scheduled, settings):
    # Sessions kept longer than their event (a deployment's setting) still go with the event.
    settings.TESSERA_MEETINGS = {"session_retention_days": 400}
    event = scheduled.event
    _live_meeting(event, at=event.starts_at)
    with time_machine.travel(event.ends_at + timedelta(days=29, hours=23), tick=False):
        retention_sweep()
    assert Event.objects.count() == 1 and _live_rows()["quality"] == 2
    with time_machine.travel(event.ends_at + timedelta(days=30, seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0
    assert _live_rows() == dict.fromkeys(_live_rows(), 0)


def test_retention_deletes_in_bounded_batches(scheduled):
    """Every DELETE names at most `batch_size` rows by id, children before parents: no unbounded cascade."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    event = scheduled.event
    for hour in range(3):
        _live_meeting(event, at=event.starts_at + timedelta(hours=hour))
    with CaptureQueriesContext(connection) as queries:
        deleted = services.sessions_expired_delete(now=event.starts_at + timedelta(days=8), batch_size=2)
    assert deleted == 3 * (1 + 2 + 1 + 2 + 2) and _live_rows() == dict.fromkeys(_live_rows(), 0)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert deletes and all(" IN (" in sql for sql in deletes)
    assert max(len(sql.split(" IN (", 1)[1].split(")", 1)[0].split(",")) for sql in deletes) <= 2
    tables = [sql.split('"')[1] for sql in deletes]
    assert tables.index("meetings_room_qualitysample") < tables.index("meetings_sessionparticipant")
    assert tables.index("meetings_sessionparticipant") < tables.index("meetings_meetingsession")


def test_export_and_erase_cover_recording_answers_and_call_quality_of_an_invitee(scheduled):
    from tessera.meetings import privacy

    event = scheduled.event
    _live_meeting(event, at=event.starts_at)
    sections = {s.category: s for s in privacy.export_subject(Subject(email="ben@example.com"))}
    (answer,) = sections["your answers to recording notices"].rows
    assert answer["accepted"] is False and answer["event"] == event.title
    (sample,) = sections["your call quality"].rows
    assert sample["bitrate_in_kbps"] == 800.0 and sample["width"] == 640
    assert sections["recordings you asked for"].rows == []
    assert len(sections["your connections"].rows) == 1
    ana = {s.category: s for s in privacy.export_subject(Subject(email="ana@example.com"))}
    assert len(ana["recordings you asked for"].rows) == 1

    outcomes = {o.activity: o.erased for o in privacy.erase_subject(Subject(email="ana@example.com"))}
    assert outcomes == {"meetings.events": 1, "meetings.sessions": 1, "meetings.conference_data": 2}
    assert not SessionParticipant.objects.filter(invitation__email="ana@example.com").exists()
    assert SessionParticipant.objects.count() == 1  # ben's connection stays
    assert RecordingAnswer.objects.count() == 1 and QualitySample.objects.count() == 1
    (notice,) = RecordingNotice.objects.all()
    assert notice.requested_by is None  # kept for ben's answer, no longer linked to ana
    after = {s.category: s for s in privacy.export_subject(Subject(email="ana@example.com"))}
    assert all(not section.rows for section in after.values())
    # Twice is harmless.
    assert {o.erased for o in privacy.erase_subject(Subject(email="ana@example.com"))} == {0}


def test_erasing_the_organiser_removes_the_event_and_everything_hanging_off_it(scheduled):
    from tessera.meetings import privacy

    _live_meeting(scheduled.event, at=scheduled.event.starts_at)
    outcomes = {o.activity: o.erased for o in privacy.erase_subject(Subject(email="organiser@example.org"))}
    assert outcomes == {"meetings.events": 1 + 3, "meetings.sessions": 1 + 2, "meetings.conference_data": 5}
    assert Event.objects.count() == Invitation.objects.count() == 0
    assert _live_rows() == dict.fromkeys(_live_rows(), 0)
