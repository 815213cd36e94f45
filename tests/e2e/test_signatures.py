"""A signature pushed to Gmail, as the fake Gmail stored it, opened in Chromium at 600 px like an email.

It must fit without a horizontal scroll, and every image must load from Tessera, with no cookie sent or set:
an opened email is not a tracking pixel.
"""

import re
import time
from urllib.parse import urlsplit

from tessera.cards import services as card_services
from tessera.signatures.models import PushRun
from tessera.signatures.services.push import signature_push_request
from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.fakes.fake_http import FakeServer, Reply, Request
from tests.signatures.gmail_support import connect_google, fake_gmail  # noqa: F401
from tests.signatures.render_support import jpeg_bytes, png_bytes

PASSWORD = "a-long-test-password"


class MailClient(FakeServer):
    """Shows one message, like a webmail on its own origin."""

    name = "mail-client"

    def __init__(self, signature: str):
        super().__init__()
        self.page = f'<!doctype html><html><body style="margin:0">{signature}</body></html>'.encode()

    def handle(self, request: Request) -> Reply:
        return Reply(200, self.page, {"Content-Type": "text/html; charset=utf-8"})


def _pushed_signature(fake) -> str:
    admin = UserFactory(email="ada@example.org", full_name="Ada Lovelace")
    organisation = OrganisationFactory(owner=admin, name="Example")
    template = signature_template_save(
        organisation=organisation,
        actor=admin,
        name="House",
        html=STARTER_HTML,
        is_default=True,
        logo=png_bytes(),
    )
    assert not template.inline_logo  # the logo is a link to Tessera, the case that could track
    bob = UserFactory(email="bob@example.org", full_name="Bob Martin")
    MembershipFactory(organisation=organisation, user=bob)
    card = card_services.card_create(
        owner=bob, organisation=organisation, first_name="Bob", last_name="Martin",
        job_title="Responsable des comptes clés pour l'Europe du Sud et l'Afrique du Nord",
        department="Ventes", phones=[{"kind": "work", "number": "+33 1 42 68 00 00"}],
        street="12 rue de Rivoli", postal_code="75004", city="Paris",
        links=[{"label": "Blog", "url": "https://bob.example/blog", "public": True}],
    )  # fmt: skip
    card_services.card_photo_set(card=card, data=jpeg_bytes(), filename="bob.jpg")
    fake.add_account("bob@example.org", "Bob Martin")
    connect_google(organisation=organisation, actor=admin, fake=fake)
    run = signature_push_request(organisation=organisation, actor=admin, user_ids=[bob.pk])  # runs at commit
    run.refresh_from_db()
    assert run.items.get().status == "updated", run.items.get().reason
    return fake.signature_of("bob@example.org")


def test_a_pushed_signature_fits_600_px_and_loads_only_tessera_images_without_cookies(
    server,
    browser,
    fake_gmail,  # noqa: F811
):
    signature = _pushed_signature(fake_gmail)
    assert "<img" in signature and "<script" not in signature
    context = browser.new_context(viewport={"width": 600, "height": 800})
    page = context.new_page()
    exchanges = []
    page.on("requestfinished", lambda request: exchanges.append(request))
    try:
        # The message opens on a mail client's own origin (another loopback server), as a webmail shows it.
        with MailClient(signature) as mail:
            page.goto(mail.url + "/message", wait_until="networkidle")
        assert page.get_by_text("Bob Martin").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 600  # no horizontal scroll
        images = page.locator("img")
        assert images.count() >= 3  # photo, QR code, logo
        for i in range(images.count()):
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), images.nth(
                i
            ).get_attribute("src")
        own = urlsplit(server.url).netloc
        image_requests = [r for r in exchanges if r.resource_type == "image"]
        assert [urlsplit(r.url).path for r in exchanges if r.resource_type != "image"] == ["/message"]
        assert len(image_requests) == images.count()
        for request in image_requests:
            assert urlsplit(request.url).netloc == own, request.url
            assert "cookie" not in request.all_headers()
            response = request.response()
            assert response.status == 200
            assert "set-cookie" not in response.all_headers(), request.url
        assert context.cookies() == []
    finally:
        context.close()


def test_a_bulk_push_is_followed_live_until_each_member_has_a_result(
    server,
    browser,
    fake_gmail,  # noqa: F811
):
    admin = UserFactory(email="ada@example.org", full_name="Ada Lovelace", password=PASSWORD)
    organisation = OrganisationFactory(owner=admin, name="Example")
    signature_template_save(
        organisation=organisation, actor=admin, name="House", html=STARTER_HTML, is_default=True
    )
    for i in range(12):
        member = UserFactory(email=f"member{i}@example.org", full_name=f"Member {i}")
        MembershipFactory(organisation=organisation, user=member)
        card_services.card_create(
            owner=member, organisation=organisation, first_name="Member", last_name=str(i)
        )
        fake_gmail.add_account(member.email, f"Member {i}")
    connect_google(organisation=organisation, actor=admin, fake=fake_gmail)
    fake_gmail.patch_delay = 1.5  # Gmail is slow today: the run lasts a few seconds
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(server.url + "/en/accounts/login/")
        page.fill('input[name="login"]', admin.email)
        page.fill('input[name="password"]', PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))
        page.goto(f"{server.url}/en/cards/org/{organisation.slug}/signatures/push/")
        assert page.get_by_test_id("client-id").inner_text() == fake_gmail.key["client_id"]
        # The task queue runs the push when the request commits (immediate in tests): while that request
        # works, the run's page is opened in a second tab.
        page.click("form[data-testid=push-form] button[type=submit]", no_wait_after=True)
        watcher = context.new_page()
        for _ in range(100):
            run = PushRun.objects.first()
            if run is not None:
                break
            time.sleep(0.05)
        watcher.goto(f"{server.url}/en/cards/org/{organisation.slug}/signatures/push/{run.pk}/")
        box = watcher.get_by_test_id("push-progress")
        assert box.get_attribute("data-active") == "true"
        assert int(watcher.locator("#push-bar").get_attribute("value")) < 100
        watcher.wait_for_function(
            "() => document.querySelector('[data-push-progress]').dataset.status === 'done'", timeout=30_000
        )
        assert watcher.locator("#push-bar").evaluate("bar => bar.value") == 100
        assert "13 of 13 members: 13 updated" in box.inner_text()
        rows = watcher.locator("[data-testid=push-results] tbody tr[data-status=updated]")
        rows.first.wait_for()
        assert rows.count() == 13  # the results table was fetched again and swapped in
        assert watcher.locator("form[data-run-cancel]").count() == 0
        page.wait_for_url(re.compile(r".*/push/\d+/$"), timeout=30_000)
        assert problems == []
    finally:
        context.close()
