"""Each right a person exercises is one service: received, carried out and logged in one transaction,
so a failure half-way leaves nothing done; bad input changes nothing."""

import pytest
from django.test import Client

from tessera.core.models import SecurityEvent
from tessera.privacy import services
from tessera.privacy.models import ConsentRecord, PostMortemDirective, ProcessingLimit, RightsRequest

from .test_dpo_console import _change
from .test_rights import act, open_portal

pytestmark = pytest.mark.django_db

PORTAL_SERVICES = "tessera.privacy.services.portal."  # where the portal's services look up their steps


@pytest.fixture
def anonymous():
    return Client(enforce_csrf_checks=True, HTTP_SEC_FETCH_SITE="same-origin")


@pytest.fixture
def portal(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    return lambda action, **data: act(anonymous, action, token, html, **data)


def fail(*args, **kwargs):
    raise RuntimeError("a later step failed")


def test_rectification_is_in_the_security_log(portal, user):
    portal("rectify", full_name="Ada Lovelace", details="")
    event = SecurityEvent.objects.get(action="privacy.rectification_done")
    record = RightsRequest.objects.get(kind="rectification")
    assert event.email == user.email
    assert event.data == {"reference": record.reference, "accounts": 1, "to_dpo": False}
    assert "Ada Lovelace" not in str(event.data)  # the log proves the change without the new name


def test_a_failed_rectification_leaves_the_name_unchanged(portal, user, monkeypatch):
    monkeypatch.setattr(PORTAL_SERVICES + "rights_request_close", fail)
    with pytest.raises(RuntimeError):
        portal("rectify", full_name="Someone Else", details="")
    user.refresh_from_db()
    assert user.full_name == "Ada L"
    assert not RightsRequest.objects.filter(kind="rectification").exists()
    assert not SecurityEvent.objects.filter(action="privacy.rectification_done").exists()


def _marketing(user):
    services.consent_record(
        email=user.email, purpose="marketing", text="news", text_version="1", method="checkbox"
    )


@pytest.mark.parametrize(
    ("action", "data", "later_step", "kind"),
    [
        ("withdraw", {}, "rights_request_close", "withdrawal"),
        ("object", {"scope": "marketing"}, "limit_add", "objection"),
        ("directive", {"instruction": "erase"}, "rights_request_close", "post_mortem"),
        ("restrict", {}, "rights_request_restrict", "restriction"),
    ],
)
def test_a_failure_in_a_later_step_leaves_nothing_half_done(
    portal, user, monkeypatch, action, data, later_step, kind
):
    _marketing(user)
    monkeypatch.setattr(PORTAL_SERVICES + later_step, fail)
    with pytest.raises(RuntimeError):
        portal(action, **data)
    assert not RightsRequest.objects.filter(kind=kind).exists()
    assert services.consent_active(email=user.email, purpose=ConsentRecord.Purpose.MARKETING)
    assert not PostMortemDirective.objects.exists()
    assert not ProcessingLimit.objects.exists()
    assert not SecurityEvent.objects.filter(
        action__in=["privacy.request_received", "privacy.consent_withdrawn"]
    ).exists()


def test_an_unknown_action_gets_a_400_and_changes_nothing(anonymous, portal, client, user):
    client.force_login(user)
    requests, events = RightsRequest.objects.count(), SecurityEvent.objects.count()
    response = portal("erase_everyone")
    assert response.status_code == 400
    assert "This action does not exist" in response.content.decode()
    for action in ("export_all", "0"):
        response = client.post(f"/en/privacy/account/act/{action}/")
        assert response.status_code == 400, action
    assert RightsRequest.objects.count() == requests and SecurityEvent.objects.count() == events
    assert type(user).objects.filter(pk=user.pk).exists()


def test_closing_a_request_in_the_console_is_logged_like_a_right_carried_out(staff_client, staff):
    record = services.rights_request_create(email="p@example.org", kind="objection", channel="email")
    assert _change(staff_client, record, status="refused", answer="Compelling grounds").status_code == 302
    record.refresh_from_db()
    assert record.status == "refused" and record.closed_at and record.answer == "Compelling grounds"
    closed = SecurityEvent.objects.get(action="privacy.request_closed")
    assert closed.actor_id == staff.pk
    assert closed.data == {"reference": record.reference, "status": "refused"}
