import csv
import io
import json
from datetime import timedelta

import pytest

from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy.models import PolicyVersion
from tessera.privacy.policy import cookie_table, policy_publish
from tessera.privacy.register import LegalBasis, registry
from tests.factories import UserFactory

from .conftest import demo_activity

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


def test_register_csv_neutralises_a_formula_in_the_operator_settings(client, settings):
    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "name": ' =HYPERLINK("http://x.example")'}
    rows = list(csv.DictReader(io.StringIO(client.get("/en/privacy/register.csv").content.decode())))
    controllers = {row["Controller"] for row in rows}
    assert controllers and all(c.startswith("' =HYPERLINK") for c in controllers)


@pytest.fixture
def extra_activity():
    activity = demo_activity("demo.newsletter_analytics")
    yield activity
    registry.activities.pop(activity.name, None)


def test_publishing_twice_the_same_register_keeps_the_version():
    first = policy_publish()
    assert policy_publish().pk == first.pk


def test_a_substantial_change_bumps_the_version_and_emails_account_holders(
    user, extra_activity, django_capture_on_commit_callbacks
):
    inactive = UserFactory(email="gone@example.org", is_active=False)
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


# --- Durable policy-change emails -----------------------------------------------------------------


def _account_holders(count):
    return [UserFactory(email=f"holder{i}@example.org") for i in range(count)]


def test_a_notification_interrupted_by_a_crash_resumes_and_everybody_gets_exactly_one_email(
    extra_activity, monkeypatch, django_capture_on_commit_callbacks
):
    # The emails and their batch size belong to the publishing module: patched there.
    from tessera.privacy.policy import publishing as policy

    holders = _account_holders(8)
    policy_publish()
    registry.activities[extra_activity.name] = extra_activity
    monkeypatch.setattr(policy, "NOTIFY_BATCH", 3)
    real_queue, calls = policy.email_queue_template, []

    def crashing_queue(**kwargs):
        calls.append(kwargs["to"])
        if len(calls) == 5:  # the worker dies in the middle of the second batch
            raise RuntimeError("worker killed")
        return real_queue(**kwargs)

    monkeypatch.setattr(policy, "email_queue_template", crashing_queue)
    with django_capture_on_commit_callbacks(execute=True):
        version = policy_publish()
    version.refresh_from_db()
    sent = OutboxMessage.objects.filter(kind="privacy_policy_changed")
    assert sent.count() == 3 and version.notified_at is None  # the first batch only, committed whole
    assert version.notified_through_user_id == holders[2].pk

    monkeypatch.setattr(policy, "email_queue_template", real_queue)
    with django_capture_on_commit_callbacks(execute=True):
        assert policy_publish().pk == version.pk  # same register: resumes instead of returning early
    version.refresh_from_db()
    assert version.notified_at is not None
    recipients = list(sent.values_list("recipient", flat=True))
    assert sorted(recipients) == sorted(h.email for h in holders)  # each exactly once
    with django_capture_on_commit_callbacks(execute=True):
        policy_publish()
    assert sent.count() == len(holders)
    logged = SecurityEvent.objects.get(action="privacy.policy_changed")
    assert logged.data == {"version": version.number, "notified": 5, "resumed": True}


def test_the_hourly_resume_finishes_an_unfinished_notification(extra_activity):
    from tessera.privacy import tasks

    holders = _account_holders(3)
    policy_publish()
    registry.activities[extra_activity.name] = extra_activity
    version = policy_publish()  # no commit in this test: the enqueue never happened (queue down)
    assert not OutboxMessage.objects.filter(kind="privacy_policy_changed").exists()
    assert tasks.privacy_policy_notifications_resume.call_local() == len(holders)
    version.refresh_from_db()
    assert version.notified_at and tasks.privacy_policy_notifications_resume.call_local() == 0


def test_migrate_only_publishes_the_version_and_enqueues_the_emails(
    user, extra_activity, django_capture_on_commit_callbacks
):
    from huey.contrib.djhuey import HUEY

    from tessera.privacy.apps import _publish_policy

    policy_publish()
    registry.activities[extra_activity.name] = extra_activity
    HUEY.immediate = False  # a real queue: the task waits for a worker
    try:
        HUEY.flush()
        with django_capture_on_commit_callbacks(execute=True):
            _publish_policy(sender=None, using="default")
        version = PolicyVersion.objects.order_by("-number").first()
        assert version.substantial and version.notified_at is None
        assert not OutboxMessage.objects.filter(kind="privacy_policy_changed").exists()
        assert HUEY.pending_count() == 1
        task = HUEY.dequeue()
    finally:
        HUEY.flush()
        HUEY.immediate = True
    # The worker runs it (immediate again, so that it keeps the test's database connection open).
    HUEY.execute(task)
    version.refresh_from_db()
    assert version.notified_at
    assert OutboxMessage.objects.get(kind="privacy_policy_changed").recipient == user.email


def test_account_holders_who_joined_after_the_change_are_not_emailed_about_it(extra_activity):
    import time_machine
    from django.utils import timezone

    from tessera.privacy.policy import policy_change_notify

    policy_publish()
    registry.activities[extra_activity.name] = extra_activity
    version = policy_publish(notify=False)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        _account_holders(1)
    assert policy_change_notify(version_id=version.pk) == 0


# --- The Art. 30 register, with the CNIL template's fields ----------------------------------------

CNIL_COLUMNS = [
    "Reference",
    "Name of the processing",
    "Record created",
    "Last update",
    "Controller",
    "Representative",
    "Joint controller",
    "Data protection officer",
    "Purpose(s) of the processing",
    "Legal basis",
    "Categories of data subjects",
    "Categories of personal data",
    "Retention period of each category of data",
    "Sensitive data",
    "Categories of recipients",
    "Processors",
    "Transfers outside the EU: recipient",
    "Transfers outside the EU: country",
    "Transfers outside the EU: safeguards",
    "Retention periods",
    "Technical and organisational security measures",
]


def test_every_column_of_the_cnil_template_is_present_and_filled(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/en/privacy/register.csv").content.decode())))
    assert rows and list(rows[0]) == CNIL_COLUMNS
    for row in rows:
        for column in CNIL_COLUMNS:
            assert row[column].strip(), (row["Reference"], column)
    social = next(r for r in rows if r["Reference"] == "accounts.social_sign_in")
    assert social["Transfers outside the EU: country"] == "United States"
    assert "Data Privacy Framework" in social["Transfers outside the EU: safeguards"]
    assert (
        "OAuth tokens: Deleted once no longer needed" in social["Retention period of each category of data"]
    )
    data = json.loads(client.get("/privacy/register.json").content)
    for activity in data["activities"]:
        for key in ["created", "updated", "joint_controller", "category_retention", "transfers"]:
            assert key in activity, key
        assert {c["category"] for c in activity["category_retention"]} == set(activity["data_categories"])
        assert all(c["retention"] for c in activity["category_retention"])
    assert "representative" in data


def test_the_representative_and_a_joint_controller_come_from_the_declarations(
    client, settings, extra_activity
):
    from dataclasses import replace

    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "representative": "EU Rep Ltd, Dublin"}
    registry.activities[extra_activity.name] = replace(extra_activity, joint_controller="Partner SAS")
    rows = list(csv.DictReader(io.StringIO(client.get("/en/privacy/register.csv").content.decode())))
    assert {r["Representative"] for r in rows} == {"EU Rep Ltd, Dublin"}
    assert next(r for r in rows if r["Reference"] == extra_activity.name)["Joint controller"] == "Partner SAS"
    assert json.loads(client.get("/privacy/register.json").content)["representative"] == "EU Rep Ltd, Dublin"


def test_each_record_has_its_creation_and_last_update_dates_from_the_published_versions(
    client, extra_activity
):
    from dataclasses import replace

    import time_machine
    from django.utils import timezone

    first = policy_publish().published_at.date()
    later, latest = timezone.now() + timedelta(days=10), timezone.now() + timedelta(days=20)
    with time_machine.travel(later, tick=False):
        registry.activities[extra_activity.name] = extra_activity
        policy_publish(notify=False)
    with time_machine.travel(latest, tick=False):
        registry.activities[extra_activity.name] = replace(extra_activity, purpose="Count openings, by day")
        policy_publish(notify=False)
    rows = {a["id"]: a for a in json.loads(client.get("/privacy/register.json").content)["activities"]}
    assert rows[extra_activity.name]["created"] == later.date().isoformat()
    assert rows[extra_activity.name]["updated"] == latest.date().isoformat()
    assert rows["core.security_log"]["created"] == rows["core.security_log"]["updated"] == first.isoformat()


def test_the_policy_says_what_a_restriction_does_across_the_product(client):
    html = client.get("/en/privacy/").content.decode()
    right = html.split('id="right-restriction"', 1)[1].split("</tr>", 1)[0]
    for effect in [
        "no email except our answers to your rights requests",
        "your public card is hidden",
        "accept no new contact exchange",
        "no longer forwarded to your organisation",
        "no statistics are counted",
    ]:
        assert effect in right, effect


def test_the_policy_says_when_we_act_as_a_processor_for_a_customer_company(client):
    html = client.get("/en/privacy/").content.decode()
    controller = html.split('id="controller"', 1)[1].split("</section>", 1)[0]
    assert "we may act as its processor" in controller
    assert "we then act as its processor" in str(registry.activities["cards.profile"].legal_basis_detail)
    assert "we then act as its processor" in html


def test_the_policy_names_the_right_to_complain_and_the_other_recipients(client, settings):
    settings.TESSERA_OPERATOR = {**settings.TESSERA_OPERATOR, "supervisory_authority": "CNIL"}
    html = client.get("/en/privacy/").content.decode()
    rights = html.split('id="rights"', 1)[1].split("</section>", 1)[0]
    assert "You may lodge a complaint with the supervisory authority (CNIL, www.cnil.fr)" in rights
    recipients = html.split('id="recipients"', 1)[1].split("</section>", 1)[0]
    assert "professional advisers" in recipients and "public authorities" in recipients
    assert 'id="sub-processors"' in recipients
