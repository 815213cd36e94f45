"""The push page, as an administrator uses it: set-up facts, choose who, follow the run, cancel; others get 404."""

import re

import pytest
from django.urls import reverse

from tessera.signatures.models import PushRun
from tests.factories import PASSWORD
from tests.signatures.gmail_support import fake_gmail  # noqa: F401
from tests.signatures.push_support import member_add, statuses, workspace  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(workspace):  # noqa: F811
    return workspace


@pytest.fixture
def admin_client(client, space):
    member_add(space, "bob@example.org", department="Sales")
    member_add(space, "eve@elsewhere.example", in_google=False, department="Sales")
    assert client.login(email=space.admin.email, password=PASSWORD)
    return client


def url(space, name, **kwargs):
    return reverse(f"signatures:{name}", kwargs={"org_slug": space.organisation.slug, **kwargs})


def test_the_page_says_what_to_grant_in_the_admin_console(admin_client, space):
    page = admin_client.get(url(space, "push")).content.decode()
    assert space.fake.key["client_id"] in page
    assert "https://www.googleapis.com/auth/gmail.settings.basic" in page
    assert "Only addresses in example.org are pushed" in page
    assert "<script>" not in page  # no inline script on the page


def test_a_department_is_pushed_and_followed_to_the_end(
    admin_client,
    space,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(space, "push"), {"who": "department", "department": "Sales"})
    run = PushRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url(space, "push_run", pk=run.pk)
    assert statuses(run) == {"bob@example.org": "updated", "eve@elsewhere.example": "skipped"}
    status = admin_client.get(url(space, "push_status", pk=run.pk)).json()
    assert status["active"] is False and status["percent"] == 100 and status["counts"]["updated"] == 1
    assert status["figures"] == "2 of 2 members: 1 updated, 0 unchanged, 1 skipped, 0 failed"
    page = admin_client.get(url(space, "push_run", pk=run.pk)).content.decode()
    assert 'type="module" src="/static/tessera/js/signatures/push.js"' in page
    assert re.search(
        r"eve@elsewhere\.example</td><td>Skipped</td><td>The address eve@elsewhere\.example", page
    )
    assert 'value="100"' in page and "Cancel the push" not in page


def test_a_refused_push_says_why_and_starts_nothing(admin_client, space):
    space.fake.delegate(space.fake.key["client_id"], scopes=[])
    response = admin_client.post(url(space, "push"), {"who": "members"})
    assert response.status_code == 400 and "Choose at least one member." in response.content.decode()
    space.fake.unassign_roles("ada@example.org")
    space.clock.shift(__import__("datetime").timedelta(minutes=11))
    response = admin_client.post(url(space, "push"), {"who": "everyone"})
    assert response.status_code == 400
    assert "not a Google Workspace administrator" in response.content.decode()
    assert not PushRun.objects.exists()


def test_a_queued_push_is_cancelled_from_its_page(
    admin_client,
    space,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(url(space, "push"), {"who": "everyone"})
    run = PushRun.objects.get()
    assert "Cancel the push" in admin_client.get(url(space, "push_run", pk=run.pk)).content.decode()
    response = admin_client.post(url(space, "push_cancel", pk=run.pk))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == PushRun.Status.CANCELLED and not space.fake.calls("PATCH")


def test_members_and_strangers_get_404_and_change_nothing(
    client,
    space,
    django_capture_on_commit_callbacks,
):
    bob = member_add(space, "bob@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        from tessera.signatures.services.push import signature_push_request

        run = signature_push_request(organisation=space.organisation, actor=space.admin, everyone=True)
    assert client.login(email=bob.email, password=PASSWORD)
    for name, kwargs in [("push", {}), ("push_run", {"pk": run.pk}), ("push_status", {"pk": run.pk})]:
        assert client.get(url(space, name, **kwargs)).status_code == 404
    assert client.post(url(space, "push"), {"who": "everyone"}).status_code == 404
    assert client.post(url(space, "push_cancel", pk=run.pk)).status_code == 404
    client.logout()
    assert client.get(url(space, "push_status", pk=run.pk)).status_code == 302  # to sign in
    run.refresh_from_db()
    assert run.status == PushRun.Status.QUEUED and PushRun.objects.count() == 1


def test_a_run_says_who_it_pushed_to_in_the_reader_s_language():
    from django.utils import translation

    from tessera.signatures.push_models import PushRun

    with translation.override("fr"):
        assert PushRun(label="everyone").who == "tout le monde"
        assert PushRun(label="department Sales").who == "service Sales"
    with translation.override("en"):
        assert PushRun(label="department Sales").who == "department Sales"
