"""Complaints in the register: deadline in working days, daily reminders, 5-year retention, export, erasure."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tessera.core.models import OutboxMessage
from tessera.privacy.exports import export_build
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep
from tessera.privacy.services import rights_erase
from tessera.support import complaint_services as services
from tessera.support.complaints import Complaint, ComplaintAttachment, ComplaintEvent
from tessera.support.tasks import support_complaint_reminders
from tests.factories import UserFactory

from .test_complaints import PDF, upload

pytestmark = pytest.mark.django_db

MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(when):
    return time_machine.travel(when, tick=False)


def filed(user=None, **data) -> Complaint:
    user = user or UserFactory(email="camille@example.net")
    client = Client()
    client.force_login(user)
    payload = {
        "category": "card",
        "description": "Wrong number.",
        "attachments": [upload("a.pdf", PDF)],
        **data,
    }
    assert client.post("/accounts/complaints/new/", payload).status_code == 302
    return Complaint.objects.get(author=user)


def test_the_register_declares_complaints_for_5_years_after_closure(english):
    activity = registry.activities["support.complaints"]
    assert activity.retention.period == timedelta(days=5 * 365) and activity.retention.apply
    assert "description" in activity.fields["support.Complaint"]
    assert "legal hold" in str(activity.retention.description)


def test_the_deadline_is_10_working_days_and_skips_weekends(settings):
    with at(MONDAY):
        complaint = filed()
    assert complaint.due_at.date() == datetime(2025, 3, 17).date()  # two weeks on, weekends skipped
    settings.TESSERA_COMPLAINT_DEADLINE_DAYS = 1
    friday = MONDAY + timedelta(days=4)
    assert services.working_days_after(friday, 1).date() == datetime(2025, 3, 10).date()


def test_staff_are_reminded_once_a_day_of_complaints_due_soon_or_overdue(settings):
    settings.TESSERA_SUPPORT_EMAIL = "support@operator.example"
    with at(MONDAY):
        complaint = filed()
        assert support_complaint_reminders.call_local() == 0  # due in 10 working days
    wednesday_before = datetime(2025, 3, 12, 8, 15, tzinfo=UTC)  # due Monday 17th: 3 working days
    with at(wednesday_before):
        assert support_complaint_reminders.call_local() == 0
    thursday = wednesday_before + timedelta(days=1)
    with at(thursday):
        assert support_complaint_reminders.call_local() == 1
        assert support_complaint_reminders.call_local() == 0  # a restart the same day sends nothing again
    mail = OutboxMessage.objects.get(kind="complaint_reminder")
    assert mail.recipient == "support@operator.example" and f"C{complaint.pk}" in mail.subject
    assigned = UserFactory(is_staff=True, email="sam@operator.example")
    Complaint.objects.filter(pk=complaint.pk).update(assignee=assigned)
    with at(datetime(2025, 3, 20, 8, 15, tzinfo=UTC)):  # overdue: reminded again, the assignee this time
        assert support_complaint_reminders.call_local() == 1
    overdue = OutboxMessage.objects.filter(kind="complaint_reminder").order_by("-created_at").first()
    # Staff without a language of their own get the site's default, French.
    assert overdue.recipient == "sam@operator.example" and "en retard" in overdue.subject
    services.complaint_answer(complaint=complaint, actor=assigned, body="Done.")
    with at(datetime(2025, 3, 21, 8, 15, tzinfo=UTC)):  # answered: no more reminders
        assert support_complaint_reminders.call_local() == 0


def test_a_closed_complaint_is_deleted_5_years_after_closure_with_its_files():
    staff = UserFactory(is_staff=True)
    with at(MONDAY):
        complaint = filed()
        still_open = filed(UserFactory(email="other@example.net"))
    closed_at = MONDAY + timedelta(days=20)
    with at(closed_at):
        services.complaint_update(complaint=complaint, actor=staff, status="closed", assignee=None)
    with at(closed_at + timedelta(days=5 * 365)):
        assert retention_sweep()["support.complaints"] == 0
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    with at(closed_at + timedelta(days=5 * 365 + 1)):
        assert retention_sweep()["support.complaints"] == 1
    assert not Complaint.objects.filter(pk=complaint.pk).exists()
    assert not ComplaintAttachment.objects.filter(complaint_id=complaint.pk).exists()
    assert not ComplaintEvent.objects.filter(complaint_id=complaint.pk).exists()
    assert Complaint.objects.filter(pk=still_open.pk).exists()


def test_the_persons_complaints_are_in_their_export_and_kept_as_a_legal_hold_on_erasure():
    user = UserFactory(email="camille@example.net")
    complaint = filed(user)
    filed(UserFactory(email="other@example.net"), description="Not Camille's.")
    export = export_build(Subject(email="Camille@Example.net", user_ids=[user.pk]))
    section = next(s for s in export.data["sections"] if s["activity"] == "support.complaints")
    rows = section["rows"]
    assert [r["reference"] for r in rows] == [complaint.public_id] and rows[0][
        "description"
    ] == "Wrong number."
    assert [content for content, _type in export.files.values() if content == PDF] == [PDF]
    record = rights_erase(email="camille@example.net", channel="email")
    outcome = next(o for o in record.outcome["outcomes"] if o["activity"] == "support.complaints")
    assert outcome["kept"] == 1 and "limitation period" in outcome["reason_kept"]
    complaint.refresh_from_db()
    assert complaint.email == "camille@example.net" and complaint.attachments.count() == 1
    assert Complaint.objects.count() == 2
