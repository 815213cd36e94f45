"""Terms of use: versions, acceptance at sign-up and at event creation, change emails, retention."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.template import TemplateDoesNotExist
from django.utils import timezone

from tessera.accounts.models import User
from tessera.core.models import OutboxMessage
from tessera.privacy.models import TermsAcceptance, TermsVersion
from tessera.privacy.register import registry
from tessera.privacy.terms import (
    TermsError,
    terms_acceptance_record,
    terms_change_notify,
    terms_current,
    terms_publish,
)
from tests.accounts.conftest import BrowserLikeClient
from tests.accounts.support import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"


@pytest.fixture
def client():
    return BrowserLikeClient()


def signup_data(**overrides):
    return {
        "full_name": "Grace Hopper",
        "email": "grace@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "age_confirmed": "on",
        "terms_accepted": "on",
        **overrides,
    }


@pytest.fixture
def version_two(settings, tmp_path):
    """A second version's text, in a template directory of the test's own."""
    (tmp_path / "site" / "terms").mkdir(parents=True)
    (tmp_path / "site" / "terms" / "2.html").write_text(
        "<section><h2>Version two</h2><p>New text.</p></section>"
    )
    templates = [dict(engine) for engine in settings.TEMPLATES]
    templates[0]["DIRS"] = [tmp_path, *templates[0].get("DIRS", [])]
    settings.TEMPLATES = templates
    return tmp_path


def test_version_one_is_published_by_the_migration_and_rendered_with_its_number_and_date(client):
    version = terms_current()
    assert version.number == 1 and not version.substantial
    html = client.get("/en/terms/").content.decode()
    assert 'data-testid="terms-version">Version 1, in force since' in html
    assert "Applicable law and disputes" in html


def test_a_new_version_is_rendered_at_once_and_needs_its_text(client, version_two):
    with pytest.raises(TemplateDoesNotExist):
        terms_publish(number=3, substantial=False)
    terms_publish(number=2, substantial=False)
    html = client.get("/en/terms/").content.decode()
    assert "Version 2, in force since" in html and "<h2>Version two</h2>" in html
    with pytest.raises(TermsError):
        terms_publish(number=2, substantial=False)
    assert TermsVersion.objects.count() == 2


def test_sign_up_page_shows_a_required_terms_checkbox_linking_to_the_terms(client):
    html = client.get("/en" + SIGNUP).content.decode()
    assert 'type="checkbox" name="terms_accepted" required' in html
    assert 'href="/en/terms/"' in html


def test_sign_up_records_the_acceptance_of_the_current_version(client):
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    user = User.objects.get(email="grace@example.org")
    [acceptance] = TermsAcceptance.objects.all()
    assert (acceptance.user, acceptance.email, acceptance.version.number) == (user, user.email, 1)
    assert acceptance.context == "signup"
    assert abs(acceptance.accepted_at - user.date_joined) < timedelta(seconds=5)


def test_sign_up_still_records_version_one_in_a_database_emptied_since_the_migration(client):
    # A flushed test database (browser tests) or a restored partial dump loses the migration's row.
    TermsVersion.objects.all().delete()
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    [acceptance] = TermsAcceptance.objects.all()
    assert acceptance.version.number == 1 and acceptance.context == "signup"
    assert (
        'data-testid="terms-version">Version 1, in force since' in client.get("/en/terms/").content.decode()
    )


def test_sign_up_without_the_terms_checkbox_is_refused_with_a_clear_error_and_stores_nothing(client):
    data = signup_data()
    del data["terms_accepted"]
    response = client.post("/en" + SIGNUP, data)
    assert response.status_code == 200
    assert "You must accept the terms of use to create an account." in response.content.decode()
    assert not User.objects.exists()
    assert not TermsAcceptance.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_event_creation_service_records_the_version_and_refuses_bad_input():
    moment = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    row = terms_acceptance_record(email=" Ada@Example.org ", context="event_creation", now=moment)
    assert (row.email, row.user, row.version.number, row.accepted_at) == ("ada@example.org", None, 1, moment)
    assert (
        terms_acceptance_record(email="a@example.org", version=1, context="event_creation").version.number
        == 1
    )
    for bad in (
        {"email": "", "context": "event_creation"},
        {"email": "a@example.org", "context": "somewhere"},
        {"email": "a@example.org", "context": "signup", "version": 99},
    ):
        with pytest.raises(TermsError):
            terms_acceptance_record(**bad)
    assert TermsAcceptance.objects.count() == 2


def test_a_substantial_change_emails_each_account_holder_once_in_their_language(
    version_two, django_capture_on_commit_callbacks
):
    french = UserFactory(email="fr@example.org", language="fr")
    english = UserFactory(email="en@example.org", language="en")
    UserFactory(email="gone@example.org", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        version = terms_publish(number=2, substantial=True)
    emails = {m.recipient: m for m in OutboxMessage.objects.filter(kind="privacy_terms_changed")}
    assert set(emails) == {french.email, english.email}
    assert emails[french.email].headers["Content-Language"] == "fr"
    assert emails[english.email].headers["Content-Language"] == "en"
    assert "/en/terms/" in emails[english.email].body_text
    assert "/terms/" in emails[french.email].body_text and "/en/" not in emails[french.email].body_text
    assert "version 2" in emails[english.email].body_text
    version.refresh_from_db()
    assert version.notified_at is not None
    # Run again (a retry after a crash): nobody gets a second email.
    assert terms_change_notify(version_id=version.pk) == 0
    assert OutboxMessage.objects.filter(kind="privacy_terms_changed").count() == 2


def test_a_minor_change_emails_nobody(version_two, django_capture_on_commit_callbacks):
    UserFactory(email="fr@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        terms_publish(number=2, substantial=False)
    assert not OutboxMessage.objects.filter(kind="privacy_terms_changed").exists()


def test_retention_keeps_an_account_s_acceptances_and_deletes_others_after_five_years():
    activity = registry.activities["privacy.terms_acceptance"]
    assert activity.retention.period == timedelta(days=5 * 365)
    user = UserFactory()
    start = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        kept = terms_acceptance_record(email=user.email, user=user, context="signup")
        organiser = terms_acceptance_record(email="org@example.org", context="event_creation")
        # An account deleted later: its rows lose their user (on_delete=SET_NULL).
        orphan = terms_acceptance_record(email="former@example.org", user=None, context="signup")
    with time_machine.travel(start + timedelta(days=5 * 365 - 1), tick=False):
        assert activity.retention.apply(now=timezone.now()) == 0
    with time_machine.travel(start + timedelta(days=5 * 365 + 1), tick=False):
        assert activity.retention.apply(now=timezone.now()) == 2
    assert list(TermsAcceptance.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not TermsAcceptance.objects.filter(pk__in=[organiser.pk, orphan.pk]).exists()


def test_production_refuses_the_legal_notice_placeholders():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.production",
        "TESSERA_SECRET_KEY": "x" * 50,
        "TESSERA_DIRECTORY_KEYS": "a" * 44,
    }
    code = "import django; django.setup()"
    root = Path(django_settings.BASE_DIR) if hasattr(django_settings, "BASE_DIR") else Path.cwd()
    refused = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "TESSERA_LEGAL has placeholders" in refused.stderr and "publication_director" in refused.stderr
    filled = {
        f"TESSERA_LEGAL_{name}": "Set"
        for name in (
            "OPERATOR_NAME", "FORM", "ADDRESS", "REGISTRATION", "VAT", "PHONE", "EMAIL", "DIRECTOR",
            "HOST_NAME", "HOST_ADDRESS", "HOST_PHONE",
        )
    }  # fmt: skip
    accepted = subprocess.run(
        [sys.executable, "-c", code], env=env | filled, cwd=root, capture_output=True, text=True
    )
    assert "TESSERA_LEGAL" not in accepted.stderr
