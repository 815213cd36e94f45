"""The pasted invitee list against any text: valid unique addresses in order, every bad entry by position."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tessera.meetings.invitees import invitee_list_parse

FUZZ = settings.get_profile("fuzz")
_validate = EmailValidator()


def valid(address: str) -> bool:
    try:
        _validate(address)
    except ValidationError:
        return False
    return len(address) <= 254


addresses = st.emails().filter(valid)
# A display name as people paste them: anything on one line (a new line always ends an entry).
names = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)
separators = st.sampled_from([",", ";", "\n", "\r\n", ", ", " ; ", ",\n", "\r", ";;", ",, ,"])
# Text that can never hold an address (no "@") nor split into two entries.
junk = st.text(
    st.characters(blacklist_characters=',;"\r\n@', blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda t: t.strip())


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def written(draw, address):
    """One address as a person may write it: bare, after a plain or quoted name, with a language tag."""
    form = draw(st.sampled_from(["bare", "angle", "plain", "quoted"]))
    if form == "bare":
        text = address
    elif form == "angle":
        text = f"<{address}>"
    elif form == "plain":
        plain = re.sub(r'[<>",;]', "", draw(names))
        text = f"{plain} <{address}>"
    else:
        text = f"{quoted(draw(names))} <{address}>"
    tag = draw(st.sampled_from(["", " [en]", "[FR]", " [ fr ]"]))
    return text + tag, address, tag.strip(" []").strip().lower()


def shout(address: str, upper: bool) -> str:
    return address.upper() if upper else address


@settings(FUZZ)
@given(st.text(max_size=400))
@example('"' * 3 + "a@x.org, b@x.org")
@example('"\\')
@example("\u2028a@x.org\x85b@x.org")
@example("a@x.org" + "\\" * 400)
@example('"Doe, Jane" <j@x.org> [en]' * 50)
def test_any_text_gives_valid_unique_addresses_and_numbered_refusals(text):
    parsed = invitee_list_parse(text)
    assert all(valid(e) and e == e.lower() for e in parsed.emails)
    assert len(set(parsed.emails)) == len(parsed.emails)
    positions = [position for position, _ in parsed.malformed]
    assert positions == sorted(set(positions)) and all(p >= 1 for p in positions)
    # Every entry is counted once: at most one per separator and line break, plus one.
    assert len(parsed.emails) + len(parsed.malformed) <= len(re.findall(r"[,;\r\n]", text)) + 1
    assert all(len(entry) <= 300 and entry == entry.strip() and entry for _, entry in parsed.malformed)
    assert set(parsed.languages) <= set(parsed.emails)


@settings(FUZZ)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("address"), addresses.flatmap(written), st.booleans()),
            st.tuples(st.just("junk"), junk, st.just(False)),
        ),
        min_size=1,
        max_size=12,
    ),
    st.data(),
)
@example(entries=[("address", ('"Doe, Jane; Q" <j@x.org>', "j@x.org", ""), False)], data=None)
@example(entries=[("address", ('"a \\" , b" <j@x.org> [en]', "j@x.org", "en"), True)], data=None)
@example(entries=[("address", ('"\\\\" <j@x.org>', "j@x.org", ""), False), ("junk", "x", False)], data=None)
def test_order_positions_and_quoted_names_survive(entries, data):
    pieces, expected_emails, expected_bad, languages = [], [], [], {}
    for position, (kind, value, upper) in enumerate(entries, start=1):
        if kind == "address":
            text, address, tag = value
            pieces.append(shout(text, upper))
            key = address.lower()
            if key not in expected_emails:
                expected_emails.append(key)
                if tag:
                    languages[key] = tag
        else:
            pieces.append(value)
            expected_bad.append((position, value.strip()[:300]))
    text = pieces[0]
    for piece in pieces[1:]:
        text += (data.draw(separators) if data else ", ") + piece
    parsed = invitee_list_parse(text)
    assert parsed.emails == expected_emails
    assert parsed.malformed == expected_bad
    assert parsed.languages == languages
