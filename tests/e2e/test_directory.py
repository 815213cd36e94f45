"""An administrator connects Entra ID in a real browser, reviews a dry run, confirms, and watches the sync.

The Microsoft fake stands for the identity platform and Graph (the browser accepts its self-signed
certificate). The task queue is held while the confirmed sync is queued, so the page shows a queued run;
the test then runs the task itself, page by page, while the page's script polls the run's status.
"""

import re

import pytest
from huey.contrib.djhuey import HUEY

from tessera.directory.models import SyncRun
from tessera.directory.services import sync
from tests.directory.conftest import fake_microsoft  # noqa: F401 (the fixture)
from tests.directory.test_pages import entra_people
from tests.factories import OrganisationFactory, UserFactory

PASSWORD = "a-long-test-password"


@pytest.fixture
def held_queue():
    """Tasks wait in the queue until the test runs them: the page sees a queued, then a running sync."""
    HUEY.immediate = False
    yield HUEY
    HUEY.immediate = True


def _sign_in(page, server, email):
    page.goto(server.url + "/en/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))


def test_connect_dry_run_confirm_and_follow_the_sync(server, browser, fake_microsoft, held_queue, settings):  # noqa: F811
    # The page lets its forms lead to the authority host; the fake's consent page is its plain-HTTP side.
    policy = settings.CONTENT_SECURITY_POLICY
    directives = {
        **policy["DIRECTIVES"],
        "form-action": [*policy["DIRECTIVES"]["form-action"], fake_microsoft.url],
    }
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
    admin = UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")
    org = OrganisationFactory(owner=admin, name="Alpha")
    entra_people(fake_microsoft)
    fake_microsoft.add_users(8, department="Sales")
    fake_microsoft.page_size = 3  # several pages: the bar moves between them
    problems: list = []
    context = browser.new_context(
        ignore_https_errors=True, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        _sign_in(page, server, "alice@alpha.example")
        page.goto(f"{server.url}/en/cards/org/{org.slug}/directory/")

        # Admin consent at the (fake) Microsoft identity platform, and back to the page.
        page.click("#microsoft button:has-text('Connect with admin consent')")
        page.wait_for_url(re.compile(r".*/directory/#microsoft-settings$"))
        assert "Microsoft Entra ID Contoso is connected" in page.inner_text("body")
        assert "Contoso" in page.inner_text("[data-testid=microsoft-facts]")

        # The dry run is queued; the page follows it, then shows who would be created.
        page.click("#microsoft-sync button:has-text('Dry run')")
        page.wait_for_url(re.compile(r".*/microsoft/dry-run/\d+/$"))
        run = SyncRun.objects.get(kind=SyncRun.Kind.DRY_RUN)
        held_queue.execute(held_queue.dequeue())
        page.wait_for_selector("[data-testid=plan-create]")  # the script reloaded the finished dry run
        created = page.inner_text("[data-testid=plan-create]")
        assert "Alice Martin" in created and "Bruno Petit" in created
        run.refresh_from_db()
        assert run.status == SyncRun.Status.PLANNED

        # Confirmed: a full sync is queued and the page shows its bar.
        page.click("button:has-text('Confirm and sync')")
        page.wait_for_selector("[data-testid=run-progress][data-active=true]")
        full = SyncRun.objects.get(kind=SyncRun.Kind.FULL)
        task = held_queue.dequeue()
        assert task is not None

        # The test runs the task; after the second page of people, the browser's bar must show it running.
        watched = []

        def after_page(current, resource, pages):
            if resource == "users" and pages == 2:
                page.wait_for_function(
                    "() => document.querySelector('[data-testid=run-progress]').dataset.status === 'running'"
                )
                watched.append(page.inner_text("[data-testid=run-progress]"))

        sync.sync_run(run_id=full.pk, after_page=after_page)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=run-progress] progress').value === 100"
        )
        assert "100 %" in page.inner_text("[data-testid=run-progress]")
        assert len(watched) == 1 and "Running" in watched[0], watched

        # The results were swapped in: the last sync's counts and the per-person error.
        page.wait_for_selector("[data-testid=last-counts]")
        counts = page.inner_text("[data-testid=last-counts]")
        full.refresh_from_db()
        assert full.status == SyncRun.Status.DONE and full.created >= 10
        assert f"{full.created}\ncreated" in counts or f"{full.created} created" in counts
        problem_rows = page.inner_text("[data-testid=problems]")
        assert "Chloé Durand" in problem_rows or "chloe" in problem_rows.lower()
        page.add_script_tag(url="/static/tessera/vendor/axe-core/axe.min.js")
        result = page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]] == []
        assert problems == []
    finally:
        context.close()
