"""A marketing email is queued only with the RFC 8058 one-click unsubscribe headers."""

import pytest

from tessera.core.models import OutboxMessage
from tessera.core.outbox import MarketingHeadersMissing, email_queue, email_queue_template

pytestmark = pytest.mark.django_db

URL = "https://tessera.example/privacy/unsubscribe/token/"
GOOD = {"List-Unsubscribe": f"<{URL}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _queue(headers):
    return email_queue(
        to="news@example.org", subject="News", body_text="b", kind="marketing", headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        {"List-Unsubscribe": f"<{URL}>"},
        {
            "List-Unsubscribe": "<mailto:leave@tessera.example>",
            "List-Unsubscribe-Post": GOOD["List-Unsubscribe-Post"],
        },
        {"List-Unsubscribe": f"<{URL}>", "List-Unsubscribe-Post": "List-Unsubscribe=Yes"},
    ],
)
def test_a_marketing_email_without_the_one_click_headers_is_refused_and_nothing_is_stored(headers):
    with pytest.raises(MarketingHeadersMissing):
        _queue(headers)
    assert not OutboxMessage.objects.exists()


def test_the_template_path_is_checked_too():
    with pytest.raises(MarketingHeadersMissing):
        email_queue_template(
            to="news@example.org",
            template="privacy/email/policy_changed",
            context={"version": {"number": 1}},
            kind="marketing",
        )
    assert not OutboxMessage.objects.exists()


def test_a_marketing_email_with_both_headers_is_queued_with_them():
    mailto_and_https = {**GOOD, "List-Unsubscribe": f"<mailto:leave@tessera.example>, <{URL}>"}
    for headers in (GOOD, mailto_and_https):
        message = _queue(headers)
        assert message.headers == headers and message.status == OutboxMessage.Status.PENDING


def test_other_kinds_need_no_unsubscribe_header():
    message = email_queue(to="a@example.org", subject="Invitation", body_text="b", kind="invitation")
    assert message.headers == {}
