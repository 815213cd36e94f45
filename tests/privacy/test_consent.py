import hashlib

import pytest
from django.test import Client

from tessera.core.models import OutboxMessage
from tessera.core.outbox import outbox_deliver
from tessera.privacy import services
from tessera.privacy.models import ConsentRecord

pytestmark = pytest.mark.django_db

TEXT = "Yes, send me news and offers by email. I can unsubscribe at any time."


def _subscribe(email="news@example.org", **extra):
    return services.consent_record(
        email=email,
        purpose=ConsentRecord.Purpose.MARKETING,
        text=TEXT,
        text_version="2025-03",
        method=ConsentRecord.Method.CHECKBOX,
        context="sign-up form",
        **extra,
    )


def _marketing(to="news@example.org"):
    return services.marketing_email_queue(
        to=to, template="privacy/email/policy_changed", context={"version": {"number": 1}}, language="en"
    )


def test_a_consent_stores_the_text_version_and_hash_seen_and_when_and_how(user):
    consent = _subscribe(email=user.email, user=user)
    assert consent.text_version == "2025-03"
    assert consent.text_hash == hashlib.sha256(" ".join(TEXT.split()).encode()).hexdigest()
    assert consent.method == "checkbox" and consent.context == "sign-up form" and consent.given_at
    assert services.consent_active(email=user.email, purpose="marketing")


def test_lead_form_and_recording_notice_answers_go_through_the_same_service():
    lead = services.consent_record(
        email="visitor@example.org",
        purpose="lead_form",
        text="Share my details",
        text_version="1",
        method="form",
    )
    refusal = services.consent_record(
        email="guest@example.org",
        purpose="recording_notice",
        text="Recording?",
        text_version="1",
        method="dialog",
        answer=False,
    )
    assert lead.purpose == "lead_form" and refusal.answer is False
    assert not services.consent_active(email="guest@example.org", purpose="recording_notice")


def test_withdrawal_keeps_only_a_minimal_proof_and_is_idempotent(user):
    consent = _subscribe(email=user.email, user=user)
    assert services.consent_withdraw(email=user.email, purpose="marketing", method="account") == 1
    assert services.consent_withdraw(email=user.email, purpose="marketing", method="account") == 0
    consent.refresh_from_db()
    assert consent.withdrawn_at and consent.withdrawal_method == "account"
    assert consent.email == "" and consent.user is None and consent.context == ""
    assert consent.subject_digest == services.subject_digest(user.email)
    assert not services.consent_active(email=user.email, purpose="marketing")


def test_marketing_email_carries_one_click_unsubscribe_headers(smtp):
    _subscribe()
    message = _marketing()
    assert message.kind == "marketing"
    assert outbox_deliver(message_id=message.pk)
    received = smtp.wait_for(1)[0]
    url = received["List-Unsubscribe"].strip("<>")
    assert "/privacy/unsubscribe/" in url
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_marketing_email_without_consent_or_after_withdrawal():
    assert _marketing("stranger@example.org") is None
    _subscribe()
    services.consent_withdraw(email="news@example.org", method="link")
    assert _marketing() is None


def _unsubscribe_path(message):
    return message.headers["List-Unsubscribe"].strip("<>").split("testserver", 1)[1]


def test_unsubscribe_link_shows_a_confirm_button_and_sets_no_cookie(client):
    _subscribe()
    path = _unsubscribe_path(_marketing())
    page = client.get(path)
    assert page.status_code == 200 and not page.cookies
    assert b'method="post"' in page.content
    assert services.consent_active(email="news@example.org", purpose="marketing")  # GET changes nothing


def test_one_click_post_unsubscribes_without_form_token_and_is_idempotent():
    _subscribe()
    path = _unsubscribe_path(_marketing())
    client = Client(enforce_csrf_checks=True)
    first = client.post(path, {"List-Unsubscribe": "One-Click"})
    second = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert first.status_code == second.status_code == 200 and not first.cookies
    assert not services.consent_active(email="news@example.org", purpose="marketing")
    record = ConsentRecord.objects.get()
    assert record.withdrawal_method == "one-click" and record.email == ""
    assert _marketing() is None


def test_a_forged_unsubscribe_token_is_refused(client):
    consent = _subscribe()
    response = client.post(f"/privacy/unsubscribe/{consent.pk}:forged/")
    assert response.status_code == 400
    assert services.consent_active(email="news@example.org", purpose="marketing")


def test_unsubscribe_after_the_record_was_purged_is_harmless(client):
    _subscribe()
    path = _unsubscribe_path(_marketing())
    ConsentRecord.objects.all().delete()
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert OutboxMessage.objects.filter(kind="marketing").count() == 1


def test_the_exact_text_seen_is_archived_once_and_shown_in_the_export(user):
    from tessera.privacy.exports import export_data
    from tessera.privacy.models import ConsentText

    first = _subscribe(email=user.email, user=user, language="en")
    second = _subscribe(email=user.email, user=user, language="en")
    french = services.consent_record(
        email=user.email,
        purpose="marketing",
        text="Oui, envoyez-moi vos actualités.",
        text_version="2025-03",
        method="checkbox",
        language="fr",
    )
    archived = ConsentText.objects.get(language="en")
    assert archived.text == TEXT and archived.version == "2025-03" and archived.purpose == "marketing"
    assert first.shown_text == second.shown_text == archived
    assert archived.text_hash == first.text_hash
    assert french.shown_text.language == "fr" and ConsentText.objects.count() == 2
    data = export_data(services.subject_resolve(user.email))
    rows = next(s for s in data["sections"] if s["category"] == "consents")["rows"]
    assert [r["text"] for r in rows] == [TEXT, TEXT, "Oui, envoyez-moi vos actualités."]
    assert rows[2]["text_language"] == "fr"


def test_the_archived_text_outlives_the_withdrawal_as_part_of_the_proof(user):
    consent = _subscribe(email=user.email, user=user)
    services.consent_withdraw(email=user.email, method="link")
    consent.refresh_from_db()
    assert consent.email == "" and consent.shown_text.text == TEXT


def test_a_post_without_the_one_click_body_or_the_confirm_button_changes_nothing():
    _subscribe()
    path = _unsubscribe_path(_marketing())
    client = Client(enforce_csrf_checks=True)
    assert client.post(path).status_code == 400
    assert client.post(path, {"List-Unsubscribe": "one-click-please"}).status_code == 400
    assert services.consent_active(email="news@example.org", purpose="marketing")
    page = client.get(path).content.decode()
    assert 'name="confirm" value="unsubscribe"' in page
    assert client.post(path, {"confirm": "unsubscribe"}).status_code == 200
    assert ConsentRecord.objects.get().withdrawal_method == "link"


def test_the_one_click_post_of_a_mail_client_is_url_encoded_too():
    _subscribe()
    path = _unsubscribe_path(_marketing())
    # What RFC 8058 mail clients send (the other tests post multipart/form-data, also allowed).
    body = "List-Unsubscribe=One-Click"
    response = Client().post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert ConsentRecord.objects.get().withdrawal_method == "one-click"
