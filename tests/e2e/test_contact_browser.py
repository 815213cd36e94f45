"""The contact flow in Chromium, with real SMTP: the form, its confirmation, the desk's answer, the sender's."""

import os
import re
from pathlib import Path

from allauth.mfa.models import Authenticator
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.test import Client

from tessera.core.models import SecurityEvent
from tessera.support.models import Ticket
from tests.factories import UserFactory

from .aria import assert_no_dangling_aria, axe_results

SERIOUS = {"serious", "critical"}


def _serious(page) -> list:
    return [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in axe_results(page)["violations"]
        if v["impact"] in SERIOUS
    ]


def _link(message) -> str:
    return re.search(r"https?://\S+/contact/t/\S+#\S+", message.get_body(("plain",)).get_content()).group(0)


def _shoot(page, name: str) -> None:
    """Screenshots for review, when TESSERA_SHOTS_DIR names a folder: at 1280 and 390 pixels wide."""
    folder = os.environ.get("TESSERA_SHOTS_DIR")
    if not folder:
        return
    size = page.viewport_size
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=str(Path(folder) / f"contact-{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


def _staff_page(browser, server):
    """A staff member with a second factor and the support permissions, signed in to the back-office."""
    staff = UserFactory(email="sam@operator.example", is_staff=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="support"))
    client = Client()
    client.force_login(staff)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 860})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}])
    return staff, context, context.new_page()


def test_contact_form_desk_answer_and_the_senders_reply(server, smtp, page, browser, settings, request_log):
    settings.TESSERA_POW_BITS = 10
    settings.TESSERA_SUPPORT_EMAIL = "support@operator.example"
    language = os.environ.get("TESSERA_SHOTS_LANGUAGE", "fr")
    prefix = "" if language == "fr" else "/en"

    # The visitor fills the form; the page solves the proof of work before it leaves.
    page.goto(server.url + prefix + "/contact/")
    assert_no_dangling_aria(page)
    assert _serious(page) == []
    _shoot(page, f"form-{language}")
    page.fill("#id_first_name", "Camille")
    page.fill("#id_last_name", "Durand")
    page.fill("#id_email", "camille@example.net")
    page.fill("#id_phone", "06 12 34 56 78")
    page.fill("#id_company", "Durand SARL")
    page.fill("#id_subject", "Un devis pour 40 cartes")
    page.fill("#id_message", "Bonjour,\ncombien coûtent 40 cartes NFC ?")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#contact-sent")
    assert "camille@example.net" in page.inner_text("#contact-sent")
    _shoot(page, f"sent-{language}")
    assert page.context.cookies() == []

    confirmation = smtp.wait_for(1)[0]
    assert confirmation["To"] == "camille@example.net"
    assert confirmation["Content-Language"] == language
    first_link = _link(confirmation)

    # Staff answer from the desk.
    staff, staff_context, desk = _staff_page(browser, server)
    desk.goto(server.url + prefix + "/admin/support/desk/")
    assert desk.get_by_role("link", name="Un devis pour 40 cartes").is_visible()
    _shoot(desk, f"desk-{language}")
    desk.get_by_role("link", name="Un devis pour 40 cartes").click()
    desk.wait_for_selector("#desk-reply")
    assert "combien coûtent 40 cartes NFC" in desk.inner_text(".desk-thread")
    assert_no_dangling_aria(desk)
    assert _serious(desk) == []
    desk.fill("#desk-note textarea", "Client historique : remise possible.")
    desk.click("#desk-note button[type=submit]")
    desk.wait_for_selector(".desk-note")
    desk.fill("#desk-reply textarea", "Bonjour Camille,\n40 cartes : 400 € HT.")
    desk.click("#desk-reply button[type=submit]")
    desk.wait_for_selector(".thread-staff")
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.WAITING
    assert SecurityEvent.objects.filter(action="support.ticket.viewed", actor_id=staff.pk).count() >= 1

    answer = next(m for m in smtp.wait_for(2) if m["Subject"] != confirmation["Subject"])
    assert answer["To"] == "camille@example.net"
    assert "400 € HT" in answer.get_body(("plain",)).get_content()
    assert "remise" not in answer.get_body(("plain",)).get_content()
    link = _link(answer)
    assert link != first_link

    # The answer's link opens the thread in the sender's browser, with no cookie, and they answer.
    page.goto(link)
    page.wait_for_selector("#thread")
    assert "40 cartes : 400 € HT." in page.inner_text(".thread")
    assert "remise" not in page.content()
    assert page.url.endswith(link.split("#", 1)[1])  # the token is back in the address bar, for a reload
    assert_no_dangling_aria(page)
    assert _serious(page) == []
    _shoot(page, f"thread-{language}")
    page.fill("#id_message", "Merci ! Et pour 60 cartes ?")
    page.click(".reply-form button[type=submit]")
    page.wait_for_selector(".notice-success")
    assert "Et pour 60 cartes" in page.inner_text(".thread")
    assert page.context.cookies() == []

    told = smtp.wait_for(3)
    assert any(m["To"] == "support@operator.example" for m in told)
    desk.reload()
    assert "Et pour 60 cartes" in desk.inner_text(".desk-thread")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    _shoot(desk, f"ticket-{language}")
    staff_context.close()
    assert request_log.third_party(server.url) == []
