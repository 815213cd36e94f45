from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy import services
from tessera.privacy.dpo import deadline_reminders_send
from tessera.privacy.models import Incident, RightsRequest

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def test_the_queue_lists_requests_with_their_one_month_deadline(staff_client):
    record = services.rights_request_create(email="p@example.org", kind="erasure", channel="email")
    assert record.due_at - record.received_at == timedelta(days=30)
    page = staff_client.get("/en/admin/privacy/rightsrequest/")
    assert page.status_code == 200
    html = page.content.decode()
    assert record.reference in html and "29 d" in html


def test_staff_enter_a_request_received_by_post(staff_client, staff):
    received = timezone.localtime(timezone.now() - timedelta(days=3))
    response = staff_client.post(
        "/en/admin/privacy/rightsrequest/add/",
        {
            "kind": "access",
            "channel": "post",
            "email": "letter@example.org",
            "requester_name": "Jean Dupont",
            "postal_address": "1 rue de la Paix\n75002 Paris",
            "details": "Copy of my data please",
            "identity_verified": "on",
            "received_at_0": received.strftime("%Y-%m-%d"),
            "received_at_1": received.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record = RightsRequest.objects.get(email="letter@example.org")
    assert record.channel == "post" and record.reference.startswith("DSR-")
    assert abs((record.due_at - received).total_seconds() - 30 * 86400) < 2
    event = SecurityEvent.objects.filter(action="privacy.request_received").order_by("-seq").first()
    assert event.actor_id == staff.pk


def _change(staff_client, record, **extra):
    data = {
        "kind": record.kind,
        "channel": record.channel,
        "email": record.email,
        "requester_name": "",
        "postal_address": "",
        "details": "",
        "received_at_0": timezone.localtime(record.received_at).strftime("%Y-%m-%d"),
        "received_at_1": timezone.localtime(record.received_at).strftime("%H:%M:%S"),
        "status": record.status,
        "answer": "",
        "extend_with_reason": "",
    }
    data.update(extra)
    return staff_client.post(f"/en/admin/privacy/rightsrequest/{record.pk}/change/", data)


def test_an_extension_by_two_months_needs_a_written_reason_and_happens_once(staff_client):
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    due = record.due_at
    assert _change(staff_client, record, status="in_progress").status_code == 302
    record.refresh_from_db()
    assert record.due_at == due  # no reason, no extension
    assert _change(staff_client, record, extend_with_reason="120 requests this week").status_code == 302
    record.refresh_from_db()
    assert record.due_at == due + timedelta(days=60) and record.extension_reason == "120 requests this week"
    assert OutboxMessage.objects.filter(recipient="p@example.org", kind="privacy_request_extended").exists()
    again = _change(staff_client, record, extend_with_reason="more")
    assert again.status_code == 200 and b"already extended" in again.content
    with pytest.raises(ValueError):
        services.rights_request_extend(record=RightsRequest(email="x@example.org"), reason="  ")


def test_closing_a_request_records_when(staff_client):
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    _change(staff_client, record, status="answered", answer="Sent by post")
    record.refresh_from_db()
    assert record.closed_at and record.answer == "Sent by post"
    assert SecurityEvent.objects.filter(action="privacy.request_updated").exists()


def test_reminders_go_to_the_dpo_7_and_2_days_before_the_deadline_once_each(settings):
    with time_machine.travel(T0, tick=False):
        record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    reminders = OutboxMessage.objects.filter(kind="privacy_dpo_reminder")
    with time_machine.travel(T0 + timedelta(days=22, hours=23), tick=False):
        assert deadline_reminders_send() == 0
    with time_machine.travel(T0 + timedelta(days=23, hours=1), tick=False):
        assert deadline_reminders_send() == 1
        assert deadline_reminders_send() == 0
    assert reminders.get().recipient == settings.TESSERA_OPERATOR["dpo_email"]
    assert record.reference in reminders.get().subject
    with time_machine.travel(T0 + timedelta(days=27, hours=23), tick=False):
        assert deadline_reminders_send() == 0
    with time_machine.travel(T0 + timedelta(days=28, hours=1), tick=False):
        assert deadline_reminders_send() == 1
    assert reminders.count() == 2


def test_no_reminder_for_a_closed_request():
    with time_machine.travel(T0, tick=False):
        record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
        services.rights_request_close(record=record, answer="done")
    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        assert deadline_reminders_send() == 0


def test_the_answer_letter_is_printable_and_logged(staff_client, user):
    record = services.rights_erase(email=user.email, channel="post")
    RightsRequest.objects.filter(pk=record.pk).update(
        requester_name="Ada L", postal_address="3 Analytical Way"
    )
    page = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/")
    assert page.status_code == 200
    html = page.content.decode()
    assert record.reference in html and "3 Analytical Way" in html and "core.security_log" in html
    assert SecurityEvent.objects.filter(action="privacy.letter_generated").exists()


def test_the_console_is_for_staff_only(client, user):
    client.force_login(user)
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    response = client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/")
    assert response.status_code == 302


# --- Incident register ----------------------------------------------------------------------------


def _incident(**extra):
    values = dict(
        title="Mis-sent export",
        nature="An export was emailed to the wrong address.",
        people_categories="Account holders",
        people_count=1,
        record_categories="Contact details",
        record_count=12,
        consequences="Disclosure of an email address and a name.",
        measures="The recipient deleted it; the bug is fixed.",
        high_risk=True,
        affected_emails="victim@example.org\nnot-an-address\nVICTIM@example.org\nother@example.org",
    )
    values.update(extra)
    return Incident.objects.create(**values)


def test_the_console_shows_the_72_hour_deadline(staff_client):
    incident = _incident(detected_at=timezone.now() - timedelta(hours=10))
    html = staff_client.get(f"/en/admin/privacy/incident/{incident.pk}/change/").content.decode()
    assert "61 hours left" in html or "62 hours left" in html
    late = _incident(detected_at=timezone.now() - timedelta(hours=80))
    assert "overdue" in staff_client.get(f"/en/admin/privacy/incident/{late.pk}/change/").content.decode()


def test_the_draft_notification_for_the_authority_holds_the_art_33_items(staff_client):
    incident = _incident()
    page = staff_client.get(f"/en/admin/privacy/incident/{incident.pk}/draft/")
    html = page.content.decode()
    assert page.status_code == 200
    for text in [
        "An export was emailed",
        "Account holders",
        "12",
        "Disclosure of an email",
        "the bug is fixed",
    ]:
        assert text in html
    assert SecurityEvent.objects.filter(action="privacy.incident_draft").exists()


def test_notifying_affected_people_queues_one_email_each_and_erases_the_list(staff_client):
    incident = _incident()
    response = staff_client.post(
        "/en/admin/privacy/incident/", {"action": "notify_people", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    sent = OutboxMessage.objects.filter(kind="privacy_incident")
    assert sorted(sent.values_list("recipient", flat=True)) == ["other@example.org", "victim@example.org"]
    assert "wrong address" in sent.first().body_text
    incident.refresh_from_db()
    assert (
        incident.people_notified_at and incident.people_notified_count == 2 and incident.affected_emails == ""
    )
    assert SecurityEvent.objects.filter(action="privacy.incident_people_notified").exists()


def test_incident_notification_is_not_held_by_a_restriction():
    services.limit_add(email="victim@example.org", kind="restriction")
    from tessera.privacy.dpo import incident_notify_people

    incident_notify_people(incident=_incident())
    assert OutboxMessage.objects.get(recipient="victim@example.org").status == "pending"
