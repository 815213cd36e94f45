import re
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.core.outbox import email_queue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HOSTILE_HTML = (
    '<p style="color: #3730a3">Hello <b>there</b></p>'
    "<script>alert(document.cookie)</script>"
    '<img src="https://tracker.example/pixel.gif">'
)


def queue(**kwargs) -> OutboxMessage:
    with transaction.atomic():
        return email_queue(kind="test", **kwargs)


def assert_csp_clean(response):
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert "<style" not in html
    assert " style=" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@pytest.fixture
def local_outbox(settings, tmp_path):
    """`make run` without EMAIL_URL: delivered emails are written as files."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    return tmp_path


@pytest.fixture
def invitation(local_outbox) -> OutboxMessage:
    return queue(
        to="guest@example.org",
        subject="You are invited",
        body_text="Join us <soon> & bring a friend.",
        body_html=HOSTILE_HTML,
        attachments=(("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar"),),
    )


def test_local_outbox_emails_show_as_sent_and_readable_in_the_back_office(
    staff_client, invitation, local_outbox
):
    invitation.refresh_from_db()
    assert invitation.status == OutboxMessage.Status.SENT
    (written,) = local_outbox.iterdir()
    assert (
        message_from_bytes(written.read_bytes(), policy=policy.default)["Message-ID"] == invitation.message_id
    )

    changelist = staff_client.get(reverse("admin:core_outboxmessage_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    for shown in ["You are invited", "guest@example.org", "test"]:
        assert shown in page
    assert_csp_clean(changelist)

    change = staff_client.get(reverse("admin:core_outboxmessage_change", args=[invitation.pk]))
    assert change.status_code == 200
    page = change.content.decode()
    assert "Join us &lt;soon&gt; &amp; bring a friend." in page
    assert "alert(document.cookie)" not in page
    html_url = reverse("admin:core_outboxmessage_html", args=[invitation.pk])
    assert f'<iframe sandbox="" src="{html_url}"' in page
    assert "invite.ics" in page
    assert_csp_clean(change)


def test_html_version_is_served_sandboxed_without_script_or_remote_content(staff_client, invitation):
    response = staff_client.get(reverse("admin:core_outboxmessage_html", args=[invitation.pk]))
    assert response.status_code == 200
    assert response.content.decode() == HOSTILE_HTML
    directives = {
        name: value
        for name, _, value in (
            part.strip().partition(" ") for part in response["Content-Security-Policy"].split(";")
        )
    }
    assert "sandbox" in directives and directives["sandbox"] == ""
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'none'"
    assert directives["img-src"] == "data:"
    assert directives["frame-ancestors"] == "'self'"
    # The email's own inline style is allowed by its hash, not by 'unsafe-inline'.
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "'sha256-" in directives["style-src"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_attachment_downloads_as_a_file(staff_client, invitation):
    attachment = invitation.attachments.get()
    response = staff_client.get(
        reverse("admin:core_outboxmessage_attachment", args=[invitation.pk, attachment.pk])
    )
    assert response.status_code == 200
    assert response.content == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"


def test_email_views_need_staff(client, invitation, django_user_model):
    url = reverse("admin:core_outboxmessage_html", args=[invitation.pk])
    assert client.get(url).status_code == 302  # to the sign-in page
    user = UserFactory(email="someone@example.org")
    client.force_login(user)
    assert client.get(url).status_code == 302


def test_staff_cannot_add_edit_or_delete_emails(staff_client, invitation):
    assert staff_client.get(reverse("admin:core_outboxmessage_add")).status_code == 403
    change_url = reverse("admin:core_outboxmessage_change", args=[invitation.pk])
    assert b'name="body_text"' not in staff_client.get(change_url).content
    response = staff_client.post(change_url, {"subject": "Changed", "body_text": "Changed"})
    assert response.status_code == 403
    assert (
        staff_client.get(reverse("admin:core_outboxmessage_delete", args=[invitation.pk])).status_code == 403
    )
    invitation.refresh_from_db()
    assert (invitation.subject, invitation.body_text) == (
        "You are invited",
        "Join us <soon> & bring a friend.",
    )


def test_retry_now_delivers_a_rejected_email_and_is_recorded(staff_client, staff_user, relay):
    relay.rcpt = {"typo@": "550 5.1.1 No such user"}
    relay.start()
    message = queue(to="typo@example.org", subject="Retry me", body_text="x")
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.REJECTED

    relay.rcpt.clear()
    response = staff_client.post(
        reverse("admin:core_outboxmessage_changelist"),
        {"action": "retry_now", "_selected_action": [str(message.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert relay.message_ids() == [message.message_id]
    event = SecurityEvent.objects.get(action="admin.change")
    assert event.actor_id == staff_user.pk
    assert event.data["model"] == "core.outboxmessage"
    assert event.data["object_id"] == str(message.pk)


def test_retry_now_needs_the_change_permission(client, django_user_model, invitation):
    from allauth.mfa.models import Authenticator

    viewer = UserFactory(email="viewer@example.org", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    Authenticator.objects.create(user=viewer, type=Authenticator.Type.TOTP, data={})
    client.force_login(viewer)
    page = client.get(reverse("admin:core_outboxmessage_changelist"))
    assert page.status_code == 200
    assert b"retry_now" not in page.content


def test_security_log_is_read_only_even_for_superusers(staff_client):
    event = SecurityEvent.objects.get(action="auth.login")  # the staff member signing in
    assert staff_client.get(reverse("admin:core_securityevent_add")).status_code == 403
    change_url = reverse("admin:core_securityevent_change", args=[event.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert b'name="action"' not in page.content
    assert_csp_clean(page)
    assert staff_client.post(change_url, {"action": "forged"}).status_code == 403
    assert staff_client.get(reverse("admin:core_securityevent_delete", args=[event.pk])).status_code == 403
    changelist = staff_client.get(reverse("admin:core_securityevent_changelist"))
    assert b"delete_selected" not in changelist.content
    assert_csp_clean(changelist)
    assert SecurityEvent.objects.get(pk=event.pk).action == "auth.login"


def test_security_log_is_searchable_and_filterable(staff_client):
    from tessera.core.audit import security_event_record

    security_event_record(action="auth.login_failed", email="alice@example.org")
    security_event_record(action="auth.login_failed", email="bob@example.org")
    url = reverse("admin:core_securityevent_changelist")

    def listed(**query) -> set[str]:
        page = staff_client.get(url, query)
        assert page.status_code == 200
        results = page.content.decode().partition('id="result_list"')[2].partition("</table>")[0]
        return set(re.findall(r"[a-z]+@example\.org", results))

    assert listed(q="alice@") == {"alice@example.org"}
    assert listed(q="login_failed") == {"alice@example.org", "bob@example.org"}
    assert listed(action="auth.login") == {"staff@example.org"}
    today = timezone.localdate()
    for day, expected in [
        (today, {"alice@example.org", "bob@example.org", "staff@example.org"}),
        (today - timedelta(days=3), set()),
    ]:
        since = timezone.make_aware(datetime.combine(day, time()))
        until = since + timedelta(days=1)
        assert listed(created_at__gte=str(since), created_at__lt=str(until)) == expected


def test_staff_actions_in_the_back_office_are_recorded_in_the_security_log(staff_client, staff_user):
    add = staff_client.post(reverse("admin:auth_group_add"), {"name": "Support"})
    assert add.status_code == 302
    group = Group.objects.get(name="Support")
    change = staff_client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "Support team"})
    assert change.status_code == 302
    delete = staff_client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})
    assert delete.status_code == 302

    events = SecurityEvent.objects.filter(action__startswith="admin.").order_by("seq")
    assert [(e.action, e.data["model"], e.data["object_id"]) for e in events] == [
        ("admin.add", "auth.group", str(group.pk)),
        ("admin.change", "auth.group", str(group.pk)),
        ("admin.delete", "auth.group", str(group.pk)),
    ]
    assert {e.actor_id for e in events} == {staff_user.pk}
    assert {e.email for e in events} == {"staff@example.org"}


def test_deleting_several_objects_at_once_records_each(staff_client):
    groups = [Group.objects.create(name=f"Group {i}") for i in range(3)]
    response = staff_client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [str(g.pk) for g in groups[:2]], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Group.objects.all()) == [groups[2]]
    deleted = SecurityEvent.objects.filter(action="admin.delete")
    assert sorted(e.data["object_id"] for e in deleted) == sorted(str(g.pk) for g in groups[:2])

    # One object through the same action is recorded once, not twice.
    staff_client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [str(groups[2].pk)], "post": "yes"},
    )
    assert SecurityEvent.objects.filter(action="admin.delete").count() == 3


def test_asking_to_delete_several_objects_records_nothing_until_confirmed(staff_client):
    groups = [Group.objects.create(name=f"Group {i}") for i in range(2)]
    confirm = staff_client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [str(g.pk) for g in groups]},
    )
    assert confirm.status_code == 200
    assert Group.objects.count() == 2
    assert not SecurityEvent.objects.filter(action="admin.delete").exists()
