"""Bundled card fonts: from our own origin, only the template's font, and the page still under 50 KB."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tessera.accounts import services as accounts_services
from tessera.cards import fastpath, services
from tessera.cards.models import CardTemplate
from tests.factories import UserFactory

from .conftest import jpeg_bytes
from .test_fastpath import asgi
from .test_public_page import page_weight

FONTS_DIR = Path(settings.BASE_DIR) / "tessera" / "static" / "tessera" / "vendor" / "fonts"
SYSTEM_STACKS = {"system", "serif", "mono"}
# template value -> (directory under vendor/fonts, CSS family name, generic family of the fallback stack)
BUNDLED = {
    "inter": ("inter", "Inter", "sans-serif"),
    "source-serif-4": ("source-serif-4", "Source Serif 4", "serif"),
    "atkinson": ("atkinson-hyperlegible", "Atkinson Hyperlegible", "sans-serif"),
    "jetbrains-mono": ("jetbrains-mono", "JetBrains Mono", "monospace"),
}
FOREIGN_HOSTS = (
    "registry.npmjs.org",
    "npmjs.com",
    "yarnpkg.com",
    "unpkg.com",
    "jsdelivr",
    "googleapis",
    "gstatic",
)


@pytest.fixture(autouse=True)
def _fresh_pages():
    fastpath.pages_invalidate()
    yield
    fastpath.pages_invalidate()


def _template(org, font: str, template=None):
    return services.template_save(
        organisation=org,
        template=template,
        name="Brand",
        primary_colour="#4338ca",
        background_colour="#ffffff",
        text_colour="#161a26",
        font=font,
        layout="classic",
        is_default=True,
    )


def _font_links(html: str) -> list[str]:
    return [u for u in re.findall(r'<link[^>]+href="([^"]+)"', html) if "/vendor/fonts/" in u]


def test_every_font_choice_is_a_system_stack_or_a_bundled_font():
    assert set(CardTemplate.Font.values) == SYSTEM_STACKS | set(BUNDLED)
    assert all(len(value) <= CardTemplate._meta.get_field("font").max_length for value in BUNDLED)


@pytest.mark.parametrize("directory", sorted(d for d, _, _ in BUNDLED.values()))
def test_vendored_font_has_its_licence_and_origin_and_nothing_from_a_registry(directory):
    folder = FONTS_DIR / directory
    woff2 = list(folder.glob("*.woff2"))
    assert len(woff2) == 1 and woff2[0].read_bytes()[:4] == b"wOF2"
    assert woff2[0].stat().st_size < 25 * 1024
    assert "SIL Open Font License, Version 1.1" in (folder / "OFL.txt").read_text()
    assert re.search(r"`@fontsource/[a-z0-9-]+` version \d+\.\d+\.\d+", (folder / "README.md").read_text())
    for path in folder.iterdir():
        content = path.read_bytes().lower()
        assert not any(host.encode() in content for host in FOREIGN_HOSTS), path
    css = (folder / "font.css").read_text()
    assert "font-display: swap" in css and f'url("{woff2[0].name}")' in css


@pytest.mark.parametrize("font", sorted(BUNDLED))
def test_page_with_a_bundled_font_stays_under_50_kb_font_included(client, card, org, font):
    directory, family, generic = BUNDLED[font]
    services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    _template(org, font)
    response = client.get(f"/c/{card.slug}", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200 and not response.cookies
    html = response.content.decode()
    assert re.search(rf'<body class="card-page tpl-\d+ layout-classic font-{font}">', html)

    # Only this font, from this origin: its stylesheet, and the file preloaded as the stylesheet asks.
    base = f"/static/tessera/vendor/fonts/{directory}/"
    font_file = next(FONTS_DIR.joinpath(directory).glob("*.woff2")).name
    assert _font_links(html) == [base + font_file, base + "font.css"]
    assert re.search(
        rf'<link rel="preload" href="{base + font_file}" as="font" type="font/woff2" crossorigin>', html
    )
    css = client.get(base + "font.css")
    assert css["Content-Type"].startswith("text/css")
    stylesheet = b"".join(css.streaming_content).decode()
    assert f'font-family: "{family}";' in stylesheet and "font-display: swap;" in stylesheet
    assert re.search(rf'\.font-{font} {{ font-family: "{family}", [^;]+, {generic}; }}', stylesheet)

    total, assets = page_weight(client, html)
    assert [url for url in assets if url.endswith(".woff2")] == [base + font_file]
    assert assets[base + font_file] == FONTS_DIR.joinpath(directory, font_file).stat().st_size
    assert total < 50 * 1024, (total, assets)

    served = client.get(base + font_file)
    assert served.status_code == 200 and served["Content-Type"] == "font/woff2" and not served.cookies
    assert b"".join(served.streaming_content)[:4] == b"wOF2"
    # The CSP lets the page use fonts from its own origin, and from nowhere else.
    font_src = re.search(r"font-src ([^;]+)", response["Content-Security-Policy"]).group(1)
    assert font_src.split() == ["'self'"]


@pytest.mark.parametrize("font", sorted(SYSTEM_STACKS))
def test_system_font_stacks_load_no_font(client, card, org, font):
    _template(org, font)
    html = client.get(f"/c/{card.slug}").content.decode()
    assert f"font-{font}" in html and _font_links(html) == []
    _total, assets = page_weight(client, html)
    assert not [url for url in assets if url.endswith((".woff2", ".woff", ".ttf"))]


def test_no_template_no_font(client, card):
    assert _font_links(client.get(f"/c/{card.slug}").content.decode()) == []


def test_a_font_change_shows_on_the_next_request_through_the_fast_path(card, org):
    template = _template(org, "inter")
    first = asgi("GET", f"/c/{card.slug}").body.decode()
    assert "fonts/inter/font.css" in first
    assert asgi("GET", f"/c/{card.slug}").body.decode() == first  # answered from the pre-rendered page
    _template(org, "jetbrains-mono", template=template)
    changed = asgi("GET", f"/c/{card.slug}").body.decode()
    assert "fonts/jetbrains-mono/font.css" in changed and "fonts/inter/" not in changed
    _template(org, "system", template=template)
    assert _font_links(asgi("GET", f"/c/{card.slug}").body.decode()) == []


def test_template_editor_preview_can_show_every_bundled_font(client, admin_user, org):
    client.force_login(admin_user)
    new = client.get(f"/cards/org/{org.slug}/templates/new/").content.decode()
    for directory, _family, _generic in BUNDLED.values():
        assert f'href="/static/tessera/vendor/fonts/{directory}/font.css"' in new
    assert 'rel="preload"' not in new  # the preview downloads only the font it shows
    template = _template(org, "source-serif-4")
    edit = client.get(f"/cards/org/{org.slug}/templates/{template.pk}/").content.decode()
    assert re.search(
        r'class="card-page tpl-\d+ layout-classic font-source-serif-4" id="template-preview"', edit
    )
    assert '<option value="source-serif-4" selected>' in edit


# --- in a real browser --------------------------------------------------------------------------------


LOADED = "(family) => [...document.fonts].some((f) => f.family.replace(/\"/g, '') === family && f.status === 'loaded')"


def _problems(page) -> list:
    sink: list = []

    def console(message):
        # The card page has no favicon (one request fewer elsewhere); anything else is a problem.
        if message.type in ("error", "warning") and not message.location["url"].endswith("/favicon.ico"):
            sink.append(f"{message.text} {message.location['url']}")

    page.on("console", console)
    page.on("pageerror", lambda error: sink.append(str(error)))
    return sink


@pytest.mark.e2e
def test_browser_renders_each_bundled_font_from_the_same_origin(server, page, request_log):
    owner = UserFactory(email="fonts@alpha.example", full_name="Chloé Lefèvre")
    organisation = accounts_services.organisation_create(owner=owner, name="Alpha")
    card = owner.cards.get(organisation=organisation)
    services.card_update(
        card=card, changes={"first_name": "Chloé", "last_name": "Lefèvre", "job_title": "Ingénieure"}
    )
    problems = _problems(page)
    template = None
    for font, (directory, family, _generic) in BUNDLED.items():
        template = _template(organisation, font, template=template)
        page.goto(server.url + f"/c/{card.slug}")
        page.wait_for_function(LOADED, arg=family)
        used = page.evaluate(
            "() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replace(/\"/g, ''))"
        )
        assert used == [family]
        assert family in page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        assert any(f"/static/tessera/vendor/fonts/{directory}/" in url for url in request_log.urls)
    assert request_log.third_party(server.url) == []
    assert page.context.cookies() == []
    assert problems == []


@pytest.mark.e2e
def test_template_editor_live_preview_switches_fonts(server, page):
    admin = UserFactory(email="admin@alpha.example", password="a-long-test-password", full_name="Alice Admin")
    organisation = accounts_services.organisation_create(owner=admin, name="Alpha")
    page.goto(server.url + "/accounts/login/")
    page.fill('input[name="login"]', "admin@alpha.example")
    page.fill('input[name="password"]', "a-long-test-password")
    page.click('main form[action="/accounts/login/"] button[type="submit"]')
    page.wait_for_url(re.compile(r".*/accounts/$|.*/$"))
    problems = _problems(page)
    page.goto(server.url + f"/cards/org/{organisation.slug}/templates/new/")
    preview = page.locator("#template-preview")
    for font, (_directory, family, _generic) in BUNDLED.items():
        page.select_option('select[name="font"]', font)
        page.wait_for_function(LOADED, arg=family)
        assert f"font-{font}" in preview.get_attribute("class")
        assert family in preview.evaluate("(node) => getComputedStyle(node).fontFamily")
    page.select_option('select[name="font"]', "system")
    assert "font-system" in preview.get_attribute("class")
    assert problems == []
