import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from tessera.core.models import OutboxMessage
from tessera.privacy.models import PolicyVersion
from tessera.privacy.policy import cookie_table, policy_publish
from tessera.privacy.register import Activity, LegalBasis, Retention, registry

pytestmark = pytest.mark.django_db


def test_policy_is_served_in_french_and_english_without_a_cookie(client, settings):
    settings.TESSERA_OPERATOR = {
        **settings.TESSERA_OPERATOR,
        "name": "Acme Visio",
        "dpo_email": "dpo@acme.test",
    }
    french = client.get("/privacy/")
    english = client.get("/en/privacy/")
    assert french.status_code == english.status_code == 200
    assert not french.cookies and not english.cookies
    assert 'lang="fr"' in french.content.decode() and 'lang="en"' in english.content.decode()
    html = english.content.decode()
    assert "Acme Visio" in html and "dpo@acme.test" in html
    assert client.get("/privacy").status_code == 301


def test_policy_holds_every_required_section(client):
    html = client.get("/en/privacy/").content.decode()
    for anchor in [
        "controller",
        "data",
        "purposes",
        "recipients",
        "retention-table",
        "security",
        "rights",
        "cookie-table",
        "transfers",
        "minors",
        "communications",
        "changes",
        "policy-version",
    ]:
        assert f'id="{anchor}"' in html, anchor
    for right in [
        "access",
        "portability",
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "withdrawal",
        "post_mortem",
    ]:
        assert f'id="right-{right}"' in html
    assert "16" in html and "end to end" in html
    assert "<style" not in html and " style=" not in html and "<script>" not in html


def test_policy_lists_every_activity_with_its_basis_and_retention(client):
    html = client.get("/en/privacy/").content.decode()
    for activity in registry.activities.values():
        assert str(activity.title) in html
        assert str(activity.retention.description).split("'")[0][:40] in html
    assert str(LegalBasis.labels[LegalBasis.CONSENT]) in html


def test_cookie_table_is_generated_from_the_settings(settings):
    assert [c["name"] for c in cookie_table()] == [settings.SESSION_COOKIE_NAME]
    settings.SESSION_COOKIE_NAME = "other_session"
    settings.CSRF_USE_SESSIONS = False
    names = [c["name"] for c in cookie_table()]
    assert names == ["other_session", settings.CSRF_COOKIE_NAME]


def test_policy_shows_the_cookie_the_code_sets(client, settings):
    html = client.get("/en/privacy/").content.decode()
    assert f"<code>{settings.SESSION_COOKIE_NAME}</code>" in html


def test_register_json_has_the_fields_of_the_cnil_template(client):
    response = client.get("/privacy/register.json")
    assert not response.cookies
    data = json.loads(response.content)
    assert data["controller"]["name"] and data["dpo"]["email"]
    assert data["version"] == PolicyVersion.objects.order_by("-number").first().number
    row = next(a for a in data["activities"] if a["id"] == "core.security_log")
    for key in [
        "name",
        "purpose",
        "legal_basis",
        "data_subjects",
        "data_categories",
        "sensitive_data",
        "recipients",
        "sub_processors",
        "transfers_outside_eea",
        "retention",
        "security_measures",
        "fields",
    ]:
        assert key in row, key
    assert row["fields"]["core.SecurityEvent"]


def test_register_csv_has_one_row_per_activity(client):
    response = client.get("/en/privacy/register.csv")
    assert response["Content-Type"].startswith("text/csv") and not response.cookies
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Reference", "Name of the processing", "Record created", "Last update"]
    assert "Retention periods" in rows[0] and "Transfers outside the EU: country" in rows[0]
    assert {r[0] for r in rows[1:]} == set(registry.activities)


@pytest.fixture
def extra_activity():
    activity = Activity(
        name="demo.newsletter_analytics",
        title="Newsletter statistics",
        purpose="Count openings",
        legal_basis=LegalBasis.CONSENT,
        data_subjects=("Subscribers",),
        data_categories=("Email address",),
        fields={"accounts.User": ["email"]},
        recipients=("Staff",),
        retention=Retention(description="1 year", period=timedelta(days=365)),
        security_measures=("TLS",),
    )
    yield activity
    registry.activities.pop(activity.name, None)


def test_publishing_twice_the_same_register_keeps_the_version():
    first = policy_publish()
    assert policy_publish().pk == first.pk


def test_a_substantial_change_bumps_the_version_and_emails_account_holders(
    user, extra_activity, django_capture_on_commit_callbacks
):
    inactive = get_user_model().objects.create_user("gone@example.org", "x", is_active=False)
    base = policy_publish()
    registry.activities[extra_activity.name] = extra_activity
    with django_capture_on_commit_callbacks(execute=True):  # the emails are queued by a task
        changed = policy_publish()
    changed.refresh_from_db()
    assert changed.number == base.number + 1
    assert changed.substantial and changed.notified_at
    sent = OutboxMessage.objects.filter(kind="privacy_policy_changed")
    assert set(sent.values_list("recipient", flat=True)) == {user.email}
    assert inactive.email not in sent.values_list("recipient", flat=True)
    assert "Newsletter statistics" in changed.register["activities"][-1]["name"]


def test_a_change_of_wording_only_is_a_new_version_without_email(user, settings):
    base = policy_publish()
    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "address": "1 new street"}
    changed = policy_publish()
    assert changed.number == base.number + 1
    assert not changed.substantial
    assert not OutboxMessage.objects.filter(kind="privacy_policy_changed").exists()


def test_policy_page_shows_the_current_version(client, settings):
    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "address": "2 other street"}
    version = policy_publish()
    html = client.get("/en/privacy/").content.decode()
    assert f"Version {version.number}," in html


def test_the_version_is_published_by_the_migrate_handler():
    assert PolicyVersion.objects.exists()
