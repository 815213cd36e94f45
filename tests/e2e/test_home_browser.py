from .aria import axe_results


def test_home_page_sets_no_cookie_and_loads_nothing_from_third_parties(server, page, request_log):
    page.goto(server.url + "/")
    assert page.locator("h1").inner_text()
    page.get_by_role("link", name="EN", exact=True).click()
    page.wait_for_url(server.url + "/en/")
    assert page.locator("h2", has_text="Meetings").is_visible()
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_sign_in_page_sets_no_cookie(server, page, request_log):
    page.goto(server.url + "/accounts/login/")
    assert page.locator("form").count() >= 1
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_api_docs_render_from_our_own_files(server, page, request_log):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(server.url + "/api/v1/docs")
    page.locator(".swagger-ui .opblock-tag", has_text="meetings").first.wait_for(timeout=15_000)
    assert page.locator(".swagger-ui .opblock-tag", has_text="cards").count() >= 1
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_home_page_passes_axe_and_its_eyebrow_keeps_aa_contrast_on_the_gradient(server, page):
    """axe-core cannot judge text on a gradient (it says "incomplete"); tests/site/test_contrast.py does."""
    for scheme, eyebrow in (("light", "rgb(17, 94, 89)"), ("dark", "rgb(94, 234, 212)")):
        page.emulate_media(color_scheme=scheme)
        for path in ("/", "/en/"):
            for width, height in ((1280, 800), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(server.url + path)
                assert page.locator(".hero .eyebrow").is_visible()
                # The colour tests/site/test_contrast.py computed from the stylesheet is the one displayed.
                assert page.eval_on_selector(".hero .eyebrow", "e => getComputedStyle(e).color") == eyebrow
                results = axe_results(page)
                violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results["violations"]]
                assert violations == [], (scheme, path, width)
