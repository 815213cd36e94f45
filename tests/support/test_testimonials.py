"""Testimonials: submitted with consent, reviewed in the desk, shown on the site, withdrawn, retained, exported."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from PIL import Image

from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy.accounts import account_anonymise
from tessera.privacy.exports import export_build
from tessera.privacy.models import ConsentRecord
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep
from tessera.privacy.services import rights_erase
from tessera.support import testimonial_services as services
from tessera.support.testimonials import Testimonial as StoredTestimonial
from tests.factories import OrganisationFactory, UserFactory

from .test_desk import staff_client

pytestmark = pytest.mark.django_db

NEW = "/en/accounts/testimonials/new/"
TEXT = "Our whole team switched to Tessera cards in a day, and nobody misses paper."
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def image(fmt="JPEG", size=(400, 300), colour="teal", exif=True) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", size, colour)
    kwargs = {}
    if exif and fmt == "JPEG":
        tags = Image.Exif()
        tags[0x010F] = "SecretCam"  # the camera's make
        tags[0x0132] = "2024:01:01 10:00:00"
        kwargs["exif"] = tags.tobytes()
    picture.save(out, format=fmt, **kwargs)
    return out.getvalue()


def upload(content: bytes, name="me.jpg", content_type="image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def signed_in(user=None) -> tuple[Client, object]:
    user = user or UserFactory(email="camille@example.net", full_name="Camille Durand")
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def author():
    return signed_in()


def submit(client, path=NEW, **overrides):
    data = {
        "text": TEXT,
        "name": "Camille Durand",
        "role": "Head of sales",
        "company": "Durand SARL",
        "consent": "on",
        **overrides,
    }
    return client.post(path, {k: v for k, v in data.items() if v is not None})


def submitted(client=None, **overrides) -> StoredTestimonial:
    client = client or signed_in()[0]
    response = submit(client, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    return StoredTestimonial.objects.get(public_id=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def published(client=None, **overrides) -> StoredTestimonial:
    testimonial = submitted(client, **overrides)
    reviewer, _ = staff_client("view_testimonial", "change_testimonial")
    response = reviewer.post(f"/en/admin/support/testimonials/{testimonial.pk}/approve/")
    assert response.status_code == 302
    testimonial.refresh_from_db()
    assert testimonial.status == "published"
    return testimonial


def nothing_stored() -> bool:
    return not (
        StoredTestimonial.objects.exists()
        or ConsentRecord.objects.filter(purpose="testimonial_publication").exists()
    )


# --- Submission -------------------------------------------------------------------------------------------


def test_a_customer_submits_a_testimonial_with_a_photo_stripped_of_metadata_and_a_consent(author):
    client, user = author
    page = client.get(NEW).content.decode()
    assert "I agree that Tessera publishes this testimonial" in page and 'value="Camille Durand"' in page
    testimonial = submitted(client, photo=upload(image()))
    assert (testimonial.author, testimonial.status, testimonial.language) == (user, "submitted", "en")
    assert (testimonial.name, testimonial.role, testimonial.company) == (
        "Camille Durand",
        "Head of sales",
        "Durand SARL",
    )
    photo = bytes(testimonial.photo)
    decoded = Image.open(io.BytesIO(photo))
    assert decoded.format == "JPEG" and decoded.size == (160, 160)
    assert not decoded.getexif() and b"SecretCam" not in photo and len(photo) < 20_000
    consent = testimonial.consent
    assert (consent.purpose, consent.email, consent.user, consent.method) == (
        "testimonial_publication",
        "camille@example.net",
        user,
        "checkbox",
    )
    assert "I agree that Tessera publishes" in consent.shown_text.text and consent.withdrawn_at is None
    assert consent.context == f"testimonial:{testimonial.public_id}"
    detail = client.get(f"/en/accounts/testimonials/{testimonial.public_id}/").content.decode()
    assert TEXT in detail and "Submitted, waiting for review" in detail
    own_photo = client.get(f"/en/accounts/testimonials/{testimonial.public_id}/photo/")
    assert own_photo.status_code == 200 and own_photo["Content-Type"] == "image/jpeg"
    assert "My testimonials" in client.get("/en/accounts/").content.decode()
    assert TEXT not in Client().get("/en/").content.decode()  # not reviewed yet


def test_png_and_webp_photos_are_accepted_and_re_encoded_as_jpeg(author):
    client, _user = author
    for fmt, name in (("PNG", "me.png"), ("WEBP", "me.webp")):
        testimonial = submitted(client, photo=upload(image(fmt), name, f"image/{fmt.lower()}"))
        assert Image.open(io.BytesIO(bytes(testimonial.photo))).format == "JPEG"


def test_an_organisation_admin_speaks_for_their_company_with_its_name_prefilled():
    client, user = signed_in()
    organisation = OrganisationFactory(owner=user, name="Durand SARL")
    page = client.get(NEW).content.decode()
    assert 'value="Durand SARL"' in page and "Durand SARL, as its admin" in page
    testimonial = submitted(client, speak_for=str(organisation.pk), company="Durand SARL")
    assert testimonial.organisation == organisation


def test_someone_who_does_not_administer_an_organisation_cannot_speak_for_it():
    organisation = OrganisationFactory(name="Other Corp")
    client, _user = signed_in()
    response = submit(client, speak_for=str(organisation.pk))
    # Without an organisation to speak for, the field is absent: the company is only free text.
    assert response.status_code == 302 and StoredTestimonial.objects.get().organisation is None
    with pytest.raises(Exception, match="Only an admin"):
        services.testimonial_submit(
            author=UserFactory(),
            organisation=organisation,
            text=TEXT,
            name="X",
            role="",
            company="",
            photo=b"",
            consent_given=True,
            language="en",
        )


def _big_jpeg() -> bytes:
    return image(size=(64, 64), exif=False) + b"\x00" * (2 * 1024 * 1024)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"text": "Too short."}, "Write at least 20 characters"),
        ({"text": "   "}, "Write your testimonial."),
        ({"text": "x" * 1501}, "at most 1500 characters"),
        ({"name": ""}, "Give the name to show with your testimonial."),
        ({"name": "n" * 121}, "at most 120 characters"),
        ({"consent": None}, "Without your consent to its publication"),
        ({"photo": "exe"}, "not a valid JPEG PNG or WebP image"),
        ({"photo": "gif"}, "Only JPEG PNG and WebP photos are accepted."),
        ({"photo": "svg"}, "not a valid JPEG PNG or WebP image"),
        ({"photo": "big"}, "The photo is too large: at most 2 MB."),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(author, overrides, message):
    client, _user = author
    photos = {
        "exe": lambda: upload(b"MZ\x90\x00" + b"\x00" * 300, "me.jpg"),
        "gif": lambda: upload(image("GIF", exif=False), "me.gif", "image/gif"),
        "svg": lambda: upload(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "me.png"),
        "big": lambda: upload(_big_jpeg()),
    }
    if "photo" in overrides:
        overrides = {"photo": photos[overrides["photo"]]()}
    response = submit(client, **overrides)
    assert response.status_code in (400, 413)
    html = response.content.decode().replace("&#x27;", "'").replace(",", "")
    assert message in html, re.findall(r'class="(?:errorlist|notice notice-error)"[^>]*>([^<]*)', html)
    assert nothing_stored()


# --- Review -----------------------------------------------------------------------------------------------


def test_the_desk_needs_the_named_permissions_and_logs_nothing_when_refused():
    testimonial = submitted(photo=upload(image()))
    queue = "/en/admin/support/testimonials/"
    page = f"{queue}{testimonial.pk}/"
    assert Client().get(queue)["Location"].startswith("/en/admin/login/")
    outsider, _ = staff_client("view_testimonial", is_staff=False)
    assert outsider.get(page).status_code == 302
    tickets_only, _ = staff_client("view_ticket", "change_ticket", "view_complaint")
    assert {tickets_only.get(url).status_code for url in (queue, page, f"{page}photo/")} == {403}
    assert tickets_only.post(f"{page}approve/").status_code == 403
    reader, _ = staff_client("view_testimonial")
    assert reader.get(queue).status_code == 200
    for action, data in (("approve", {}), ("reject", {"reason": "No"}), ("propose", {"text": TEXT + "!"})):
        assert reader.post(f"{page}{action}/", data).status_code == 403
    testimonial.refresh_from_db()
    assert testimonial.status == "submitted" and not OutboxMessage.objects.filter(
        kind__startswith="testimonial"
    )
    assert not SecurityEvent.objects.filter(action="support.testimonial.viewed").exists()


def test_every_opening_by_staff_is_logged_with_who_read_it():
    testimonial = submitted(photo=upload(image()))
    client, user = staff_client("view_testimonial")
    page = client.get(f"/en/admin/support/testimonials/{testimonial.pk}/")
    assert page.status_code == 200 and TEXT in page.content.decode()
    assert "camille@example.net" in page.content.decode()
    assert (
        client.get(f"/en/admin/support/testimonials/{testimonial.pk}/photo/")["Content-Type"] == "image/jpeg"
    )
    reads = SecurityEvent.objects.filter(action="support.testimonial.viewed").order_by("pk")
    assert [(e.actor_id, e.data) for e in reads] == [
        (user.pk, {"testimonial": testimonial.pk}),
        (user.pk, {"testimonial": testimonial.pk, "photo": True}),
    ]
    queue = client.get("/en/admin/support/testimonials/?status=submitted").content.decode()
    assert f"T{testimonial.pk}" in queue


def test_approval_publishes_on_the_home_and_cards_pages_and_tells_the_author_in_their_language():
    client, _user = signed_in()
    testimonial = submitted(client, path="/accounts/testimonials/new/", photo=upload(image()))
    assert testimonial.language == "fr"
    testimonial = published(client, path="/accounts/testimonials/new/", text=TEXT + " Second.")
    mail = OutboxMessage.objects.get(kind="testimonial_published")
    assert mail.recipient == "camille@example.net" and mail.headers["Content-Language"] == "fr"
    assert f"/accounts/testimonials/{testimonial.public_id}/" in mail.body_text
    for path in ("/", "/en/", "/product/cards/", "/en/product/cards/"):
        response = Client().get(path)
        html = response.content.decode()
        assert response.status_code == 200 and TEXT + " Second." in html, path
        assert TEXT + "</p>" not in html  # the other one was not approved
        assert not response.cookies and len(response.content) < 100_000, path


def test_the_photo_is_served_from_our_origin_cacheable_and_cookie_free():
    testimonial = published(photo=upload(image()))
    html = Client().get("/en/").content.decode()
    url = f"/en/testimonials/{testimonial.public_id}/{testimonial.photo_version}.jpg"
    assert f'src="{url}"' in html and "http" not in html.split(url)[0][-20:]
    response = Client().get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=3600" and not response.cookies
    assert response.content == bytes(testimonial.photo)
    assert Client().get(f"/en/testimonials/{testimonial.public_id}/0000000000000000.jpg").status_code == 404


def test_a_submitted_testimonials_photo_is_not_public():
    testimonial = submitted(photo=upload(image()))
    url = f"/en/testimonials/{testimonial.public_id}/{testimonial.photo_version}.jpg"
    assert Client().get(url).status_code == 404


def test_a_rejection_carries_a_reason_the_author_reads_in_their_space_and_email():
    client, _user = signed_in()
    testimonial = submitted(client)
    reviewer, _ = staff_client("view_testimonial", "change_testimonial")
    page = f"/en/admin/support/testimonials/{testimonial.pk}/"
    empty = reviewer.post(f"{page}reject/", {"reason": ""})
    assert empty.status_code == 400 and "Tell the author why." in empty.content.decode()
    assert reviewer.post(f"{page}reject/", {"reason": "It names a competitor."}).status_code == 302
    testimonial.refresh_from_db()
    assert testimonial.status == "rejected" and testimonial.ended_at is not None
    detail = client.get(f"/en/accounts/testimonials/{testimonial.public_id}/").content.decode()
    assert "It names a competitor." in detail and "Why we do not publish it" in detail
    mail = OutboxMessage.objects.get(kind="testimonial_rejected")
    assert "It names a competitor." in mail.body_text
    # A decided testimonial cannot be approved any more.
    refused = reviewer.post(f"{page}approve/")
    assert refused.status_code == 409 and StoredTestimonial.objects.get().status == "rejected"


def test_a_proposed_edit_is_published_only_once_the_author_accepts_it():
    client, _user = signed_in()
    testimonial = submitted(client)
    reviewer, _ = staff_client("view_testimonial", "change_testimonial")
    edited = "Our whole team switched to Tessera cards in one day."
    response = reviewer.post(
        f"/en/admin/support/testimonials/{testimonial.pk}/propose/",
        {"text": edited, "message": "Shorter, if you agree."},
    )
    assert response.status_code == 302
    mail = OutboxMessage.objects.get(kind="testimonial_proposed")
    assert edited in mail.body_text and "Shorter, if you agree." in mail.body_text
    assert edited not in Client().get("/en/").content.decode()
    detail = client.get(f"/en/accounts/testimonials/{testimonial.public_id}/").content.decode()
    assert TEXT in detail and edited in detail and "Our team proposes an edit" in detail
    assert client.post(f"/en/accounts/testimonials/{testimonial.public_id}/accept/").status_code == 302
    testimonial.refresh_from_db()
    assert (testimonial.status, testimonial.text, testimonial.proposed_text) == ("published", edited, "")
    assert edited in Client().get("/en/").content.decode()


def test_a_refused_edit_sends_the_testimonial_back_to_review_with_its_own_text():
    client, _user = signed_in()
    testimonial = submitted(client)
    reviewer, _ = staff_client("view_testimonial", "change_testimonial")
    page = f"/en/admin/support/testimonials/{testimonial.pk}/"
    same = reviewer.post(f"{page}propose/", {"text": TEXT})
    assert same.status_code == 400 and "the same as the author" in same.content.decode()
    reviewer.post(f"{page}propose/", {"text": "A completely different text, written by staff."})
    assert client.post(f"/en/accounts/testimonials/{testimonial.public_id}/refuse/").status_code == 302
    testimonial.refresh_from_db()
    assert (testimonial.status, testimonial.text, testimonial.proposed_text) == ("submitted", TEXT, "")
    # Nothing left to accept.
    assert client.post(f"/en/accounts/testimonials/{testimonial.public_id}/accept/").status_code == 409


# --- Withdrawal ---------------------------------------------------------------------------------------------


def test_withdrawal_takes_it_off_the_site_at_once_and_withdraws_the_consent():
    client, _user = signed_in()
    testimonial = published(client, photo=upload(image()))
    photo_url = f"/en/testimonials/{testimonial.public_id}/{testimonial.photo_version}.jpg"
    assert TEXT in Client().get("/").content.decode() and Client().get(photo_url).status_code == 200
    response = client.post(f"/en/accounts/testimonials/{testimonial.public_id}/withdraw/")
    assert response.status_code == 302
    for path in ("/", "/en/", "/en/product/cards/"):
        html = Client().get(path).content.decode()
        assert TEXT not in html and 'id="testimonials"' not in html, path
    assert Client().get(photo_url).status_code == 404
    testimonial.refresh_from_db()
    assert testimonial.status == "withdrawn" and testimonial.ended_at is not None
    consent = ConsentRecord.objects.get(purpose="testimonial_publication")
    assert consent.withdrawn_at is not None and consent.email == ""  # only the minimal proof stays
    again = client.post(f"/en/accounts/testimonials/{testimonial.public_id}/withdraw/")
    assert again.status_code == 409


def test_withdrawing_one_testimonial_keeps_the_authors_other_one_published():
    client, _user = signed_in()
    first = published(client)
    second = published(client, text="Meetings that stay private: exactly what our lawyers wanted.")
    client.post(f"/en/accounts/testimonials/{first.public_id}/withdraw/")
    html = Client().get("/en/").content.decode()
    assert TEXT not in html and second.text in html


def test_a_consent_withdrawn_through_the_privacy_portal_takes_it_off_the_site():
    from tessera.privacy.services.consent import consent_withdraw

    testimonial = published()
    consent_withdraw(email="camille@example.net", method="portal")
    assert TEXT not in Client().get("/en/").content.decode()
    assert (
        StoredTestimonial.objects.get(pk=testimonial.pk).status == "published"
    )  # retention removes it later


def test_nobody_else_sees_or_withdraws_someones_testimonial():
    testimonial = published(photo=upload(image()))
    stranger, _ = signed_in(UserFactory())
    base = f"/en/accounts/testimonials/{testimonial.public_id}/"
    assert stranger.get(base).status_code == 404
    assert stranger.get(f"{base}photo/").status_code == 404
    assert stranger.post(f"{base}withdraw/").status_code == 404
    assert StoredTestimonial.objects.get().status == "published"
    assert Client().get(base)["Location"].startswith("/en/accounts/login/")


# --- Retention, export, erasure -------------------------------------------------------------------------------


def at(when):
    return time_machine.travel(when, tick=False)


def test_the_register_declares_testimonials_with_their_retention(english):
    activity = registry.activities["support.testimonials"]
    assert activity.legal_basis == "consent" and activity.retention.period == timedelta(days=30)
    assert {"text", "photo", "name"} <= set(activity.fields["support.Testimonial"])
    assert "deleted at once, with the account" in str(activity.retention.description)
    assert registry.undeclared_fields([StoredTestimonial]) == []


def test_rejected_and_withdrawn_testimonials_go_30_days_after_the_decision_published_ones_stay():
    reviewer = UserFactory(is_staff=True)
    with at(MONDAY):
        rejected = submitted(photo=upload(image()))
        services.testimonial_reject(testimonial=rejected, actor=reviewer, reason="Off topic.")
        withdrawn_client, withdrawn_author = signed_in(UserFactory())
        withdrawn = submitted(withdrawn_client)
        services.testimonial_withdraw(testimonial=withdrawn, author=withdrawn_author)
        kept = published(signed_in(UserFactory())[0])
        waiting = submitted(signed_in(UserFactory())[0])
    with at(MONDAY + timedelta(days=30)):
        assert retention_sweep()["support.testimonials"] == 0
    with at(MONDAY + timedelta(days=30, seconds=1)):
        assert retention_sweep()["support.testimonials"] == 2
    assert set(StoredTestimonial.objects.values_list("pk", flat=True)) == {kept.pk, waiting.pk}
    with at(MONDAY + timedelta(days=5 * 365)):
        assert retention_sweep()["support.testimonials"] == 0
        assert TEXT in Client().get("/en/").content.decode()


def test_a_testimonial_whose_consent_was_withdrawn_elsewhere_goes_30_days_later():
    from tessera.privacy.services.consent import consent_withdraw

    with at(MONDAY):
        testimonial = published()
        consent_withdraw(email="camille@example.net", method="portal")
    with at(MONDAY + timedelta(days=31)):
        assert retention_sweep()["support.testimonials"] == 1
    assert not StoredTestimonial.objects.filter(pk=testimonial.pk).exists()


def test_the_relationship_ends_with_the_account_deleted_or_anonymised():
    deleted_client, deleted_user = signed_in(UserFactory())
    published(deleted_client)
    anonymised_client, anonymised_user = signed_in(UserFactory())
    published(anonymised_client, text="Another happy customer, writing at some length.")
    deleted_user.delete()
    account_anonymise(user=anonymised_user)
    assert not StoredTestimonial.objects.exists()
    assert 'id="testimonials"' not in Client().get("/en/").content.decode()


def test_the_authors_testimonials_are_in_their_export_and_erased_on_request():
    client, user = signed_in()
    testimonial = published(client, photo=upload(image()))
    other = submitted(signed_in(UserFactory(email="other@example.net"))[0])
    export = export_build(Subject(email="Camille@Example.net", user_ids=[user.pk]))
    section = next(s for s in export.data["sections"] if s["activity"] == "support.testimonials")
    assert [(r["reference"], r["text"], r["status"]) for r in section["rows"]] == [
        (testimonial.public_id, TEXT, "published")
    ]
    assert bytes(testimonial.photo) in [content for content, _type in export.files.values()]
    record = rights_erase(email="camille@example.net", channel="email")
    # The account goes too, and the testimonial with it, whichever comes first.
    assert any(o["activity"] == "support.testimonials" for o in record.outcome["outcomes"])
    assert list(StoredTestimonial.objects.values_list("pk", flat=True)) == [other.pk]
    assert TEXT not in Client().get("/en/").content.decode()


def test_the_home_page_reads_testimonials_in_one_query(django_assert_max_num_queries):
    for n in range(4):
        published(signed_in(UserFactory())[0], text=f"{TEXT} Number {n}.")
    with django_assert_max_num_queries(1):
        html = Client().get("/en/").content.decode()
    assert html.count('class="card testimonial"') == 3


def test_erasure_deletes_testimonials_even_when_the_account_stays():
    from tessera.support.testimonial_privacy import erase_subject

    client, user = signed_in()
    published(client)
    outcome = erase_subject(Subject(email=user.email, user_ids=[user.pk]))
    assert outcome.erased == 1 and not StoredTestimonial.objects.exists()
