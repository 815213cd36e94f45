"""The whole cards flow in a real browser: organisation, invitation, card, public page, vCard, QR, exchange."""

import io
import re
from pathlib import Path

import vobject
import zxingcpp
from PIL import Image

from tessera.cards.models import Card
from tests.cards.conftest import jpeg_bytes
from tests.cards.vcard_check import both_parse, labelled_urls, vobject_labelled_urls
from tests.factories import UserFactory

PASSWORD = "a-long-test-password"
AXE = "/static/tessera/vendor/axe-core/axe.min.js"


def _watch(page, sink: list):
    page.on("console", lambda m: sink.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: sink.append(str(error)))


def _axe_violations(page) -> list:
    page.add_script_tag(url=AXE)
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def test_admin_invites_member_who_edits_card_and_a_visitor_exchanges(server, smtp, page, browser, settings):
    settings.TESSERA_CARDS_POW_BITS = 10
    problems: list = []
    _watch(page, problems)
    UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")

    # The admin signs in, creates an organisation and invites a member.
    page.goto(server.url + "/accounts/login/")
    page.fill('input[name="login"]', "alice@alpha.example")
    page.fill('input[name="password"]', PASSWORD)
    page.click('main form[action="/accounts/login/"] button[type="submit"]')
    page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))
    page.goto(server.url + "/cards/org/new/")
    page.fill('input[name="name"]', "Alpha")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/cards/org/alpha/")
    page.click("a[href='/cards/org/alpha/invite/']")
    page.fill('input[name="email"]', "bob@alpha.example")
    page.fill('input[name="first_name"]', "Bob")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/cards/org/alpha/")
    invitation = smtp.wait_for(1)[0]
    assert invitation["To"] == "bob@alpha.example"
    link = re.search(
        r"http://\S+/cards/invitation/\S+/", invitation.get_body(("plain",)).get_content()
    ).group(0)

    # The member accepts, which creates the account, and edits the card.
    member_context = browser.new_context(locale="fr-FR")
    member = member_context.new_page()
    _watch(member, problems)
    member.goto(link)
    member.fill('input[name="full_name"]', "Bob Builder")
    member.fill('input[name="password"]', PASSWORD)
    member.check('input[name="age_confirmed"]')
    member.click("main form button[type=submit]")
    member.wait_for_url("**/cards/card/*/edit/")
    member.fill('input[name="last_name"]', "Builder")
    member.fill('input[name="job_title"]', "Site <b>engineer</b>")
    member.fill('input[name="phone_0_number"]', "+33 6 12 34 56 78")
    member.select_option('select[name="phone_0_kind"]', "mobile")
    member.check('input[name="phone_0_public"]')
    member.fill('input[name="email_0_address"]', "bob@alpha.example")
    member.check('input[name="email_0_public"]')
    member.fill('input[name="link_0_label"]', 'In "Link"')  # a quote once broke the vCard
    member.fill('input[name="link_0_url"]', "https://www.linkedin.com/in/bob")
    member.check('input[name="link_0_public"]')
    member.fill('input[name="department"]', "Site & works")
    member.fill('input[name="street"]', "1 rue de la Paix")
    member.fill('input[name="postal_code"]', "75002")
    member.fill('input[name="city"]', "Paris")
    member.fill('input[name="country"]', "France")
    member.click("#profile-form button[type=submit]")
    member.wait_for_url("**/cards/card/*/edit/")
    member.set_input_files(
        'input[name="photo"]', files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    member.click("#photo-form button[type=submit]")
    member.wait_for_url("**/cards/card/*/edit/")
    assert member.get_by_role("img", name=re.compile(".")).count() >= 1
    card = Card.objects.get(owner__email="bob@alpha.example")
    assert card.job_title == "Site <b>engineer</b>"
    member.goto(server.url + f"/cards/card/{card.slug}/")
    member.click("#nfc-write")
    assert "Web NFC" in member.locator("#nfc-status").inner_text()  # desktop Chromium has no Web NFC
    member_context.close()

    # A visitor opens the public card: no cookie, nothing from third parties, WCAG AA.
    visitor_context = browser.new_context(locale="en-GB", accept_downloads=True)
    visitor = visitor_context.new_page()
    _watch(visitor, problems)
    requested: list = []
    visitor.on("request", lambda r: requested.append(r.url))
    visitor.goto(server.url + f"/c/{card.slug}?s=nfc")
    assert visitor.locator("h1").inner_text() == "Bob Builder"
    assert visitor.get_by_text("Site <b>engineer</b>").is_visible()
    assert visitor.get_by_role("link", name="+33 6 12 34 56 78").is_visible()
    assert visitor.get_by_role("button", name="Share").is_visible()
    assert _axe_violations(visitor) == []

    with visitor.expect_download() as download_info:
        visitor.get_by_role("link", name="Save contact").click()
    assert download_info.value.suggested_filename == "Bob-Builder.vcf"
    parsed, strict = both_parse(Path(download_info.value.path()).read_bytes())
    assert parsed.fn.value == "Bob Builder" == strict["FN"][0].text
    assert (parsed.n.value.family, parsed.n.value.given) == ("Builder", "Bob")
    assert strict["N"][0].values[:2] == [["Builder"], ["Bob"]]
    assert parsed.org.value == ["Alpha", "Site & works"] == [c[0] for c in strict["ORG"][0].values]
    assert parsed.title.value == "Site <b>engineer</b>" == strict["TITLE"][0].text
    assert parsed.tel.value == "+33612345678" == strict["TEL"][0].text
    assert parsed.email.value == "bob@alpha.example" == strict["EMAIL"][0].text
    assert strict["ADR"][0].values == [
        [""],
        [""],
        ["1 rue de la Paix"],
        ["Paris"],
        [""],
        ["75002"],
        ["France"],
    ]
    assert parsed.adr.value.city == "Paris"
    assert (
        labelled_urls(strict)
        == vobject_labelled_urls(parsed)
        == {'In "Link"': "https://www.linkedin.com/in/bob"}
    )
    assert parsed.photo.value[:3] == b"\xff\xd8\xff" and strict["PHOTO"][0].text.startswith("/9j/")

    png = visitor.request.get(server.url + f"/c/{card.slug}/qr.png").body()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [f"{server.url}/c/{card.slug}?s=qr"]

    # The page is the same for every visitor; opening the form fetches this visitor's challenge.
    assert not any("/exchange/challenge" in u for u in requested)
    assert visitor.locator('input[name="challenge"]').input_value() == ""
    with visitor.expect_response(lambda r: "/exchange/challenge" in r.url) as fetched:
        visitor.get_by_role("link", name="Exchange contact").click()
    assert fetched.value.status == 200 and fetched.value.header_value("set-cookie") is None
    visitor.wait_for_function("() => document.forms['exchange-form'].elements.challenge.value !== ''")
    visitor.fill('input[name="name"]', "Vera <i>Visitor</i>")
    visitor.fill('input[name="email"]', "vera@example.net")
    visitor.fill('input[name="company"]', "Acme")
    visitor.check('input[name="consent"]')
    visitor.click("#exchange-form button[type=submit]")
    visitor.get_by_text("Thank you! Your details were sent.").wait_for(timeout=30000)

    mails = smtp.wait_for(3, timeout=15)
    to_visitor = smtp.to("vera@example.net")[0]
    attachments = [part for part in to_visitor.iter_attachments()]
    assert [a.get_filename() for a in attachments] == ["Bob-Builder.vcf"]
    assert (
        vobject.readOne(
            attachments[0].get_content()
            if isinstance(attachments[0].get_content(), str)
            else attachments[0].get_content().decode()
        ).fn.value
        == "Bob Builder"
    )
    assert f"/c/{card.slug}" in to_visitor.get_body(("plain",)).get_content()
    to_owner = smtp.to("bob@alpha.example")
    assert any("Vera" in m["Subject"] for m in to_owner)
    owner_html = next(m for m in to_owner if "Vera" in m["Subject"]).get_body(("html",)).get_content()
    assert "&lt;i&gt;Visitor&lt;/i&gt;" in owner_html and "<i>Visitor" not in owner_html
    assert len(mails) >= 3

    assert visitor_context.cookies() == []
    own = server.url.split("//", 1)[1]
    assert [u for u in requested if u.startswith("http") and u.split("/")[2] != own] == []
    assert problems == []
    visitor_context.close()


def test_deactivated_card_page_is_neutral_in_the_browser(server, page):
    from tessera.cards import services

    owner = UserFactory(email="lost@alpha.example", password=PASSWORD, full_name="Lou Lost")
    card = services.card_create(owner=owner, first_name="Lou", last_name="Lost")
    for _ in range(2):  # the second visit is answered from the pre-rendered page
        response = page.goto(server.url + f"/c/{card.slug}")
        assert response.status == 200 and page.locator("h1").inner_text() == "Lou Lost"
    services.card_set_active(card=card, active=False)
    response = page.goto(server.url + f"/c/{card.slug}")
    assert response.status == 404
    assert "Lou" not in page.content()
    assert page.context.cookies() == []


def _card_for_browser():
    from tessera.cards import services

    owner = UserFactory(email="sam@solo.example", password=PASSWORD, full_name="Sam Share")
    return services.card_create(owner=owner, first_name="Sam", last_name="Share")


def test_share_without_web_share_copies_the_link(server, browser):
    card = _card_for_browser()
    context = browser.new_context(locale="en-GB", permissions=["clipboard-read", "clipboard-write"])
    context.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
    page = context.new_page()
    page.goto(server.url + f"/c/{card.slug}")
    assert page.evaluate("typeof navigator.share") == "undefined"
    page.get_by_role("button", name="Share").click()
    page.get_by_text("Link copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == f"{server.url}/c/{card.slug}?s=link"
    context.close()


def test_share_without_web_share_nor_clipboard_shows_the_link(server, browser):
    card = _card_for_browser()
    context = browser.new_context(locale="en-GB")
    context.add_init_script(
        "delete Navigator.prototype.share; delete navigator.share;"
        "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    )
    page = context.new_page()
    page.goto(server.url + f"/c/{card.slug}")
    page.get_by_role("button", name="Share").click()
    status = page.locator("#share-status")
    status.get_by_text(f"{server.url}/c/{card.slug}?s=link").wait_for()
    assert status.get_attribute("role") == "status"  # read out by screen readers
    context.close()


def _sign_in(page, server, email):
    page.goto(server.url + "/en/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('main form[action="/en/accounts/login/"] button[type="submit"]')
    page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))


def test_template_editor_previews_colours_layout_and_locked_fields_live(server, page):
    from tessera.accounts import services as accounts_services

    admin = UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")
    organisation = accounts_services.organisation_create(owner=admin, name="Alpha")
    _sign_in(page, server, "alice@alpha.example")
    page.goto(server.url + f"/en/cards/org/{organisation.slug}/templates/new/")
    preview = page.locator("#template-preview")
    save = preview.get_by_text("Save contact")
    assert save.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(67, 56, 202)"  # #4338ca
    page.fill('input[name="primary_colour"]', "#0b5394")
    page.fill('input[name="background_colour"]', "#fffbe6")
    page.select_option('select[name="layout"]', "banner")
    page.select_option('select[name="font"]', "serif")
    page.fill('input[name="lock_company"]', "Alpha SAS")
    page.fill('input[name="lock_job_title"]', "Head of <b>sales</b>")
    assert save.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 83, 148)"
    assert preview.evaluate("e => getComputedStyle(e).getPropertyValue('--card-bg').trim()") == "#fffbe6"
    classes = preview.get_attribute("class").split()
    assert "layout-banner" in classes and "font-serif" in classes and "layout-classic" not in classes
    assert preview.get_by_text("Alpha SAS").is_visible()
    assert preview.get_by_text("Head of <b>sales</b>").is_visible()  # text, never markup
    assert preview.locator("b").count() == 0
    page.fill('input[name="name"]', "Brand")
    page.click("#template-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/templates/\d+/$"))
    page.get_by_text("The template was saved.").wait_for()


def test_members_page_changes_a_role_in_the_browser(server, page):
    from tessera.accounts import services as accounts_services
    from tessera.accounts.models import Membership
    from tessera.cards import services

    admin = UserFactory(email="alice@alpha.example", password=PASSWORD, full_name="Alice Admin")
    organisation = accounts_services.organisation_create(owner=admin, name="Alpha")
    invitation = services.invitation_create(
        organisation=organisation, email="bob@alpha.example", invited_by=admin
    )
    services.invitation_accept(invitation=invitation, password=PASSWORD, full_name="Bob Builder")
    _sign_in(page, server, "alice@alpha.example")
    page.goto(server.url + f"/en/cards/org/{organisation.slug}/")
    page.get_by_role("link", name="Members").click()
    page.wait_for_url("**/members/")
    row = page.locator('tr[data-member="bob@alpha.example"]')
    row.get_by_label("Role of Bob Builder", exact=True).select_option("admin")
    row.get_by_role("button", name="Change the role of Bob Builder").click()
    page.get_by_text("Bob Builder is now admin.").wait_for()
    assert Membership.objects.get(user__email="bob@alpha.example").role == "admin"
    assert _axe_violations(page) == []
