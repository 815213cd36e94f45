"""vCards and invitations' .ics from hostile text: they parse back, values round-trip, nothing is injected.

Every text a member may save in a card (or an organiser in an event) goes through the services as a
client sends it; the file is then read by vobject, by the strict RFC 2426 reader `vcard`
(tests/cards/vcard_check.py) or by icalendar and vobject. The values read back are the saved ones after
the documented normalisation of the files: CR and CRLF become line breaks, other control characters
are dropped (neither format may carry them).
"""

import re
from datetime import timedelta

import pytest
import vobject
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tessera.cards import services as cards_services
from tessera.cards.formats import card_vcard
from tessera.meetings import services as meetings_services
from tessera.meetings.ics import invitation_ics
from tests.cards.vcard_check import strict_parse

FUZZ = settings.get_profile("fuzz")
DB = {"max_examples": 40, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SPECIALS = [
    "\nEMAIL:x@evil.example",
    "\r\nTEL:+15551234567",
    "\rX-INJECTED:1",
    "\nBEGIN:VEVENT",
    "\r\nATTENDEE:mailto:x@evil.example",
    ";",
    ",",
    "\\",
    "\\n",
    ":",
    '"',
    "\t",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1e",
    "\x7f",
    "\x01",
    "\x1b[31m",
    "\u2028",
    "\u2029",
    "\x85",
    "\u202e",
    "\u200f",
    "😀",
    "ą",
    "é" * 40,
    "x" * 90,
    "item1.URL:https://evil.example",
    '=HYPERLINK("https://evil.example")',
]
hostile = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
        st.sampled_from(SPECIALS),
    ),
    max_size=8,
).map("".join)


def field(limit: int, *, required: bool = False):
    values = hostile.map(lambda s: s.strip()[:limit].strip())
    return values.filter(bool) if required else values


def shown(value: str) -> str:
    """The documented normalisation of text in a vCard or an .ics."""
    return CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[: -len(b"\r\n")].split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines), "a bare CR or LF"
    return lines


def assert_folded(data: bytes) -> None:
    too_long = [line for line in physical_lines(data) if len(line) > 75]
    assert not too_long, too_long[:1]


# --- vCard ----------------------------------------------------------------------------------------

profiles = st.fixed_dictionaries(
    {
        "first_name": field(80),
        "last_name": field(80),
        "job_title": field(120),
        "company": field(120),
        "department": field(120),
        "bio": field(600),
        "street": field(200),
        "postal_code": field(20),
        "city": field(100),
        "country": field(100),
        "links": st.lists(
            st.fixed_dictionaries(
                {
                    "label": field(200, required=True),
                    "url": st.sampled_from(
                        [
                            "https://example.org/a;b,c",
                            "https://example.org/?q=1&x=%0d%0aEMAIL:x",
                            "http://ex.org",
                        ]
                    ),
                }
            ),
            max_size=3,
        ),
        "custom_fields": st.lists(
            st.fixed_dictionaries({"label": field(200, required=True), "value": field(200, required=True)}),
            max_size=3,
        ),
    }
)


def vobject_values(parsed, name: str) -> list:
    return [line.value for line in parsed.contents.get(name, [])]


@pytest.mark.django_db
@settings(FUZZ, **DB)
@given(changes=profiles)
@example(
    changes={
        "first_name": "Ann\x0bEMAIL:x@evil.example",
        "last_name": "Lee;\\,",
        "job_title": "a\rX-INJECTED:1",
        "company": "Co\x1c",
        "department": "",
        "bio": "line\r\nTEL:+15551234567\x7f",
        "street": "1 rue; 2",
        "postal_code": "75001",
        "city": "Paris\x01",
        "country": "France",
        "links": [{"label": "my\nsite", "url": "https://example.org/a;b,c"}],
        "custom_fields": [{"label": "x\x0c", "value": "ą" * 60}],
    }
)
def test_a_vcard_of_hostile_fields_parses_back_to_its_values(card, changes):
    card = cards_services.card_update(card=card, changes=changes)
    data = card_vcard(card)
    assert_folded(data)
    strict = strict_parse(data)
    parsed = vobject.readOne(data.decode("utf-8"))

    # Only the product's own properties, each as many times as the card has values for it.
    expected = {"VERSION": 1, "UID": 1, "N": 1, "FN": 1, "TEL": 1, "EMAIL": 1, "SOURCE": 1}
    expected["URL"] = 1 + len(card.links)  # the website and each link
    if card.links:
        expected["X-ABLABEL"] = len(card.links)
    for name, present in (
        ("ORG", shown(card.company) or shown(card.department)),
        ("TITLE", shown(card.job_title)),
        ("NOTE", shown(card.bio) or card.custom_fields),
        ("ADR", any(shown(getattr(card, f)) for f in ("street", "postal_code", "city", "country"))),
    ):
        if present:
            expected[name] = 1
    counts = {name: len(lines) for name, lines in strict.items() if name not in {"BEGIN", "END"}}
    assert counts == expected
    assert {n.upper(): len(v) for n, v in parsed.contents.items()} == expected

    full_name = shown(card.full_name) or shown(card.title)
    assert parsed.fn.value == full_name
    assert strict["FN"][0].text == full_name
    assert (parsed.n.value.family, parsed.n.value.given) == (shown(card.last_name), shown(card.first_name))
    assert strict["N"][0].values[:2] == [[shown(card.last_name)], [shown(card.first_name)]]
    if "TITLE" in expected:
        assert parsed.title.value == strict["TITLE"][0].text == shown(card.job_title)
    if "ORG" in expected:
        org = [shown(v) for v in (card.company, card.department) if shown(v)]
        assert parsed.org.value == org
        assert [part for component in strict["ORG"][0].values for part in component] == org
    if "NOTE" in expected:
        notes = ([card.bio] if shown(card.bio) else []) + [
            f"{f['label']}: {f['value']}" for f in card.custom_fields
        ]
        assert parsed.note.value == strict["NOTE"][0].text == shown("\n".join(notes))
    if "ADR" in expected:
        address = parsed.adr.value
        assert (address.street, address.code, address.city, address.country) == tuple(
            shown(v) for v in (card.street, card.postal_code, card.city, card.country)
        )
    assert vobject_values(parsed, "x-ablabel") == [shown(link["label"]) for link in card.links]
    assert [p.text for p in strict.get("X-ABLABEL", [])] == [shown(link["label"]) for link in card.links]
    assert vobject_values(parsed, "url") == [card.website] + [link["url"] for link in card.links]


# --- invitations' .ics ----------------------------------------------------------------------------

URL = "https://tessera.example/m/abcdef#token.secret"
EVENT_PROPERTIES = {
    "UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "URL", "LOCATION", "DESCRIPTION",
    "ORGANIZER", "ATTENDEE", "STATUS", "TRANSP",
}  # fmt: skip


@pytest.mark.django_db
@settings(FUZZ, **DB)
@given(title=field(200, required=True), description=field(5000))
@example(title="Review\x0bATTENDEE:mailto:x@evil.example", description="a\rX-INJECTED:1\r\nEND:VEVENT")
@example(title="0", description="\x1b")
@example(title="a\x01" + "é" * 120, description="\\;,\x7f" + "ą" * 300)
def test_an_invitation_ics_of_hostile_text_parses_back_to_its_values(title, description):
    created = meetings_services.event_create(
        title=title,
        description=description,
        starts_at=timezone.now() + timedelta(days=2),
        time_zone="Europe/Paris",
        duration_minutes=45,
        organiser_email="organiser@example.org",
        invitees=["guest@example.org"],
        age_confirmed=True,
    )
    event = created.event
    data = invitation_ics(event=event, attendee_email="guest@example.org", url=URL)
    assert_folded(data)
    calendar = Calendar.from_ical(data)
    (vevent,) = calendar.walk("VEVENT")
    assert set(vevent) == EVENT_PROPERTIES  # one of each, nothing injected
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE", "VEVENT"]
    assert str(vevent["summary"]) == shown(event.title)
    assert str(vevent["description"]) == f"{shown(event.description)}\n\n{URL}".strip()
    assert str(vevent["attendee"]) == "mailto:guest@example.org"

    other = vobject.readOne(data.decode("utf-8"))
    assert len(other.vevent_list) == 1 and len(other.vevent.attendee_list) == 1
    assert other.vevent.summary.value == shown(event.title)
    assert other.vevent.description.value == f"{shown(event.description)}\n\n{URL}".strip()
