"""Hostile text in every profile field: escaped in the page, intact in the vCard and in every email."""

import re
from html.parser import HTMLParser

from tessera.accounts import services as accounts_services
from tessera.cards import services
from tessera.core import sealing
from tessera.core.models import OutboxMessage
from tessera.core.outbox import outbox_deliver_due
from tests.factories import UserFactory

from .conftest import jpeg_bytes
from .test_exchange import _post
from .vcard_check import both_parse, labelled_urls, vobject_labelled_urls

HOSTILE = 'Q"uote; semi: colon, comma <b>bold</b> \\ back\nline <script>alert(1)</script>'
SHORT = '"<;:,>\n!'  # fits the postal code's 20 characters
URL = 'https://www.example.org/in/bob?q="x";y,z<w>'
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "company",
    "department",
    "bio",
    "office",
    "street",
    "city",
)


class _Elements(HTMLParser):
    """Every element of a page and its text, as a browser would build them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def _squash(text: str) -> str:
    return " ".join(text.split())


def _plain(mail) -> str:
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP carries CRLF


def _hostile_card(card):
    changes = {name: HOSTILE for name in TEXT_FIELDS} | {
        "postal_code": SHORT,
        "country": SHORT,
        "website": URL,
        "links": [{"label": HOSTILE, "url": URL, "public": True}],
        "custom_fields": [{"label": HOSTILE, "value": HOSTILE, "public": True}],
        "phones": [{"kind": "work", "number": "+33 1 23 45 67 89", "public": True}],
        "emails": [{"kind": "work", "address": "bob@alpha.example", "public": True}],
    }
    card = services.card_update(card=card, changes=changes)
    return services.card_photo_set(card=card, data=jpeg_bytes(), filename='"><script>.jpg')


def _assert_vcard_round_trips(data: bytes):
    vo, strict = both_parse(data)
    assert vo.n.value.given == HOSTILE and vo.n.value.family == HOSTILE
    assert vo.fn.value == f"{HOSTILE} {HOSTILE}"
    assert vo.org.value == [HOSTILE, HOSTILE] and vo.title.value == HOSTILE
    assert (
        vo.adr.value.extended,
        vo.adr.value.street,
        vo.adr.value.city,
        vo.adr.value.code,
        vo.adr.value.country,
    ) == (
        HOSTILE,
        HOSTILE,
        HOSTILE,
        SHORT,
        SHORT,
    )
    assert vo.note.value == f"{HOSTILE}\n{HOSTILE}: {HOSTILE}"
    assert vo.tel.value == "+33123456789" and vo.email.value == "bob@alpha.example"
    assert vobject_labelled_urls(vo) == {HOSTILE: URL}
    assert vo.photo.value[:3] == b"\xff\xd8\xff"

    assert strict["N"][0].values == [[HOSTILE], [HOSTILE], [""], [""], [""]]
    assert strict["FN"][0].text == f"{HOSTILE} {HOSTILE}"
    assert strict["ORG"][0].values == [[HOSTILE], [HOSTILE]]
    assert strict["TITLE"][0].text == HOSTILE
    assert strict["ADR"][0].values == [[""], [HOSTILE], [HOSTILE], [HOSTILE], [""], [SHORT], [SHORT]]
    assert strict["NOTE"][0].text == f"{HOSTILE}\n{HOSTILE}: {HOSTILE}"
    assert [p.text for p in strict["TEL"]] == ["+33123456789"]
    assert [p.text for p in strict["EMAIL"]] == ["bob@alpha.example"]
    assert labelled_urls(strict) == {HOSTILE: URL}
    assert URL in [p.text for p in strict["URL"] if p.group is None]
    assert strict["PHOTO"][0].params == {"ENCODING": {"b"}, "TYPE": {"JPEG"}}
    assert strict["PHOTO"][0].text.startswith("/9j/")


def test_hostile_profile_is_escaped_in_the_page_and_intact_in_the_vcard(client, card):
    card = _hostile_card(card)
    response = client.get(f"/c/{card.slug}")
    assert response.status_code == 200
    page = _elements(response.content.decode())
    assert not [t for t, _ in page.tags if t == "b"]  # the markup stayed text
    assert all(attrs.get("src") for t, attrs in page.tags if t == "script")  # only the page's own module
    text = _squash(" ".join(page.text))
    assert text.count(_squash(HOSTILE)) >= len(TEXT_FIELDS) + 2  # every field, the link label, custom field
    assert [a["href"] for t, a in page.tags if t == "a" and a.get("href") == URL] == [URL, URL]

    vcard = client.get(f"/c/{card.slug}/vcard")
    assert vcard.status_code == 200
    disposition = vcard["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", fallback) and fallback.endswith(".vcf")
    _assert_vcard_round_trips(vcard.content)


def test_hostile_profile_and_lead_in_the_exchange_emails(client, card, member, smtp):
    card = _hostile_card(card)
    lead_fields = {"name": HOSTILE, "company": HOSTILE, "job_title": HOSTILE, "message": HOSTILE}
    response = _post(client, card, **lead_fields)
    assert response.status_code == 200, response.content.decode()[:500]
    assert "<script>alert" not in response.content.decode()

    visitor = OutboxMessage.objects.get(kind="cards_exchange_visitor")
    owner = OutboxMessage.objects.get(kind="cards_exchange_owner")
    for message in (visitor, owner):
        assert "\n" not in message.subject and _squash(HOSTILE) in message.subject
        assert HOSTILE in message.body_text  # plain text: exactly what was typed
        assert "<script>" not in message.body_html and "<b>" not in message.body_html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.body_html
    assert _squash(f"{HOSTILE} {HOSTILE}") in _squash(visitor.body_text)
    _assert_vcard_round_trips(bytes(visitor.attachments.get().content))

    # A real SMTP server receives both, headers intact.
    assert outbox_deliver_due() == 3  # with the member's invitation, sent before
    smtp.wait_for(3)
    to_visitor = smtp.to("vera@example.net")[0]
    to_owner = next(
        m for m in smtp.to(member.email) if "cards/leads/" in m.get_body(("plain",)).get_content()
    )
    for mail in (to_visitor, to_owner):
        assert _squash(HOSTILE) in str(mail["Subject"])
    attachment = next(to_visitor.iter_attachments())
    content = attachment.get_content()
    _assert_vcard_round_trips(content if isinstance(content, bytes) else content.encode())
    assert attachment.get_filename().endswith(".vcf")
    assert HOSTILE in _plain(to_owner)


def test_hostile_inviter_and_organisation_names_in_the_invitation_email(smtp, db):
    inviter = UserFactory(email="eve@alpha.example", full_name=HOSTILE[:150])
    organisation = accounts_services.organisation_create(owner=inviter, name=HOSTILE)
    services.invitation_create(organisation=organisation, email="new@alpha.example", invited_by=inviter)
    message = OutboxMessage.objects.get(kind="cards_invitation")
    message.body_text, message.body_html = (
        sealing.open_text(message.body_text),
        sealing.open_text(message.body_html),
    )
    assert "\n" not in message.subject and _squash(HOSTILE) in message.subject
    assert message.body_text.count(HOSTILE) == 2  # inviter and organisation, as typed
    assert "<script>" not in message.body_html and "<b>" not in message.body_html
    assert message.body_html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # body (and title)
    assert outbox_deliver_due() == 1
    mail = smtp.wait_for(1)[0]
    assert _squash(HOSTILE) in str(mail["Subject"])
    assert _plain(mail).count(HOSTILE) == 2
