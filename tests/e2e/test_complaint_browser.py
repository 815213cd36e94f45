"""A complaint in Chromium, with real SMTP: filed with a file, acknowledged, answered from the desk, read."""

import os
from pathlib import Path

from allauth.mfa.models import Authenticator
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.test import Client

from tessera.core.models import SecurityEvent
from tessera.support.complaints import Complaint
from tests.factories import UserFactory

from .aria import assert_no_dangling_aria, axe_results

SERIOUS = {"serious", "critical"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _serious(page) -> list:
    return [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in axe_results(page)["violations"]
        if v["impact"] in SERIOUS
    ]


def _shoot(page, name: str) -> None:
    """Screenshots for review, when TESSERA_SHOTS_DIR names a folder: at 1280 and 390 pixels wide."""
    folder = os.environ.get("TESSERA_SHOTS_DIR")
    if not folder:
        return
    size = page.viewport_size
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=str(Path(folder) / f"complaints-{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


def _signed_in_page(browser, server, user, locale):
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}])
    return context, context.new_page()


def test_a_complaint_from_filing_to_answer(server, smtp, browser, settings, request_log):
    settings.TESSERA_SUPPORT_EMAIL = "support@operator.example"
    language = os.environ.get("TESSERA_SHOTS_LANGUAGE", "fr")
    prefix = "" if language == "fr" else "/en"
    customer = UserFactory(email="camille@example.net", full_name="Camille Durand")
    customer_context, page = _signed_in_page(browser, server, customer, "fr-FR")

    # From the personal space to the form; the file goes with it.
    page.goto(server.url + prefix + "/accounts/")
    page.click("a[href$='/accounts/complaints/']")
    page.wait_for_selector("#complaint-list")
    page.click("#complaint-new-link")
    page.wait_for_selector("#complaint-form")
    assert_no_dangling_aria(page)
    assert _serious(page) == []
    page.select_option("#id_category", "card")
    page.fill("#id_description", "Ma carte affiche encore mon ancien numéro.")
    page.set_input_files(
        "#id_attachments", files=[{"name": "capture.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    _shoot(page, f"form-{language}")
    page.click("#complaint-form button[type=submit]")
    page.wait_for_selector("#complaint-status")
    assert "ancien numéro" in page.inner_text("#complaint")
    assert page.get_by_role("link", name="capture.pdf").is_visible()
    assert _serious(page) == []
    _shoot(page, f"filed-{language}")

    acknowledgement = smtp.wait_for(1)[0]
    assert acknowledgement["To"] == "camille@example.net"
    assert acknowledgement["Content-Language"] == language
    complaint = Complaint.objects.get()
    assert complaint.public_id in acknowledgement["Subject"]

    # Staff answer from the desk; the opening is logged.
    staff = UserFactory(email="sam@operator.example", is_staff=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="support", codename__endswith="_complaint")
    )
    staff_context, desk = _signed_in_page(browser, server, staff, "fr-FR")
    desk.goto(server.url + prefix + "/admin/support/complaints/")
    _shoot(desk, f"desk-{language}")
    desk.click(f"a[href$='/admin/support/complaints/{complaint.pk}/']")
    desk.wait_for_selector("#complaint-answer")
    assert "ancien numéro" in desk.inner_text(".desk-thread")
    assert desk.inner_text("#complaint-due").strip()
    assert_no_dangling_aria(desk)
    assert _serious(desk) == []
    desk.fill("#complaint-answer textarea", "Bonjour,\nvotre carte est corrigée.")
    _shoot(desk, f"complaint-{language}")
    desk.click("#complaint-answer button[type=submit]")
    desk.wait_for_selector(".complaint-answer")
    assert SecurityEvent.objects.filter(action="support.complaint.viewed", actor_id=staff.pk).exists()
    staff_context.close()

    answer = next(m for m in smtp.wait_for(2) if m["Subject"] != acknowledgement["Subject"])
    assert answer["To"] == "camille@example.net"
    assert "votre carte est corrigée." in answer.get_body(("plain",)).get_content()

    # The customer reads the answer in their space and may reopen it once.
    page.reload()
    assert "votre carte est corrigée." in page.inner_text("#complaint")
    assert page.locator("#complaint-reopen").is_visible()
    assert _serious(page) == []
    _shoot(page, f"answered-{language}")
    customer_context.close()
    assert request_log.third_party(server.url) == []
