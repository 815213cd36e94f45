"""The back-office under the strict CSP, in a real browser: nothing blocked, the email's HTML sandboxed."""

import pytest
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client

from tessera.core.outbox import email_queue

pytestmark = pytest.mark.e2e


@pytest.fixture
def staff_page(server, page, staff_user):
    client = Client()
    client.force_login(staff_user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": server.url}])
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.violations = violations
    return page


def test_email_html_is_shown_sandboxed_with_its_styles_and_without_its_script(server, staff_page, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    layout = render_to_string(
        "core/email/text_as_html.html",
        {"subject": "Styled", "body_text": "Hello", "operator": settings.TESSERA_OPERATOR},
    )
    with transaction.atomic():
        message = email_queue(
            to="guest@example.org",
            subject="Styled",
            body_text="Hello",
            body_html=layout.replace("</body>", "<script>document.title = 'owned'</script></body>"),
            kind="test",
        )
    page = staff_page
    page.goto(f"{server.url}/admin/core/outboxmessage/{message.pk}/change/")
    assert page.locator("h1").count() == 1
    frame = page.frame_locator("iframe[sandbox]")
    assert frame.get_by_text("Hello").inner_text() == "Hello"
    # The layout's inline styles apply (allowed by hash), its script does not run.
    background = frame.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(244, 245, 248)"
    assert frame.locator("body").evaluate("() => document.title") == "Styled"
    assert page.title() != "owned"
    # The only refusal is the email's own script, inside the frame.
    assert all("script" in v.lower() for v in page.violations), page.violations

    page.goto(f"{server.url}/admin/core/outboxmessage/")
    assert page.get_by_text("Styled").count() == 1
    page.goto(f"{server.url}/admin/core/securityevent/")
    assert page.locator("#result_list").count() == 1
    assert all("script" in v.lower() for v in page.violations), page.violations
