"""No form page refers to an id it does not contain: help text, errors and labels reach screen readers."""

import re

import pytest
from django.test import Client

from tessera.core import sealing
from tessera.core.csrf import FORM_FIELD, form_token_make
from tessera.core.models import OutboxMessage
from tests.e2e.aria import PASSWORD, dangling_references, form_pages_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.TESSERA_CARDS_POW_BITS = 8
    return form_pages_world()


def post(client, path, data=None):
    """As a browser posts from our pages: the signed form token and the same Origin."""
    return client.post(path, {FORM_FIELD: form_token_make(), **(data or {})}, HTTP_ORIGIN="http://testserver")


def checked(response, name: str) -> None:
    assert response.status_code in (200, 400), (name, response.status_code)
    html = response.content.decode()
    assert "<form" in html.split("<main", 1)[1], name
    assert dangling_references(html) == [], name


def test_the_checker_finds_a_reference_to_a_missing_id():
    html = '<label for="a">A</label><input id="a" aria-describedby="a_helptext a_error"><p id="a_error">'
    assert dangling_references(html) == [("input", "aria-describedby", "a_helptext")]


def test_every_form_page_refers_only_to_ids_it_contains(world):
    anonymous = Client()
    for path in world.anonymous:
        checked(anonymous.get(path), path)
    signed_in = Client()
    assert (
        post(signed_in, "/en/accounts/login/", {"login": world.owner.email, "password": PASSWORD}).status_code
        == 302
    )
    for path in world.signed_in:
        response = signed_in.get(path)
        if "/reauthenticate/" in response.get("Location", ""):  # the 2FA pages ask for the password again
            assert post(signed_in, response["Location"], {"password": PASSWORD}).status_code == 302
            response = signed_in.get(path)
        checked(response, path)
    checked(post(anonymous, world.manage_path, {"key": world.manage_key}), "meeting management")


def test_forms_sent_back_with_errors_refer_only_to_ids_they_contain(world):
    """Django points aria-describedby at `<id>_error` too when a field has an error."""
    anonymous = Client()
    for path in ("/en/accounts/login/", "/en/accounts/signup/", "/en/accounts/password/reset/"):
        checked(post(anonymous, path, {"email": "not an address", "login": "x"}), f"{path} with errors")
    checked(
        post(anonymous, "/en/m/new/", {"organiser_email": "nope", "invitees": "nope"}), "/en/m/new/ errors"
    )
    checked(post(anonymous, "/en/privacy/rights/", {"email": "nope"}), "rights request with errors")
    signed_in = Client()
    signed_in.force_login(world.owner)
    for path in ("/en/cards/org/new/", "/en/cards/org/alpha/invite/", "/en/m/new/"):
        checked(post(signed_in, path, {"email": "nope", "name": ""}), f"{path} with errors")


def test_the_rights_portal_refers_only_to_ids_it_contains(world):
    anonymous = Client()
    post(anonymous, "/en/privacy/rights/", {"email": world.portal_email})
    message = OutboxMessage.objects.filter(recipient=world.portal_email, kind="privacy_rights_link").get()
    link = re.search(
        r"https?://\S+/privacy/rights/link/[^/\s]+/", sealing.open_text(message.body_text)
    ).group(0)
    path = link.split("testserver", 1)[1]
    checked(anonymous.get(path), "rights link confirmation")
    portal = post(anonymous, path)
    checked(portal, "rights portal")
    assert "id_details" in portal.content.decode()
    token = re.search(r'name="portal" value="([^"]+)"', portal.content.decode()).group(1)
    refused = post(anonymous, "/en/privacy/rights/act/rectify/", {"portal": token, "details": "x" * 4001})
    assert refused.status_code == 400 and 'id="id_details_error"' in refused.content.decode()
    checked(refused, "rights portal with errors")


def test_the_contact_form_its_thread_and_the_desk_refer_only_to_ids_they_contain(world, settings):
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory
    from tests.support.conftest import sent_link, solved

    settings.TESSERA_POW_BITS = 8
    anonymous = Client()
    refused = post(anonymous, "/en/contact/", solved(message="", email="nope", phone="12"))
    assert refused.status_code == 400 and 'id="id_message_error"' in refused.content.decode()
    checked(refused, "contact form with errors")
    assert post(anonymous, "/en/contact/", solved()).status_code == 200
    path, token = sent_link("support_received", "camille@example.net")
    checked(post(anonymous, path, {"key": token}), "the sender's thread")
    checked(post(anonymous, path, {"key": token, "action": "reply", "message": ""}), "thread with errors")
    staff = UserFactory(is_staff=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="support"))
    desk = Client()
    desk.force_login(staff)
    checked(desk.get("/en/admin/support/desk/"), "support desk")
    ticket = re.search(
        r"/en/admin/support/desk/(\d+)/", desk.get("/en/admin/support/desk/").content.decode()
    ).group(1)
    checked(desk.get(f"/en/admin/support/desk/{ticket}/"), "support ticket")
    checked(
        desk.post(f"/en/admin/support/desk/{ticket}/reply/", {"message": ""}), "support ticket with errors"
    )
