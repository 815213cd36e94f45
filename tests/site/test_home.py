import pytest

pytestmark = pytest.mark.django_db


def test_home_in_french_by_default_and_english_under_prefix(client):
    french = client.get("/")
    english = client.get("/en/")
    assert french.status_code == 200 and english.status_code == 200
    assert 'lang="fr"' in french.content.decode()
    assert "Réunions" in french.content.decode()
    assert 'lang="en"' in english.content.decode()
    assert "Meetings" in english.content.decode()


def test_language_switch_links_to_the_same_page_in_the_other_language(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/en/accounts/login/"' in html


def test_home_sets_no_cookie_and_strict_headers(client):
    response = client.get("/")
    assert not response.cookies
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]


def test_pages_hold_no_inline_script_or_style(client):
    for path in ["/", "/en/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        html = client.get(path).content.decode()
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
