import base64
import gzip
import io
import re

import ndef
import vobject
import zxingcpp
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from tessera.accounts import services as accounts_services
from tessera.cards import analytics, services
from tessera.cards.analytics import stats_flush
from tessera.cards.models import CardDailyStat
from tests.factories import UserFactory

from .conftest import PASSWORD, brand_template, jpeg_bytes
from .vcard_check import both_parse, labelled_urls, vobject_labelled_urls

# What the card page's Django path costs today; the fast path serves repeat views without any.
CARD_PAGE_QUERIES = 5


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def page_weight(client, html: str, *, html_bytes: int | None = None, compressed: bool = False):
    """The page and everything it loads from its own origin, stylesheets' url() (fonts) included, in bytes.

    The QR code (lazy, inside a closed <details>) and the vCard (a download) are not loaded by the page.
    `compressed` counts stylesheets and scripts as production sends them: precompressed by gzip at level 9
    (WhiteNoise's CompressedManifestStaticFilesStorage, or nginx's gzip). `html_bytes` is the page's size as
    it was received, when it was fetched gzip-encoded.
    """
    assets: dict[str, int] = {}
    pending = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    while pending:
        url = pending.pop()
        if url in assets or not url.startswith(("/c/", "/static/")):
            continue
        if "/qr." in url or url.endswith("/vcard"):
            continue
        asset = client.get(url)
        assert asset.status_code == 200, url
        content = _body(asset)
        assets[url] = len(content)
        if compressed and url.endswith((".css", ".js")):
            assets[url] = min(len(content), len(gzip.compress(content, compresslevel=9)))
        if url.endswith(".css"):
            base = url.rsplit("/", 1)[0]
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", content.decode()):
                assert not ref.startswith(("http:", "https:", "//")), ref  # nothing from another origin
                pending.append(ref if ref.startswith("/") else f"{base}/{ref}")
    return (html_bytes if html_bytes is not None else len(html.encode())) + sum(assets.values()), assets


def test_public_page_shows_the_card_without_cookie_and_under_50_kb(client, card, org):
    services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    # With the largest bundled font: the font file counts in the weight.
    services.template_save(
        organisation=org,
        name="Brand",
        primary_colour="#4338ca",
        background_colour="#ffffff",
        text_colour="#161a26",
        font="inter",
        layout="classic",
        is_default=True,
    )
    response = client.get(f"/c/{card.slug}", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert not response.cookies
    html = response.content.decode()
    assert "Bob Builder" in html and 'href="tel:+33612345678">+33 6 12 34 56 78</a>' in html
    assert "Enregistrer" in html or "Save contact" in html
    total, assets = page_weight(client, html)
    assert any(url.endswith(".woff2") for url in assets), assets
    assert total < 50 * 1024, (total, assets)
    # Everything the page loads comes from its own origin.
    assert all(url.startswith("/") for url in re.findall(r'(?:src)="([^"]+)"', html))
    assert all(url.startswith(("/", "data:")) for url in re.findall(r'<link[^>]+href="([^"]+)"', html))


def test_public_page_language_follows_accept_language(client, card):
    english = client.get(f"/c/{card.slug}", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en">' in english and "Save contact" in english
    french = client.get(f"/c/{card.slug}", HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    assert '<html lang="fr">' in french


def test_deactivated_card_answers_a_neutral_404(client, card):
    from tessera.cards.models import Lead

    card = services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    photo = f"/photo-{card.photo_version}.jpg"
    assert client.get(f"/c/{card.slug}{photo}").status_code == 200
    challenge = client.get(f"/c/{card.slug}/exchange/challenge", HTTP_SEC_FETCH_SITE="same-origin").json()
    services.card_set_active(card=card, active=False)
    for path in ("", "/vcard", "/qr.svg", "/qr.png", "/card.ndef", photo, "/exchange/challenge"):
        response = client.get(f"/c/{card.slug}{path}")
        assert response.status_code == 404, path
        assert b"Bob" not in response.content
    # A form opened before the card was deactivated cannot send anything any more.
    exchange = client.post(
        f"/c/{card.slug}/exchange",
        {
            "csrfmiddlewaretoken": challenge["token"],
            "challenge": challenge["challenge"],
            "nonce": __import__("tessera.core.pow", fromlist=["solve"]).solve(challenge["challenge"]),
            "name": "V",
            "email": "v@example.net",
            "consent": "on",
        },
        HTTP_ORIGIN="http://testserver",
    )
    assert exchange.status_code == 404 and b"Bob" not in exchange.content
    assert Lead.objects.count() == 0
    assert client.get("/c/doesnotexist").status_code == 404


def test_scripts_in_profile_fields_are_escaped_in_the_page(client, card):
    services.card_update(
        card=card, changes={"job_title": "<script>alert(1)</script>", "bio": '"><img src=x onerror=alert(1)>'}
    )
    html = client.get(f"/c/{card.slug}").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    vcard = vobject.readOne(client.get(f"/c/{card.slug}/vcard").content.decode())
    assert vcard.title.value == "<script>alert(1)</script>"  # plain text in a vCard, never interpreted


def test_vcard_is_3_0_utf8_with_embedded_photo_read_by_two_parsers(client, card, settings):
    card = services.card_update(
        card=card,
        changes={
            "first_name": "Zoë",
            "last_name": "Ñúñez",
            "company": "Ça, va; oui",
            "department": "R&D",
            "job_title": "Ingénieure",
            "street": "1 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "France",
            "links": [{"label": "LinkedIn", "url": "https://www.linkedin.com/in/zoe", "public": True}],
        },
    )
    services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    response = client.get(f"/c/{card.slug}/vcard")
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    # RFC 6266: an ASCII name for old clients, the exact name in UTF-8 for the others.
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Zoe-Nunez.vcf\"; filename*=UTF-8''Zo%C3%AB-%C3%91%C3%BA%C3%B1ez.vcf"
    )
    parsed, strict = both_parse(response.content)
    assert parsed.version.value == "3.0"
    assert parsed.fn.value == "Zoë Ñúñez" == strict["FN"][0].text
    assert (parsed.n.value.given, parsed.n.value.family) == ("Zoë", "Ñúñez")
    assert strict["N"][0].values[:2] == [["Ñúñez"], ["Zoë"]]
    assert parsed.org.value == ["Ça, va; oui", "R&D"] == [c[0] for c in strict["ORG"][0].values]
    assert parsed.title.value == "Ingénieure" == strict["TITLE"][0].text
    assert parsed.tel.value == "+33612345678" == strict["TEL"][0].text
    assert "CELL" in parsed.tel.params["TYPE"] and "CELL" in strict["TEL"][0].params["TYPE"]
    assert parsed.email.value == "bob@alpha.example" == strict["EMAIL"][0].text
    assert parsed.adr.value.street == "1 rue de la Paix" and parsed.adr.value.code == "75002"
    assert strict["ADR"][0].values == [
        [""],
        [""],
        ["1 rue de la Paix"],
        ["Paris"],
        [""],
        ["75002"],
        ["France"],
    ]
    assert [p.text for p in strict["URL"] if p.group is None] == ["https://alpha.example"]
    assert labelled_urls(strict) == {"LinkedIn": "https://www.linkedin.com/in/zoe"}
    assert vobject_labelled_urls(parsed) == {"LinkedIn": "https://www.linkedin.com/in/zoe"}
    photo = parsed.photo.value
    assert photo[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(photo)).size == (256, 256)
    assert base64.b64decode(strict["PHOTO"][0].text) == photo
    assert strict["SOURCE"][0].text == f"{settings.TESSERA_BASE_URL}/c/{card.slug}/vcard"


def test_vcard_filename_is_the_name_in_any_script():
    from types import SimpleNamespace

    from tessera.cards.formats import ascii_filename, content_disposition, vcard_filename

    card = SimpleNamespace(first_name="Zoë", last_name="Ñúñez", slug="x")
    assert vcard_filename(card) == "Zoë-Ñúñez.vcf" and ascii_filename("Zoë-Ñúñez.vcf") == "Zoe-Nunez.vcf"
    card = SimpleNamespace(first_name='"; filename=evil.exe', last_name="\r\nX: y", slug="x")
    assert vcard_filename(card) == "filename-evil-exe-X-y.vcf"
    assert content_disposition("Bob-Builder.vcf") == 'attachment; filename="Bob-Builder.vcf"'
    assert ascii_filename("李小龍.vcf") == "card.vcf"


def test_qr_png_decodes_to_the_card_url_with_source_tag(client, card, settings):
    png = client.get(f"/c/{card.slug}/qr.png")
    assert png["Content-Type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(__import__("io").BytesIO(png.content)))
    assert [d.text for d in decoded] == [f"{settings.TESSERA_BASE_URL}/c/{card.slug}?s=qr"]
    svg = client.get(f"/c/{card.slug}/qr.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_ndef_file_holds_one_uri_record_with_nfc_source(client, card, settings):
    response = client.get(f"/c/{card.slug}/card.ndef")
    assert response["Content-Disposition"].endswith('.ndef"')
    records = list(ndef.message_decoder(response.content))
    assert len(records) == 1 and isinstance(records[0], ndef.UriRecord)
    assert records[0].iri == f"{settings.TESSERA_BASE_URL}/c/{card.slug}?s=nfc"


def test_views_are_counted_by_source_without_cookie(client, card):
    client.get(f"/c/{card.slug}?s=nfc")
    client.get(f"/c/{card.slug}?s=qr")
    client.get(f"/c/{card.slug}?s=qr")
    client.get(f"/c/{card.slug}", HTTP_REFERER="https://elsewhere.example/post")
    client.get(f"/c/{card.slug}")
    client.get(f"/c/{card.slug}/vcard")
    stats_flush()
    row = CardDailyStat.objects.get(card=card)
    assert (row.views_nfc, row.views_qr, row.views_link, row.views_direct, row.vcard_saves) == (1, 2, 1, 1, 1)
    card.refresh_from_db()
    assert card.last_viewed_at is not None


def test_template_stylesheet_sets_colours_as_custom_properties(client, card, org):
    template = brand_template(
        org,
        "Brand",
        font="serif",
        layout="centered",
        is_default=True,
    )
    html = client.get(f"/c/{card.slug}").content.decode()
    assert f"tpl-{template.pk}" in html and "layout-centered" in html and "style=" not in html
    css = client.get(f"/c/t/{template.public_id}-{template.version}.css")
    assert css["Content-Type"].startswith("text/css")
    assert b"--card-primary: #0b5394" in css.content
    assert f"/c/t/{template.public_id}-" in html
    # Templates are reached by their opaque id only: counting through integers finds nothing.
    assert client.get(f"/c/t/{template.pk}-{template.version}.css").status_code == 404


def _noise(size, mode, fmt) -> bytes:
    """An image no encoder can shrink: independent random pixels in every channel."""
    from PIL import Image

    image = Image.merge(mode, [Image.effect_noise(size, 100) for _ in mode])
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_the_fullest_card_the_editor_allows_with_the_hardest_images_stays_under_50_kb(
    client, card, org, settings
):
    """Transferred bytes, as a browser counts them: the page gzip-encoded by the fast path, stylesheets and
    scripts precompressed as in production, fonts and images as they are (already compressed)."""
    from tessera.cards.forms import CUSTOM_SLOTS, EMAIL_SLOTS, LINK_SLOTS, PHONE_SLOTS

    from .test_fastpath import asgi

    services.template_save(
        organisation=org,
        name="Brand",
        primary_colour="#4338ca",
        background_colour="#ffffff",
        text_colour="#161a26",
        font="inter",
        layout="classic",
        is_default=True,
        logo=(_noise((1200, 600), "RGBA", "PNG"), "logo.png"),
    )
    services.card_photo_set(card=card, data=_noise((256, 256), "RGB", "JPEG"), filename="me.jpg")
    services.card_update(
        card=card,
        changes={
            "first_name": "É" * 80,
            "last_name": "Ü" * 80,
            "job_title": "j" * 120,
            "company": "c" * 120,
            "department": "d" * 120,
            "bio": ("Être « ici » & <là>. " * 30)[:600],
            "street": "s" * 200,
            "city": "v" * 100,
            "phones": [
                {"kind": "work", "number": f"+33 1 23 45 67 8{i}", "public": True} for i in range(PHONE_SLOTS)
            ],
            "emails": [
                {"kind": "work", "address": f"{'a' * 40}{i}@example.org", "public": True}
                for i in range(EMAIL_SLOTS)
            ],
            "links": [
                {
                    "label": f"Link {i} " + "l" * 40,
                    "url": f"https://example.org/{'p' * 150}/{i}",
                    "public": True,
                }
                for i in range(LINK_SLOTS)
            ],
            "custom_fields": [
                {"label": f"Field {i}", "value": "v" * 150, "public": True} for i in range(CUSTOM_SLOTS)
            ],
        },
    )
    settings.TESSERA_CARDS_PAGE_TTL = 600  # a loaded machine must not expire the page between the requests
    headers = {"Accept-Language": "fr", "Accept-Encoding": "gzip, deflate, br"}
    asgi("GET", f"/c/{card.slug}", headers=headers)  # the first view renders through Django
    page = asgi("GET", f"/c/{card.slug}", headers=headers)
    assert page.header("content-encoding") == "gzip"
    html = gzip.decompress(page.body).decode()
    assert "Être « ici »" in html and "&lt;là&gt;" in html
    total, assets = page_weight(client, html, html_bytes=len(page.body), compressed=True)
    assert any("/photo-" in url for url in assets) and any("/c/t/" in url for url in assets), assets
    assert total < 50 * 1024, (total, assets)
    from tessera.cards import images

    photo = next(size for url, size in assets.items() if "/photo-" in url)
    logo = next(size for url, size in assets.items() if "/c/t/" in url and url.endswith(".png"))
    assert photo <= images.PHOTO_SMALL_MAX_BYTES and logo <= images.LOGO_MAX_BYTES


def test_a_new_organisation_owner_card_carries_the_account_name(client, org, admin_user):
    card = admin_user.cards.get(organisation=org)
    assert (card.first_name, card.last_name, card.company) == ("Alice", "Admin", "Alpha")
    html = client.get(f"/c/{card.slug}").content.decode()
    assert "<title>Alice Admin</title>" in html and "<h1>Alice Admin</h1>" in html
    assert "Leave your details for Alice Admin." in html


def test_a_card_without_a_name_has_a_neutral_title_and_stays_off_the_web(client, db):
    from django.test import Client

    from tessera.core.csrf import FORM_FIELD, form_token_make

    owner = UserFactory(email="nameless@alpha.example", full_name="")  # signed up without giving a name
    card = owner.cards.get(organisation=accounts_services.organisation_create(owner=owner, name="Alpha"))
    for path in ("", "/vcard", "/qr.svg", "/qr.png", "/card.ndef", "/exchange/challenge"):
        assert client.get(f"/c/{card.slug}{path}").status_code == 404, path
    exchange = {FORM_FIELD: form_token_make(), "name": "V", "email": "v@example.net", "consent": "on"}
    assert (
        client.post(f"/c/{card.slug}/exchange", exchange, HTTP_ORIGIN="http://testserver").status_code == 404
    )

    owner_pages = Client()
    owner_pages.force_login(owner)
    for path in ("/en/cards/", f"/en/cards/card/{card.slug}/", f"/en/cards/org/alpha/cards/{card.slug}/"):
        html = owner_pages.get(path).content.decode()
        assert "Business card (Alpha)" in html, path
        assert f">{card.slug}<" not in html, path  # the slug appears as an address, never as a title
    assert (
        "its page answers “not found” until you give it one"
        in owner_pages.get(f"/en/cards/card/{card.slug}/").content.decode()
    )

    services.card_update(card=card, changes={"first_name": "Nina"})
    assert "<title>Nina</title>" in client.get(f"/c/{card.slug}").content.decode()


def _card_page_queries(client, card) -> list[str]:
    """The SQL of one render of the card page by Django (the test client never meets the ASGI fast path)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/c/{card.slug}?s=qr")
        assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_the_card_page_reads_a_fixed_number_of_queries_whatever_the_organisation_holds(
    client, card, org, admin_user, monkeypatch
):
    # The view that writes the pending counters (one every few seconds) is measured apart: not here.
    monkeypatch.setattr(analytics, "FLUSH_SECONDS", 3600)
    single = _card_page_queries(client, card)
    # More of everything the page could read row by row: templates, colleagues' cards, phones, links.
    for n in range(9):
        brand_template(org, name=f"Office {n}")
        invitation = services.invitation_create(
            organisation=org, email=f"colleague{n}@alpha.example", invited_by=admin_user
        )
        services.invitation_accept(invitation=invitation, password=PASSWORD, full_name=f"Colleague {n}")
    services.card_update(
        card=card,
        changes={
            "phones": [
                {"kind": "mobile", "number": f"+33 6 12 34 56 {n:02}", "public": True} for n in range(5)
            ],
            "links": [{"label": f"Site {n}", "url": f"https://alpha.example/{n}"} for n in range(5)],
        },
    )
    many = _card_page_queries(client, card)
    assert len(many) == len(single) <= CARD_PAGE_QUERIES, many
