"""The complaints desk: named permissions, every opening logged, answers emailed, privacy ones to the DPO."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.support.complaints import Complaint, ComplaintEvent
from tests.factories import UserFactory

from .test_complaints import PDF, upload
from .test_desk import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def complaint():
    user = UserFactory(email="camille@example.net")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/complaints/new/",
        {
            "category": "privacy",
            "description": "Ma carte montre encore mon ancien poste.",
            "attachments": [upload("a.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    return Complaint.objects.get(), client


def test_the_complaints_desk_needs_the_named_permissions(complaint):
    record, _customer = complaint
    queue, page = "/en/admin/support/complaints/", f"/en/admin/support/complaints/{record.pk}/"
    file = f"{page}files/{record.attachments.get().pk}/"
    assert Client().get(queue)["Location"].startswith("/en/admin/login/")
    outsider, _ = staff_client("view_complaint", is_staff=False)
    assert outsider.get(page).status_code == 302
    tickets_only, _ = staff_client("view_ticket", "change_ticket")
    assert {tickets_only.get(url).status_code for url in (queue, page, file)} == {403}
    reader, _ = staff_client("view_complaint")
    assert reader.get(queue).status_code == 200
    assert reader.post(f"{page}answer/", {"message": "Hi"}).status_code == 403
    assert reader.post(f"{page}update/", {"status": "closed"}).status_code == 403
    record.refresh_from_db()
    assert record.status == "received" and ComplaintEvent.objects.count() == 1
    assert not SecurityEvent.objects.filter(action="support.complaint.viewed").exists()


def test_every_opening_of_a_complaint_or_its_file_is_logged_with_who_read_it(complaint):
    record, _customer = complaint
    client, user = staff_client("view_complaint")
    page = f"/en/admin/support/complaints/{record.pk}/"
    response = client.get(page)
    text = response.content.decode()
    assert response.status_code == 200 and "ancien poste" in text
    assert "/admin/privacy/rightsrequest/" in text  # a privacy complaint links to the DPO console
    attachment = record.attachments.get()
    download = client.get(f"{page}files/{attachment.pk}/")
    assert download.content == PDF and download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    entries = SecurityEvent.objects.filter(action="support.complaint.viewed").order_by("pk")
    assert [(e.actor_id, e.data) for e in entries] == [
        (user.pk, {"complaint": record.pk}),
        (user.pk, {"complaint": record.pk, "attachment": attachment.pk}),
    ]
    client.get("/en/admin/support/complaints/")  # the queue shows no description: not an opening
    assert entries.count() == 2


def test_staff_answer_is_emailed_and_shown_in_the_customers_space(complaint):
    record, customer = complaint
    client, user = staff_client("view_complaint", "change_complaint")
    page = f"/en/admin/support/complaints/{record.pk}/"
    assert client.post(f"{page}answer/", {"message": ""}).status_code == 400
    assert client.post(f"{page}answer/", {"message": "x" * 10_001}).status_code == 400
    assert not OutboxMessage.objects.filter(kind="complaint_answered").exists()
    assert client.post(f"{page}answer/", {"message": "Votre carte est corrigée."}).status_code == 302
    record.refresh_from_db()
    assert record.status == "answered" and record.answered_at
    mail = OutboxMessage.objects.get(kind="complaint_answered")
    assert mail.recipient == "camille@example.net" and "Votre carte est corrigée." in mail.body_text
    assert mail.headers["Content-Language"] == "fr"
    assert SecurityEvent.objects.filter(action="support.complaint.answered", actor_id=user.pk).count() == 1
    mine = customer.get(f"/accounts/complaints/{record.public_id}/").content.decode()
    assert "Votre carte est corrigée." in mine and user.email not in mine


def test_closing_a_complaint_records_it_and_an_unknown_status_is_refused(complaint):
    record, _customer = complaint
    client, user = staff_client("view_complaint", "change_complaint")
    page = f"/en/admin/support/complaints/{record.pk}/"
    assert client.post(f"{page}update/", {"status": "lost"}).status_code == 400
    assert client.post(f"{page}update/", {"status": "closed", "assignee": user.pk}).status_code == 302
    record.refresh_from_db()
    assert record.status == "closed" and record.closed_at and record.assignee == user
    assert client.post(f"{page}answer/", {"message": "Late"}).status_code == 409
    assert not OutboxMessage.objects.filter(kind="complaint_answered").exists()


def test_the_queue_shows_the_deadline_and_marks_overdue_complaints(complaint):
    record, _customer = complaint
    client, _user = staff_client("view_complaint")
    queue = client.get("/en/admin/support/complaints/").content.decode()
    assert f"C{record.pk}" in queue and "Overdue" not in queue
    with time_machine.travel(record.due_at + timedelta(hours=1), tick=False):
        later, _user = staff_client("view_complaint")  # signed in then: a staff session is short
        assert "Overdue" in later.get("/en/admin/support/complaints/").content.decode()
