"""The product pages: meetings, cards, legal notice, terms and sub-processors, in French and English."""

import re

import pytest
from django.test import override_settings

from tessera.privacy.register import registry
from tests.e2e.aria import dangling_references
from tests.site.test_security import outline, text

pytestmark = pytest.mark.django_db

PAGES = {
    "/meetings/": "Meetings",
    "/product/cards/": "Cards",
    "/legal/": "Legal notice",
    "/terms/": "Terms of use",
    "/subprocessors/": "Sub-processors",
}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_in_french_by_default_and_english_under_prefix(client, path):
    french, english = client.get(path), client.get("/en" + path)
    assert french.status_code == english.status_code == 200
    assert 'lang="fr"' in french.content.decode() and 'lang="en"' in english.content.decode()
    assert f"<h1>{PAGES[path]}</h1>" in english.content.decode()
    assert client.get(path.rstrip("/")).status_code == 301


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_small_sets_no_cookie_keeps_strict_headers_and_refers_only_to_this_site(client, path):
    for url in (path, "/en" + path):
        response = client.get(url)
        html = response.content.decode()
        assert len(response.content) < 100_000, url
        assert not response.cookies, url
        assert "default-src 'self'" in response["Content-Security-Policy"], url
        assert response["Referrer-Policy"] == "no-referrer"
        # Scripts only from this site's files (the assistant's widget), never inline.
        assert not re.findall(r'<script(?![^>]*\bsrc="/static/)', html), url
        assert "<style" not in html and " style=" not in html, url
        assert not re.findall(r'(?:href|src)="(?!/|#|mailto:)', html), url
        page = outline(html)
        assert page.levels[0] == 1 and page.levels.count(1) == 1, url
        assert all(b - a <= 1 for a, b in zip(page.levels, page.levels[1:], strict=False)), url
        assert dangling_references(html) == [], url


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_home_and_footer_link_to_every_page(client, prefix):
    html = client.get(prefix + "/").content.decode()
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    footer = html.split("<footer", 1)[1]
    for path in PAGES:
        assert f'href="{prefix}{path}"' in footer, path
    for path in ("/faq/", "/contact/", "/dpa/"):
        assert f'href="{prefix}{path}"' in footer, path
    for path in ("/meetings/", "/product/cards/", "/subprocessors/"):
        assert f'href="{prefix}{path}"' in main, path
    # The instant meeting button stays on the home page.
    assert 'data-testid="start-now"' in main


def test_product_pages_say_what_each_product_does_and_does_not(client):
    meetings = text(client.get("/en/meetings/").content.decode())
    assert "encrypted end to end" in meetings and "no cookie" in meetings
    assert "no recording on our servers" in meetings
    cards = text(client.get("/en/product/cards/").content.decode())
    assert "NFC" in cards and "No payment processing" in cards


LEGAL = {
    "operator_name": "Exemple Conseil SAS",
    "legal_form": "SAS au capital de 10 000 €",
    "registered_address": "1 rue de l'Exemple, 75000 Paris",
    "registration": "RCS Paris 000 000 000",
    "vat_number": "FR00000000000",
    "phone": "+33 1 00 00 00 00",
    "email": "contact@example.org",
    "publication_director": "Camille Exemple, présidente",
    "host_name": "Hébergeur Exemple SA",
    "host_address": "2 avenue de l'Hébergement, 59000 Lille",
    "host_phone": "+33 3 00 00 00 00",
}


def test_legal_notice_shows_every_entry_from_settings(client):
    with override_settings(TESSERA_LEGAL=LEGAL):
        html = client.get("/legal/").content.decode()
    for value in LEGAL.values():
        assert value.replace("'", "&#x27;") in html, value


def test_legal_notice_placeholders_are_visible_until_production_sets_them(client):
    html = client.get("/en/legal/").content.decode()
    assert "[Publication director, name and role]" in html and "[Host address]" in html


def _listed(client, prefix="/en") -> list[str]:
    html = client.get(prefix + "/subprocessors/").content.decode()
    return re.findall(r'<h2 id="processor-([a-z0-9_-]+)-title">', html)


def test_subprocessors_page_lists_exactly_the_register_sub_processors_with_their_activities(client):
    declared = []
    for activity in registry.activities.values():
        for key in activity.sub_processors:
            if key not in declared:
                declared.append(key)
    assert sorted(_listed(client)) == sorted(declared)
    assert sorted(_listed(client, "")) == sorted(declared)
    html = client.get("/en/subprocessors/").content.decode()
    section = html.split('id="processor-hosting"', 1)[1].split("</section>", 1)[0]
    hosting_users = [a for a in registry.activities.values() if "hosting" in a.sub_processors]
    for activity in hosting_users:
        assert str(activity.title).replace("'", "&#x27;") in section, activity.name
    assert "France" in section and "European Economic Area" in section


def test_subprocessors_page_changes_when_the_register_changes(client, settings):
    settings.TESSERA_SUB_PROCESSORS = {
        **settings.TESSERA_SUB_PROCESSORS,
        "video": {
            "name": "Relay Example Inc.",
            "service": "Relaying of encrypted media",
            "country": "United States",
            "dpa_url": "",
            "transfer_safeguards": "Standard contractual clauses",
            "personal_data": True,
        },
    }
    name = next(iter(registry.activities))
    activity = registry.activities[name]
    original = activity.sub_processors
    object.__setattr__(activity, "sub_processors", (*original, "video"))
    try:
        assert "video" in _listed(client)
        html = client.get("/en/subprocessors/").content.decode()
        section = html.split('id="processor-video"', 1)[1].split("</section>", 1)[0]
        assert "United States" in section and "Standard contractual clauses" in section
        assert str(activity.title).replace("'", "&#x27;") in section
    finally:
        object.__setattr__(activity, "sub_processors", original)
    assert "video" not in _listed(client)
