"""The signature editor and "my signature" in a real browser: the live preview follows the typing in its
three frames, nothing runs inside them, and "copy" puts the styled signature on the clipboard."""

import re

from tessera.cards import services as card_services
from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
from tests.factories import OrganisationFactory, UserFactory
from tests.signatures.render_support import png_bytes

PASSWORD = "a-long-test-password"


def _sign_in(page, server, email):
    page.goto(server.url + "/en/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))


def _organisation():
    admin = UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")
    org = OrganisationFactory(owner=admin, name="Alpha")
    card = admin.cards.get(organisation=org)
    card_services.card_update(
        card=card, changes={"first_name": "Alice", "last_name": "Durand", "job_title": "CEO"}
    )
    template = signature_template_save(
        organisation=org, actor=admin, name="House", html=STARTER_HTML, is_default=True, logo=png_bytes()
    )
    return org, template


def test_the_preview_follows_the_typing_in_three_frames(server, browser, request_log):
    org, template = _organisation()
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        _sign_in(page, server, "alice@alpha.example")
        page.goto(f"{server.url}/en/cards/org/{org.slug}/signatures/{template.pk}/")
        frames = {name: page.frame(name=f"preview-{name}") for name in ("gmail", "outlook", "dark")}
        for frame in frames.values():
            frame.wait_for_selector("text=Camille Martin")
            assert frame.locator('img[alt="Alpha"]').evaluate("img => img.naturalWidth") > 0  # the logo loads
        page.fill(
            "#id_html", '<p style="color:#123456">{{ name }} — {{ title }}</p><script>alert(1)</script>'
        )
        for frame in frames.values():
            frame.wait_for_selector("text=Scripts are not allowed")
        page.fill("#id_html", '<p style="color:#123456">{{ name }} — {{ title }}</p>')
        page.select_option("#preview-member", label="Alice Durand")
        for frame in frames.values():
            frame.wait_for_selector("text=Alice Durand — CEO")
        # Inline styles apply in the frame (its own policy), and the dark frame is dark.
        gmail_colour = frames["gmail"].locator("p").evaluate("p => getComputedStyle(p).color")
        assert gmail_colour == "rgb(18, 52, 86)"
        assert (
            page.locator("iframe[name=preview-gmail]").evaluate("f => f.getBoundingClientRect().width") == 600
        )
        assert (
            page.locator("iframe[name=preview-outlook]").evaluate("f => f.getBoundingClientRect().width")
            == 500
        )
        assert problems == []
        assert request_log.third_party(server.url) == []
    finally:
        context.close()


def test_copy_puts_the_styled_signature_on_the_clipboard(server, browser):
    org, _template = _organisation()
    context = browser.new_context(locale="fr-FR", permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        _sign_in(page, server, "alice@alpha.example")
        page.goto(f"{server.url}/cards/signature/{org.slug}/")
        page.frame_locator("iframe").locator("text=Alice Durand").wait_for()
        page.click("[data-signature-copy]")
        page.locator("#copy-status").filter(has_text="Copi").wait_for()
        html = page.evaluate(
            """async () => {
                const [item] = await navigator.clipboard.read()
                return await (await item.getType('text/html')).text()
            }"""
        )
        text = page.evaluate("navigator.clipboard.readText()")
        assert "<strong" in html and "Alice Durand" in html and "<!DOCTYPE" not in html
        assert text.startswith("Alice Durand\nCEO")
    finally:
        context.close()
