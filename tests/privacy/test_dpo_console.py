import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from tessera.core.audit import security_event_record
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy import services
from tessera.privacy.dpo import deadline_reminders_send
from tessera.privacy.models import Incident, RightsRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def test_the_queue_lists_requests_with_their_one_month_deadline(staff_client):
    record = services.rights_request_create(email="p@example.org", kind="erasure", channel="email")
    assert record.due_at == services.months_later(record.received_at, 1)
    days_left = (record.due_at - timezone.now()).days
    page = staff_client.get("/en/admin/privacy/rightsrequest/")
    assert page.status_code == 200
    html = page.content.decode()
    assert record.reference in html and f"{days_left} d" in html


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
    assert abs((record.due_at - services.months_later(received, 1)).total_seconds()) < 2
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
    assert abs((record.due_at - services.months_later(due, 2)).total_seconds()) < 1  # the form keeps seconds
    assert record.extension_reason == "120 requests this week"
    assert OutboxMessage.objects.filter(recipient="p@example.org", kind="privacy_request_extended").exists()
    again = _change(staff_client, record, extend_with_reason="more")
    assert again.status_code == 200 and b"already extended" in again.content
    with pytest.raises(ValueError):
        services.rights_request_extend(record=RightsRequest(email="x@example.org"), reason="  ")


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ((2025, 1, 31), (2025, 2, 28)),
        ((2024, 1, 31), (2024, 2, 29)),  # leap year
        ((2025, 3, 31), (2025, 4, 30)),
        ((2025, 2, 28), (2025, 3, 28)),
        ((2025, 12, 15), (2026, 1, 15)),  # across a year
        ((2025, 3, 1), (2025, 4, 1)),  # across the change to summer time: same local hour
    ],
)
def test_the_deadline_is_one_calendar_month_not_30_days(received, due):
    received_at = datetime(*received, 0, 30, tzinfo=PARIS)
    record = services.rights_request_create(
        email="p@example.org", kind="access", channel="email", received_at=received_at
    )
    assert timezone.localtime(record.due_at, PARIS) == datetime(*due, 0, 30, tzinfo=PARIS)


def test_an_extension_adds_two_calendar_months_to_the_first_deadline_and_writes_to_the_requester():
    UserFactory(email="requester@example.org", language="en")
    received_at = datetime(2025, 1, 31, 10, 0, tzinfo=PARIS)
    with time_machine.travel(received_at, tick=False):
        record = services.rights_request_create(email="requester@example.org", kind="access", channel="email")
    with time_machine.travel(datetime(2025, 2, 20, 10, 0, tzinfo=PARIS), tick=False):
        services.rights_request_extend(record=record, reason="Your request covers 12 years of meetings.")
    record.refresh_from_db()
    assert timezone.localtime(record.due_at, PARIS) == datetime(2025, 4, 28, 10, 0, tzinfo=PARIS)
    letter = OutboxMessage.objects.get(kind="privacy_request_extended")
    assert letter.recipient == "requester@example.org"
    assert "Your request covers 12 years of meetings." in letter.body_text
    assert "Feb. 28, 2025" in letter.body_text and "April 28, 2025" in letter.body_text
    assert "two further months" in letter.body_text  # the requester's account is in English


def test_the_extension_letter_is_in_french_for_a_requester_without_an_account():
    with time_machine.travel(datetime(2025, 1, 31, 10, 0, tzinfo=PARIS), tick=False):
        record = services.rights_request_create(email="lettre@example.org", kind="access", channel="post")
        services.rights_request_extend(record=record, reason="Nombreuses demandes")
    letter = OutboxMessage.objects.get(kind="privacy_request_extended")
    assert "28 février 2025" in letter.body_text and "28 avril 2025" in letter.body_text


def test_no_extension_once_the_first_month_is_over(staff_client):
    with time_machine.travel(datetime(2025, 1, 31, 10, 0, tzinfo=PARIS), tick=False):
        record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    with time_machine.travel(datetime(2025, 2, 28, 10, 1, tzinfo=PARIS), tick=False):
        with pytest.raises(ValueError):
            services.rights_request_extend(record=record, reason="Too late")
        response = _change(staff_client, record, extend_with_reason="Too late")
    assert response.status_code == 200 and b"first month is over" in response.content
    record.refresh_from_db()
    assert record.extended_at is None
    assert not OutboxMessage.objects.filter(kind="privacy_request_extended").exists()


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


# --- Carrying out requests received by post or email -----------------------------------------------


def _by_post(kind, email, **extra):
    return services.rights_request_create(
        email=email,
        kind=kind,
        channel="post",
        requester_name="Ada L",
        postal_address="3 Analytical Way",
        identity_verified=extra.pop("identity_verified", True),
        **extra,
    )


def _act(staff_client, action, *records):
    return staff_client.post(
        "/en/admin/privacy/rightsrequest/",
        {"action": action, "_selected_action": [r.pk for r in records]},
        follow=action != "carry_out_export",
    )


def test_staff_carry_out_an_access_request_received_by_post(staff_client, staff, user):
    security_event_record(action="auth.login", actor=user, ip="198.51.100.7")
    record = _by_post("access", user.email)
    response = _act(staff_client, "carry_out_export", record)
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert next(s for s in data["sections"] if s["category"] == "account")["rows"][0]["email"] == user.email
    record.refresh_from_db()
    assert record.status == "answered" and record.outcome["done"] == "access"
    assert record.outcome["sections"]["account"] == 1
    event = SecurityEvent.objects.get(action="privacy.access_export_done")
    assert event.actor_id == staff.pk and event.data["reference"] == record.reference
    letter = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/").content.decode()
    assert "We sent you a copy of all the data" in letter and "security_log" in letter


def test_staff_carry_out_an_erasure_received_by_email_and_the_letter_lists_what_was_kept(
    staff_client, staff, user
):
    security_event_record(action="auth.login", actor=user, ip="198.51.100.7")
    record = _by_post("erasure", user.email)
    assert _act(staff_client, "carry_out_erasure", record).status_code == 200
    assert not get_user_model().objects.filter(email=user.email).exists()
    record.refresh_from_db()
    assert record.status == "answered" and record.outcome["done"] == "erasure"
    assert record.outcome["existed"]["account"] == 1
    event = SecurityEvent.objects.get(action="privacy.erasure_done")
    assert event.actor_id == staff.pk and event.data["erased"] >= 1
    letter = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/").content.decode()
    assert "We erased your data, except what the law requires us to keep" in letter
    assert "core.security_log" in letter and "12 months" in letter
    assert OutboxMessage.objects.filter(recipient=user.email, kind="privacy_erasure_done").exists()


def test_editing_a_request_is_not_enough_to_carry_out_an_erasure(client, user):
    """Carrying out a right acts on a person's data: it takes its own permission, not "change"."""
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Permission

    record = _by_post("erasure", user.email)
    clerk = UserFactory(email="clerk@example.org", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_rightsrequest", "change_rightsrequest"])
    )
    Authenticator.objects.create(user=clerk, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(clerk)
    listing = client.get("/en/admin/privacy/rightsrequest/").content.decode()
    assert 'value="carry_out_erasure"' not in listing
    _act(client, "carry_out_erasure", record)
    assert get_user_model().objects.filter(pk=user.pk).exists()
    record.refresh_from_db()
    assert record.is_open
    clerk.user_permissions.add(Permission.objects.get(codename="carry_out_rightsrequest"))
    _act(client, "carry_out_erasure", record)
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_staff_carry_out_a_restriction_received_by_post(staff_client, staff, user):
    record = _by_post("restriction", user.email)
    _act(staff_client, "carry_out_restriction", record)
    assert services.limit_active(email=user.email, kinds=["restriction"])
    record.refresh_from_db()
    assert record.status == "answered" and record.outcome["done"] == "restriction"
    event = SecurityEvent.objects.get(action="privacy.restriction_added")
    assert event.actor_id == staff.pk
    letter = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/").content.decode()
    assert "is restricted since" in letter and "your public card is hidden" in letter


def test_a_request_is_carried_out_only_for_its_right_once_and_after_identity_is_verified(staff_client, user):
    unverified = _by_post("erasure", user.email, identity_verified=False)
    page = _act(staff_client, "carry_out_erasure", unverified).content.decode()
    assert "identity is not verified" in page
    assert get_user_model().objects.filter(email=user.email).exists()
    access = _by_post("access", user.email)
    assert "another right" in _act(staff_client, "carry_out_erasure", access).content.decode()
    assert get_user_model().objects.filter(email=user.email).exists()
    restriction = _by_post("restriction", user.email)
    _act(staff_client, "carry_out_restriction", restriction)
    again = _act(staff_client, "carry_out_restriction", restriction).content.decode()
    assert "already answered" in again
    assert not SecurityEvent.objects.filter(action="privacy.erasure_done").exists()


def test_an_objection_to_legitimate_interest_is_upheld_from_the_console(staff_client, staff, user):
    security_event_record(action="auth.login_failed", email=user.email, ip="198.51.100.7", user_agent="UA")
    record = _by_post("objection", user.email, details="I object to the security log keeping my IP")
    _act(staff_client, "uphold_objection", record)
    entry = SecurityEvent.objects.get(action="auth.login_failed")
    assert entry.email == "" and entry.ip is None and entry.shredded_at
    assert services.limit_active(email=user.email, kinds=["objection_interest"])
    record.refresh_from_db()
    erased = SecurityEvent.objects.filter(shredded_at__isnull=False).count()
    assert erased == 3  # the failed sign-in, the request and the objection itself named the address
    assert record.status == "answered" and record.outcome["security_log_entries_erased"] == erased
    assert not SecurityEvent.objects.filter(email=user.email).exists()
    shredded = SecurityEvent.objects.get(action="privacy.security_log_shredded")
    assert shredded.actor_id == staff.pk
    letter = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/").content.decode()
    assert "We uphold your objection" in letter and "3 entries" in letter


def test_rights_requests_and_incidents_cannot_be_deleted_from_the_console(staff_client):
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    incident = _incident()
    assert staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/delete/").status_code == 403
    assert (
        staff_client.post(f"/en/admin/privacy/incident/{incident.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    listing = staff_client.get("/en/admin/privacy/rightsrequest/").content.decode()
    assert 'value="delete_selected"' not in listing
    staff_client.post(
        "/en/admin/privacy/incident/",
        {"action": "delete_selected", "_selected_action": [incident.pk], "post": "yes"},
    )
    assert (
        RightsRequest.objects.filter(pk=record.pk).exists()
        and Incident.objects.filter(pk=incident.pk).exists()
    )


def test_opening_a_request_is_recorded_in_the_security_log(staff_client, staff):
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    assert staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/change/").status_code == 200
    event = SecurityEvent.objects.get(action="privacy.request_viewed")
    assert event.actor_id == staff.pk and event.data == {"reference": record.reference}


def test_an_extension_is_recorded_in_the_security_log(staff_client, staff):
    record = services.rights_request_create(email="p@example.org", kind="access", channel="email")
    _change(staff_client, record, extend_with_reason="A very long request")
    event = SecurityEvent.objects.get(action="privacy.request_extended")
    assert event.actor_id == staff.pk and event.data == {"reference": record.reference}


def test_saving_an_incident_is_recorded_in_the_security_log(staff_client, staff):
    now = timezone.localtime(timezone.now())
    response = staff_client.post(
        "/en/admin/privacy/incident/add/",
        {
            "title": "Lost laptop",
            "nature": "A laptop holding exports was stolen.",
            "detected_at_0": now.strftime("%Y-%m-%d"),
            "detected_at_1": now.strftime("%H:%M:%S"),
            "people_categories": "Account holders",
            "people_count": "3",
            "record_categories": "Exports",
            "record_count": "3",
            "consequences": "Disclosure",
            "measures": "Disk encrypted; passwords reset",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(title="Lost laptop")
    created = SecurityEvent.objects.get(action="privacy.incident_saved")
    assert created.actor_id == staff.pk and created.data == {"incident": incident.pk, "created": True}


def test_the_answer_letter_names_the_right_to_complain(staff_client, settings):
    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "supervisory_authority": "CNIL"}
    record = services.rights_request_create(email="p@example.org", kind="access", channel="post")
    html = staff_client.get(f"/en/admin/privacy/rightsrequest/{record.pk}/letter/").content.decode()
    assert "you may lodge a complaint with the supervisory authority (CNIL)" in html
