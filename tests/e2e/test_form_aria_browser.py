"""Every form page of the product, in Chromium: no ARIA or label reference points to a missing id."""

import re

from .aria import PASSWORD, assert_no_dangling_aria, form_pages_world


def _submit(page, form="main form"):
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def test_no_form_page_has_a_dangling_aria_reference(server, smtp, page, settings):
    settings.TESSERA_CARDS_POW_BITS = 8
    world = form_pages_world()
    for path in world.anonymous:
        page.goto(server.url + path)
        assert page.locator("form").count(), path
        assert_no_dangling_aria(page)

    # Forms sent back with errors: Django points aria-describedby at `<id>_error` as well.
    page.goto(server.url + "/en/m/new/")
    page.fill('input[name="organiser_email"]', "not an address")
    _submit(page, "main form.meeting-form")
    assert page.locator(".errorlist").count()
    assert_no_dangling_aria(page)

    # The rights portal, opened by the link it emails.
    page.goto(server.url + "/en/privacy/rights/")
    page.fill('input[name="email"]', world.portal_email)
    _submit(page)
    # Delivered at once: the stored copy lost the link's secret, the mailbox has it.
    bodies = [m.get_body(("plain",)).get_content() for m in smtp.wait_for(1) if world.portal_email in m["To"]]
    link = re.search(r"https?://\S+/privacy/rights/link/[^/\s]+/", "".join(bodies)).group(0)
    page.goto(server.url + "/" + link.split("://", 1)[1].split("/", 1)[1])
    assert_no_dangling_aria(page)
    _submit(page)
    assert page.locator("#id_details").count() == 1
    assert_no_dangling_aria(page)

    # The meeting's management page, which the page's script opens with the key of the link's fragment.
    page.goto(server.url + world.manage_path + "#" + world.manage_key)
    page.wait_for_selector("#manage-open", state="detached")
    assert_no_dangling_aria(page)

    page.goto(server.url + "/en/accounts/login/")
    page.fill('input[name="login"]', world.owner.email)
    page.fill('input[name="password"]', PASSWORD)
    _submit(page, 'main form[action="/en/accounts/login/"]')
    for path in world.signed_in:
        page.goto(server.url + path)
        if "/reauthenticate/" in page.url and "/reauthenticate/" not in path:
            page.fill('input[name="password"]', PASSWORD)
            _submit(page)
        assert page.url.split("?")[0] == server.url + path and page.locator("main form").count(), path
        assert_no_dangling_aria(page)
