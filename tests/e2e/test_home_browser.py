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
