"""Directives after death, carried out: the person named reports the death through the rights portal,
staff verify it in the DPO console, and the directive is executed (communicate, erase or keep)."""

import io
import json
import re
import zipfile

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from tessera.core import sealing
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy import services
from tessera.privacy.models import ConsentRecord, DirectiveExport, PostMortemDirective, RightsRequest
from tests.factories import UserFactory

from .test_rights import act, emails_to, form_token, open_portal

pytestmark = pytest.mark.django_db

DESIGNEE = "dan@example.net"


@pytest.fixture
def anonymous():
    return Client(enforce_csrf_checks=True, HTTP_SEC_FETCH_SITE="same-origin")


@pytest.fixture
def author(user, anonymous):
    """Ada records her directive herself, in the portal, naming Dan."""
    services.consent_record(
        email=user.email, purpose="marketing", text="News", text_version="1", method="checkbox"
    )

    def record(instruction):
        _path, token, html = open_portal(anonymous, user.email)
        response = act(
            anonymous,
            "directive",
            token,
            html,
            instruction=instruction,
            trusted_person_name="Dan Designee",
            trusted_person_email=DESIGNEE,
        )
        assert response.status_code == 200
        return PostMortemDirective.objects.get(email=user.email, revoked_at__isnull=True)

    return record


def report_death(client, deceased_email, details="Died on 2 March 2026; certificate 2026-123"):
    """Dan proves control of his address through the portal, then reports the death."""
    _path, token, html = open_portal(client, DESIGNEE)
    assert "Report a death" in html
    return act(client, "death_notice", token, html, deceased_email=deceased_email, details=details)


def console_verify(staff_client, record):
    return staff_client.post(
        "/en/admin/privacy/rightsrequest/",
        {"action": "carry_out_directive", "_selected_action": [record.pk]},
        follow=True,
    )


def _answer_to_designee():
    message = emails_to(DESIGNEE, "privacy_directive_carried_out").get()
    assert message.confidential
    return sealing.open_text(message.body_text)


def test_communicate_the_person_named_receives_a_one_time_link_to_the_data(
    anonymous, author, user, staff_client, staff
):
    author("communicate")
    response = report_death(anonymous, user.email)
    assert response.status_code == 200 and "Your notice is recorded" in response.content.decode()
    record = RightsRequest.objects.get(kind="post_mortem", requester_email=DESIGNEE)
    assert record.email == user.email and record.is_open and not record.identity_verified
    assert get_user_model().objects.filter(pk=user.pk).exists()  # nothing happens before staff verify

    assert console_verify(staff_client, record).status_code == 200
    record.refresh_from_db()
    assert record.status == "answered" and record.identity_verified
    assert record.outcome["instruction"] == "communicate"
    body = _answer_to_designee()
    link = re.search(r"https?://\S+/privacy/rights/directive/[^/\s]+/", body).group(0)
    path = link.split("testserver", 1)[1]
    assert DirectiveExport.objects.get().archive  # stored until downloaded

    page = anonymous.get(path)
    assert page.status_code == 200 and not page.cookies
    download = anonymous.post(path, {"csrfmiddlewaretoken": form_token(page.content.decode())})
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(download.content)).read("data.json"))
    accounts = next(s for s in data["sections"] if s["category"] == "account")
    assert accounts["rows"][0]["email"] == user.email
    assert bytes(DirectiveExport.objects.get().archive) == b""  # deleted once handed over
    again = anonymous.post(path, {"csrfmiddlewaretoken": form_token(page.content.decode())})
    assert again.status_code == 410
    actions = set(SecurityEvent.objects.values_list("action", flat=True))
    assert {"privacy.death_notice_presented", "privacy.directive_carried_out"} <= actions
    carried = SecurityEvent.objects.get(action="privacy.directive_carried_out")
    assert carried.actor_id == staff.pk and carried.data["reference"] == record.reference
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(user=staff, object_id=str(record.pk)).exists()


def test_erase_the_data_is_erased_once_staff_verified_the_notice(anonymous, author, user, staff_client):
    author("erase")
    report_death(anonymous, user.email)
    record = RightsRequest.objects.get(kind="post_mortem", requester_email=DESIGNEE)
    console_verify(staff_client, record)
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not EmailAddress.objects.filter(email=user.email).exists()
    assert not ConsentRecord.objects.filter(email=user.email).exists()
    record.refresh_from_db()
    assert record.status == "answered" and record.outcome["instruction"] == "erase"
    assert "erased" in _answer_to_designee()


def test_keep_nothing_is_erased_and_the_person_named_is_told(anonymous, author, user, staff_client):
    author("keep")
    report_death(anonymous, user.email)
    record = RightsRequest.objects.get(kind="post_mortem", requester_email=DESIGNEE)
    console_verify(staff_client, record)
    assert get_user_model().objects.filter(pk=user.pk).exists()
    record.refresh_from_db()
    assert record.status == "answered" and record.outcome["instruction"] == "keep"
    assert "kept" in _answer_to_designee()


def test_only_the_person_named_can_report_the_death(anonymous, author, user):
    author("erase")
    other = UserFactory(email="eve@example.org")
    _path, token, html = open_portal(anonymous, other.email)
    assert "Report a death" not in html
    response = act(anonymous, "death_notice", token, html, deceased_email=user.email, details="Died")
    assert response.status_code == 400
    assert not RightsRequest.objects.filter(kind="post_mortem", requester_email__gt="").exists()


def test_staff_without_the_permission_cannot_carry_out_a_directive(anonymous, author, user, client):
    author("erase")
    report_death(anonymous, user.email)
    record = RightsRequest.objects.get(kind="post_mortem", requester_email=DESIGNEE)
    clerk = UserFactory(email="clerk@example.org", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_rightsrequest", "change_rightsrequest"])
    )
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=clerk, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(clerk)
    listing = client.get("/en/admin/privacy/rightsrequest/").content.decode()
    assert 'value="carry_out_directive"' not in listing
    client.post(
        "/en/admin/privacy/rightsrequest/", {"action": "carry_out_directive", "_selected_action": [record.pk]}
    )
    record.refresh_from_db()
    assert record.is_open and get_user_model().objects.filter(pk=user.pk).exists()
    clerk.user_permissions.add(Permission.objects.get(codename="carry_out_directive"))
    client.post(
        "/en/admin/privacy/rightsrequest/", {"action": "carry_out_directive", "_selected_action": [record.pk]}
    )
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not OutboxMessage.objects.filter(kind="privacy_directive_carried_out", confidential=False).exists()
