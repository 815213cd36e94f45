"""The security page in Chromium, as a person on a laptop or a phone sees it, in French and in English."""

from .aria import assert_no_dangling_aria, axe_results

SECTIONS = ["how-it-works", "what-the-server-sees", "threat-model", "safety-code", "links-carry-the-key"]


def test_security_page_passes_axe_fits_the_screen_sets_no_cookie_and_loads_nothing_from_elsewhere(
    server, page, request_log
):
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path, lang in (("/security/", "fr"), ("/en/security/", "en")):
            for width, height in ((1280, 800), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(server.url + path)
                assert page.locator("html").get_attribute("lang") == lang
                assert page.locator("main h1").is_visible()
                assert page.locator("main h2").count() == len(SECTIONS)
                # Nothing wider than the screen: no sideways scrolling on a phone.
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
                    path,
                    width,
                )
                results = axe_results(page)
                violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results["violations"]]
                assert violations == [], (scheme, path, width, violations)
                assert_no_dangling_aria(page)
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_the_contents_lead_to_each_section_and_home_and_footer_lead_to_the_page(server, page, request_log):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/en/")
    page.get_by_role("link", name="How your meetings are protected").click()
    page.wait_for_url(server.url + "/en/security/")
    for section in SECTIONS:
        page.locator(f'nav a[href="#{section}"]').click()
        page.wait_for_url(f"{server.url}/en/security/#{section}")
        assert page.locator(f"#{section} h2").is_visible()
        assert page.evaluate(f"document.getElementById('{section}').getBoundingClientRect().top") < 844
    page.goto(server.url + "/")
    page.locator('footer a[href="/security/"]').click()
    page.wait_for_url(server.url + "/security/")
    assert page.locator("#safety-code").count() == 1
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
