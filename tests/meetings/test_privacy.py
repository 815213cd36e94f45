"""Retention (with a frozen clock, the day before and the day after each limit), export and erasure."""

from datetime import timedelta

import pytest
import time_machine

from tessera.meetings import services
from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep

pytestmark = pytest.mark.django_db


def test_every_personal_field_of_meetings_is_declared():
    assert [f for f in registry.undeclared_fields() if f.startswith("meetings.")] == []
    names = {name for name, _ in registry.retention_rules()}
    assert {"meetings.events", "meetings.sessions"} <= names


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
        session = services.meeting_session_open(event=event)
        services.session_participant_join(session=session, invitation=event.invitations.first())
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
