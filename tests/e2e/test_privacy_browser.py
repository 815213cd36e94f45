import io
import json
import re
import zipfile

from tessera.privacy.exports import schema_errors
from tests.factories import UserFactory


def _verified_user(email="ada@example.org", password="correct horse battery staple"):
    return UserFactory(email=email, password=password, full_name="Ada L"), password


def test_privacy_pages_set_no_cookie_and_load_nothing_from_third_parties(server, page, request_log):
    for path in ["/privacy/", "/en/privacy/", "/privacy/rights/", "/en/privacy/rights/"]:
        page.goto(server.url + path)
        assert page.locator("h1").first.is_visible()
    page.goto(server.url + "/en/privacy/rights/")
    page.fill('input[name="email"]', "nobody@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_selector("#rights-sent")
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_the_cookie_table_matches_what_a_real_browser_receives(server, page):
    _user, password = _verified_user()
    page.goto(server.url + "/en/privacy/")
    declared = set(page.locator("#cookie-table code").all_inner_texts())
    assert page.context.cookies() == []
    page.goto(server.url + "/en/accounts/login/")
    token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
    # Signed in through the browser context's own HTTP stack, so the cookies are the server's.
    # (The sign-in page's own form is sent with `Origin: null` under `no-referrer`; see the report.)
    response = page.request.post(
        server.url + "/en/accounts/login/",
        form={"login": "ada@example.org", "password": password, "csrfmiddlewaretoken": token},
        headers={"Origin": server.url},
    )
    assert response.ok
    page.goto(server.url + "/en/accounts/")
    page.get_by_role("link", name="My data and my privacy rights").click()
    page.wait_for_url(re.compile(r".*/privacy/account/$"))
    received = {cookie["name"] for cookie in page.context.cookies()}
    assert received and received <= declared, (received, declared)


def test_a_person_downloads_their_data_through_the_emailed_link(server, page, smtp, request_log):
    user, _password = _verified_user()
    page.goto(server.url + "/en/privacy/rights/")
    page.fill('input[name="email"]', user.email)
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_selector("#rights-sent")
    message = smtp.wait_for(1)[0]
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/privacy/rights/link/\S+/", body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#data-summary")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data").click()
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    data = json.loads(archive.read("data.json"))
    account = next(s for s in data["sections"] if s["category"] == "account")
    assert account["rows"][0]["email"] == user.email
    assert schema_errors(data, json.loads(archive.read("schema.json"))) == []
    assert archive.read("README.txt").decode().startswith("Your personal data")
    page.goto(link)
    assert "already used" in page.locator("#link-error").inner_text()
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
