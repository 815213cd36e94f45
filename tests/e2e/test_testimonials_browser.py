"""A testimonial in Chromium: written with a photo, approved from the desk, seen on the home page, withdrawn."""

import io

from allauth.mfa.models import Authenticator
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.test import Client
from PIL import Image

from tests.factories import UserFactory

TEXT = "Our sales team hands out Tessera cards at every fair, and the leads arrive the same evening."


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "teal").save(out, format="PNG")
    return out.getvalue()


def _signed_in_context(browser, server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 860})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}])
    return context


def test_a_testimonial_from_writing_to_the_home_page_and_back(server, browser):
    author = UserFactory(email="camille@example.net", full_name="Camille Durand")
    author_page = _signed_in_context(browser, server, author).new_page()
    author_page.goto(server.url + "/en/accounts/")
    author_page.click("a[href$='/accounts/testimonials/']")
    author_page.click("#testimonial-new-link")
    author_page.fill("#id_text", TEXT)
    author_page.fill("#id_role", "Head of sales")
    author_page.fill("#id_company", "Durand SARL")
    author_page.set_input_files(
        "#id_photo", files=[{"name": "me.png", "mimeType": "image/png", "buffer": _photo()}]
    )
    author_page.check("#id_consent")
    author_page.click("#testimonial-form button[type=submit]")
    author_page.wait_for_selector("#testimonial-status")
    assert "Submitted, waiting for review" in author_page.inner_text("#testimonial-status")

    staff = UserFactory(is_staff=True, email="sam@operator.example")
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="support", codename__in=["view_testimonial", "change_testimonial"]
        )
    )
    desk = _signed_in_context(browser, server, staff).new_page()
    desk.goto(server.url + "/en/admin/support/testimonials/")
    desk.click("#testimonial-queue a")
    desk.wait_for_selector("#testimonial-approve")
    desk.click("#testimonial-approve button[type=submit]")
    desk.wait_for_selector("#testimonial-status")
    assert "Published" in desk.inner_text("#testimonial-status")

    visitor_context = browser.new_context(locale="en-GB")
    visitor = visitor_context.new_page()
    requested = []
    visitor.on("request", lambda request: requested.append(request.url))
    visitor.goto(server.url + "/en/")
    figure = visitor.locator("#testimonials figure").first
    figure.wait_for()
    assert TEXT in figure.inner_text() and "Head of sales, Durand SARL" in figure.inner_text()
    image = figure.locator("img")
    image.scroll_into_view_if_needed()
    visitor.wait_for_function("document.querySelector('#testimonials img').naturalWidth === 160")
    assert all(url.startswith(server.url) for url in requested)
    assert visitor_context.cookies() == []

    author_page.click("#testimonial-withdraw button[type=submit]")
    author_page.wait_for_selector("#testimonial-status")
    assert "Withdrawn" in author_page.inner_text("#testimonial-status")
    visitor.reload()
    assert visitor.locator("#testimonials").count() == 0 and TEXT not in visitor.content()
