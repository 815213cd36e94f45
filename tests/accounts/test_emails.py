"""Every email allauth sends is rendered by our templates, as text and HTML, and goes through the outbox."""

import pytest
from django.utils import timezone

from tessera.core import sealing
from tessera.core.models import OutboxMessage
from tessera.core.outbox import email_queue_template

pytestmark = pytest.mark.django_db

CONTEXT = {
    "email": "grace@example.org",
    "activate_url": "https://tessera.example/accounts/confirm-email/KEY/",
    "password_reset_url": "https://tessera.example/accounts/password/reset/key/1-KEY/",
    "signup_url": "https://tessera.example/accounts/signup/",
    "ip": "192.0.2.10",
    "user_agent": "Firefox",
    "timestamp": timezone.now(),
    "from_email": "old@example.org",
    "to_email": "new@example.org",
    "deleted_email": "old@example.org",
    "provider": "Google",
}

ACTION_EMAILS = {
    "account/email/email_confirmation_signup": "activate_url",
    "account/email/email_confirmation": "activate_url",
    "account/email/account_already_exists": "password_reset_url",
    "account/email/unknown_account": "signup_url",
    "account/email/password_reset_key": "password_reset_url",
}
NOTIFICATIONS = [
    "account/email/email_changed",
    "account/email/email_confirm",
    "account/email/email_deleted",
    "account/email/password_changed",
    "account/email/password_reset",
    "account/email/password_set",
    "mfa/email/recovery_codes_generated",
    "mfa/email/totp_activated",
    "mfa/email/totp_deactivated",
    "mfa/email/webauthn_added",
    "mfa/email/webauthn_removed",
    "socialaccount/email/account_connected",
    "socialaccount/email/account_disconnected",
]


@pytest.mark.parametrize("prefix, link", ACTION_EMAILS.items())
def test_action_emails_carry_their_link_in_both_parts(prefix, link):
    # Sealed like every allauth email (AccountAdapter.send_mail); opened as the relay will receive it.
    message = email_queue_template(
        to="grace@example.org", template=prefix, context=CONTEXT, language="en", confidential=True
    )
    message.body_text, message.body_html = (
        sealing.open_text(message.body_text),
        sealing.open_text(message.body_html),
    )
    assert message.subject and "\n" not in message.subject
    assert CONTEXT[link] in message.body_text
    assert f'href="{CONTEXT[link]}"' in message.body_html
    assert "The Tessera team" in message.body_text and "The Tessera team" in message.body_html
    assert "{{" not in message.body_text + message.body_html


@pytest.mark.parametrize("prefix", NOTIFICATIONS)
def test_security_notifications_say_what_changed_and_from_where(prefix):
    message = email_queue_template(to="grace@example.org", template=prefix, context=CONTEXT, language="en")
    for part in (message.body_text, message.body_html):
        assert "This change was just made to your Tessera account" in part
        assert "192.0.2.10" in part and "Firefox" in part
    assert "<html" in message.body_html


def test_emails_follow_the_language_of_the_request():
    french = email_queue_template(
        to="grace@example.org", template="mfa/email/totp_activated", context=CONTEXT, language="fr"
    )
    assert french.body_html.startswith("<!doctype html>")
    assert "Application d'authentification activée." in french.body_text  # allauth's own French


@pytest.mark.parametrize("language, prefix", [("en", "/en"), ("fr", "")])
def test_signing_up_in_a_language_sends_an_email_marked_with_it(client, language, prefix):
    signup = {
        "full_name": "Grace Hopper",
        "email": "grace@example.org",
        "age_confirmed": "on",
        "terms_accepted": "on",
    }
    signup |= {"password1": "a-long-test-password-1", "password2": "a-long-test-password-1"}
    assert client.post(f"{prefix}/accounts/signup/", signup).status_code == 302
    [message] = OutboxMessage.objects.filter(recipient="grace@example.org")
    assert f'<html lang="{language}">' in sealing.open_text(message.body_html)  # sealed: it holds a link
    assert message.headers["Content-Language"] == language
    assert ("Confirm your email address" in message.subject) == (language == "en")
