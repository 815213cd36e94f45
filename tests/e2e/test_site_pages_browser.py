"""The product pages in Chromium, on a laptop and a phone, in French and English: axe, width, cookies."""

import os
from pathlib import Path

from .aria import assert_no_dangling_aria, axe_results

PAGES = {
    "meetings": "/meetings/",
    "cards": "/product/cards/",
    "legal": "/legal/",
    "terms": "/terms/",
    "subprocessors": "/subprocessors/",
    "faq": "/faq/",
    "dpa": "/dpa/",
}
# Set to a directory to keep a full-page screenshot of each page, language and width (for review).
SHOTS = os.environ.get("TESSERA_SHOTS", "")


def test_product_pages_pass_axe_fit_the_screen_set_no_cookie_and_load_nothing_from_elsewhere(
    server, page, request_log
):
    for name, path in PAGES.items():
        for lang, prefix in (("fr", ""), ("en", "/en")):
            for width, height in ((1280, 800), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(server.url + prefix + path)
                assert page.locator("html").get_attribute("lang") == lang
                assert page.locator("main h1").is_visible()
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
                    path,
                    width,
                )
                results = axe_results(page)
                serious = [
                    (v["id"], [n["target"] for n in v["nodes"]])
                    for v in results["violations"]
                    if v.get("impact") in {"serious", "critical"}
                ]
                assert serious == [], (path, lang, width, serious)
                assert_no_dangling_aria(page)
                if SHOTS:
                    page.screenshot(
                        path=str(Path(SHOTS) / f"pages-{name}-{lang}-{width}.png"), full_page=True
                    )
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_home_and_footer_lead_to_the_product_pages(server, page, request_log):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/en/")
    page.get_by_role("link", name="About meetings").click()
    page.wait_for_url(server.url + "/en/meetings/")
    page.goto(server.url + "/en/")
    page.get_by_role("link", name="About cards").click()
    page.wait_for_url(server.url + "/en/product/cards/")
    for path in ("/terms/", "/legal/", "/subprocessors/"):
        page.goto(server.url + "/")
        page.locator(f'footer a[href="{path}"]').click()
        page.wait_for_url(server.url + path)
        assert page.locator("main h1").is_visible()
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
