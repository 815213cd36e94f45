"""Complaints filed from the personal space: acknowledgement, history, one reopening, bad inputs refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tessera.core.models import OutboxMessage
from tessera.support.complaints import Complaint, ComplaintAttachment, ComplaintEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = "/en/accounts/complaints/new/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def customer():
    user = UserFactory(email="camille@example.net")
    client = Client()
    client.force_login(user)
    return client, user


def file_complaint(client, **overrides):
    data = {"category": "card", "description": "My card shows the wrong phone number.", **overrides}
    return client.post(NEW, data)


def nothing_stored():
    return not (
        Complaint.objects.exists()
        or ComplaintEvent.objects.exists()
        or ComplaintAttachment.objects.exists()
        or OutboxMessage.objects.filter(kind="complaint_received").exists()
    )


def test_a_customer_files_a_complaint_with_files_and_gets_an_acknowledgement(customer):
    client, user = customer
    response = file_complaint(
        client, attachments=[upload("invoice.pdf", PDF), upload("photo.PNG", png(), "image/png")]
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{complaint.public_id}/")
    assert (complaint.author, complaint.status, complaint.language) == (user, "received", "en")
    assert [(a.name, a.content_type) for a in complaint.attachments.all()] == [
        ("invoice.pdf", "application/pdf"),
        ("photo.png", "image/png"),
    ]
    mail = OutboxMessage.objects.get(kind="complaint_received")
    assert mail.recipient == "camille@example.net" and complaint.public_id in mail.subject
    page = client.get(response["Location"]).content.decode()
    assert "My card shows the wrong phone number." in page and "Answer due by" in page
    assert "My complaints" in client.get("/en/accounts/").content.decode()


def test_the_acknowledgement_is_in_the_persons_language(customer):
    client, _user = customer
    client.post("/accounts/complaints/new/", {"category": "billing", "description": "Facture fausse."})
    mail = OutboxMessage.objects.get(kind="complaint_received")
    assert Complaint.objects.get().language == "fr" and mail.headers["Content-Language"] == "fr"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": ""}, "Describe what happened."),
        ({"description": "   "}, "Describe what happened."),
        ({"description": "x" * 10_001}, "at most 10000 characters"),
        ({"category": "lottery"}, "Choose a valid category."),
        ({"category": ""}, "Choose a category."),
    ],
)
def test_a_bad_description_or_category_is_refused_and_nothing_stored(customer, data, message):
    client, _user = customer
    response = file_complaint(client, **data)
    assert response.status_code == 400
    assert message in response.content.decode().replace(",", "")
    assert nothing_stored()


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
PE = b"MZ\x90\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.pdf", ELF, "executable files and archives"),
        ("report.pdf", PE, "executable files and archives"),
        ("macho.pdf", b"\xcf\xfa\xed\xfe" + b"\x00" * 64, "executable files and archives"),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "executable files and archives"),
        ("scan.pdf", b"PK\x03\x04" + b"\x00" * 64, "executable files and archives"),
        ("page.txt", b"<!DOCTYPE html><script>alert(1)</script>", "web pages and SVG"),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "web pages and SVG"),
        ("fake.png", b"\x89PNG\r\n\x1a\n not really", "only PDF, PNG, JPEG"),
        (
            "active.pdf",
            b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
            "contains scripts",
        ),
        ("blob.pdf", b"\x00\x01\x02\x03" * 50, "only PDF, PNG, JPEG"),
    ],
)
def test_a_hostile_attachment_is_refused_by_its_content_and_nothing_stored(customer, name, content, reason):
    client, _user = customer
    response = file_complaint(client, attachments=[upload(name, content)])
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert nothing_stored()


def test_too_many_or_too_large_files_are_refused_and_nothing_stored(customer):
    client, _user = customer
    four = [upload(f"{i}.pdf", PDF) for i in range(4)]
    assert "At most 3 files" in file_complaint(client, attachments=four).content.decode()
    big = upload("big.pdf", PDF + b"0" * (5 * 1024 * 1024))
    response = file_complaint(client, attachments=[big])
    assert response.status_code == 400 and "at most 5 MB" in response.content.decode()
    assert nothing_stored()


def test_a_50_mb_file_is_refused_before_the_body_is_read(customer):
    client, _user = customer
    huge = upload("huge.pdf", PDF + b"0" * (50 * 1024 * 1024))
    response = file_complaint(client, attachments=[huge])
    assert response.status_code == 413
    assert "more than 10 MB together" in response.content.decode()
    assert nothing_stored()


def test_someone_elses_complaint_and_its_files_are_not_found(customer):
    client, _user = customer
    file_complaint(client, attachments=[upload("invoice.pdf", PDF)])
    complaint = Complaint.objects.get()
    attachment = complaint.attachments.get()
    other = Client()
    other.force_login(UserFactory())
    base = f"/en/accounts/complaints/{complaint.public_id}/"
    assert other.get(base).status_code == 404
    assert other.get(f"{base}files/{attachment.pk}/").status_code == 404
    assert other.post(f"{base}reopen/", {"reason": "x"}).status_code == 404
    assert Client().get(base).status_code == 302  # to sign-in
    listing = other.get("/en/accounts/complaints/").content.decode()
    assert complaint.public_id not in listing and "You have not filed any complaint." in listing


def test_the_author_downloads_a_file_as_an_attachment_never_sniffed(customer):
    client, _user = customer
    file_complaint(client, attachments=[upload("../../etc/passwd.txt", b"plain words\n", "text/plain")])
    complaint = Complaint.objects.get()
    attachment = complaint.attachments.get()
    assert attachment.name == "passwd.txt"
    response = client.get(f"/en/accounts/complaints/{complaint.public_id}/files/{attachment.pk}/")
    assert response.status_code == 200 and response.content == b"plain words\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_customer_reopens_once_after_an_answer_and_not_twice(customer):
    from tessera.support import complaint_services

    client, _user = customer
    file_complaint(client)
    complaint = Complaint.objects.get()
    base = f"/en/accounts/complaints/{complaint.public_id}/"
    response = client.post(f"{base}reopen/", {"reason": "Too early"})
    assert response.status_code == 409 and "Only an answered complaint" in response.content.decode()
    staff = UserFactory(is_staff=True)
    complaint_services.complaint_answer(complaint=complaint, actor=staff, body="Fixed.")
    assert client.post(f"{base}reopen/", {"reason": ""}).status_code == 400
    assert client.post(f"{base}reopen/", {"reason": "Still wrong"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "handling" and complaint.reopened_at is not None
    assert OutboxMessage.objects.filter(kind="complaint_reopened").count() == 1
    complaint_services.complaint_answer(complaint=complaint, actor=staff, body="Fixed, really.")
    events = ComplaintEvent.objects.count()
    response = client.post(f"{base}reopen/", {"reason": "Again"})
    assert response.status_code == 409
    assert "already reopened this complaint once" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == "answered" and ComplaintEvent.objects.count() == events


def test_the_deadline_setting_changes_the_promise_and_the_due_date(customer, settings):
    client, _user = customer
    settings.TESSERA_COMPLAINT_DEADLINE_DAYS = 15
    assert "answer within 15 working days" in client.get("/en/accounts/complaints/").content.decode()
    file_complaint(client)
    complaint = Complaint.objects.get()
    assert (complaint.due_at - complaint.created_at).days >= 19  # 15 working days span 3 weekends
