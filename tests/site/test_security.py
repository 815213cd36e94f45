"""The security page: served like home, reachable from every page, and saying what decision 0010 says."""

import csv
import io
import re
from html.parser import HTMLParser

import pytest

from tessera.cards.services import contrast_ratio
from tests.e2e.aria import dangling_references
from tests.site.test_contrast import AA_NORMAL_TEXT, _colour, _variables

pytestmark = pytest.mark.django_db

SECTIONS = ["how-it-works", "what-the-server-sees", "threat-model", "safety-code", "links-carry-the-key"]


class _Outline(HTMLParser):
    """Heading levels inside <main>, ids, and same-page links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_main = False
        self.levels: list[int] = []
        self.ids: set[str] = set()
        self.fragments: list[str] = []
        self.landmarks: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        if tag in {"header", "nav", "main", "footer"}:
            self.landmarks.append(tag)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if self.in_main and re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        if tag == "a" and (attrs.get("href") or "").startswith("#"):
            self.fragments.append(attrs["href"][1:])

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def text(html: str) -> str:
    """The words of <main>, without tags, on one line."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", main))


def test_security_page_in_french_by_default_and_english_under_prefix(client):
    french = client.get("/security/")
    english = client.get("/en/security/")
    assert french.status_code == english.status_code == 200
    assert 'lang="fr"' in french.content.decode() and 'lang="en"' in english.content.decode()
    assert "<h1>How Tessera protects your meetings</h1>" in english.content.decode()
    assert client.get("/security").status_code == 301


def test_security_page_is_small_sets_no_cookie_and_keeps_the_strict_headers(client):
    for path in ("/security/", "/en/security/"):
        response = client.get(path)
        html = response.content.decode()
        assert len(response.content) < 100_000, path
        assert not response.cookies, path
        assert "default-src 'self'" in response["Content-Security-Policy"], path
        assert response["Referrer-Policy"] == "no-referrer"
        assert "<script" not in html and "<style" not in html and " style=" not in html, path
        # Every address the page refers to is on this site.
        assert not re.findall(r'(?:href|src)="(?!/|#|mailto:)', html), path


def test_headings_landmarks_anchors_and_references_hold_together(client):
    html = client.get("/en/security/").content.decode()
    page = outline(html)
    assert page.levels[0] == 1 and page.levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(page.levels, page.levels[1:], strict=False)), page.levels
    assert {"header", "nav", "main", "footer"} <= set(page.landmarks)
    assert set(SECTIONS) <= page.ids
    assert [f for f in page.fragments if f != "main"] == SECTIONS  # the table of contents, in order
    assert set(page.fragments) <= page.ids
    assert dangling_references(html) == []


def test_the_page_states_the_threat_model_of_decision_0010(client):
    words = text(client.get("/en/security/").content.decode())
    # What a malicious server can do: deny service, admit its own participant, who shows in roster and code.
    assert "Prevent the meeting: refuse to let people in, drop or delay messages, end the meeting." in words
    assert "Let in a participant of its own, for example with an invitee's link" in words
    assert (
        "appears in the list of participants and in the safety code, at least on the page that handed it"
        in words
    )
    assert "Shown on some pages only, it makes their safety code differ from the others'" in words
    assert "A request for the key in the name of a participant who already holds it is ignored." in words
    # What it cannot: obtain the key silently; nor can the email provider.
    assert "it could not obtain the key without being noticed, and neither could the email provider." in words
    # The limits 0010 keeps.
    assert (
        "our server sends them. A server that sent altered programs to a browser could take the key" in words
    )
    assert "With links that carry the key, the key is in the invitation emails" in words
    assert "A substitution is noticed only if the participants compare their safety codes." in words
    # The code, as the room shows it.
    assert "safety code of 12 digits" in words and "Everyone must see the same code." in words
    assert "If your code differs, leave the meeting and tell the organiser" in words


def test_the_page_makes_no_promise_that_no_test_proves(client):
    words = text(client.get("/en/security/").content.decode()).lower()
    for claim in (
        "military",
        "unbreakable",
        "bank-grade",
        "100%",
        "guarantee",
        "impossible",
        "completely secure",
        "fully secure",
        "most secure",
        "zero-knowledge",
        "cannot be hacked",
    ):
        assert claim not in words, claim


def test_every_page_links_to_the_security_page_in_its_language(client):
    for path, target in (("/", "/security/"), ("/en/", "/en/security/"), ("/en/privacy/", "/en/security/")):
        html = client.get(path).content.decode()
        footer = html.split('<footer class="site-footer">', 1)[1]
        assert f'href="{target}"' in footer, path
    home = client.get("/en/").content.decode()
    assert 'href="/en/security/">How your meetings are protected</a>' in home.split("</main>")[0]


def test_the_privacy_policy_states_the_guarantee_and_links_to_the_security_page(client):
    html = client.get("/en/privacy/").content.decode()
    section = html.split('<section id="communications">', 1)[1].split("</section>", 1)[0]
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", section))
    assert "a key made in the organiser's browser" in words
    assert "unless the organiser chooses links that carry the key" in words
    assert "could prevent a meeting, or let in a participant of its own" in words
    assert "could not obtain the key without the participants noticing" in words
    assert "neither could the email provider" in words
    assert 'href="/en/security/"' in section
    # The key is no longer said to travel in every link.
    assert "carried in the part of the link" not in html


def test_the_register_says_where_the_meeting_key_is_made(client):
    rows = csv.DictReader(io.StringIO(client.get("/en/privacy/register.csv").content.decode()))
    live = next(row for row in rows if row["Reference"] == "meetings.conference_data")
    measures = live["Technical and organisational security measures"]
    assert "The key is made in the organiser's browser" in measures
    assert "never to the server or the email provider" in measures


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_text_and_links_pass_aa_on_the_page_background(scheme):
    variables = _variables(scheme)
    background = _colour("var(--bg)", variables)
    for colour in ("--text", "--muted", "--primary"):  # body text, the lead paragraph, links
        ratio = contrast_ratio(_colour(f"var({colour})", variables), background)
        assert ratio >= AA_NORMAL_TEXT, (scheme, colour, round(ratio, 2))
