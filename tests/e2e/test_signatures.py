"""A signature pushed to Gmail, as the fake Gmail stored it, opened in Chromium at 600 px like an email.

It must fit without a horizontal scroll, and every image must load from Tessera, with no cookie sent or set:
an opened email is not a tracking pixel.
"""

from urllib.parse import urlsplit

from tessera.cards import services as card_services
from tessera.signatures.services.push import signature_push_request
from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.fakes.fake_http import FakeServer, Reply, Request
from tests.signatures.gmail_support import connect_google, fake_gmail  # noqa: F401
from tests.signatures.render_support import jpeg_bytes, png_bytes


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
