"""Parsing of a pasted list of addresses."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

SEPARATORS = re.compile(r"[,;\r\n]+")
LINES = re.compile(r"\r\n|\r|\n")
# An entry may end with the language of that person's emails: "anna@example.org [en]".
LANGUAGE_TAG = re.compile(r"^(.*?)\s*\[\s*([A-Za-z]{2}(?:-[A-Za-z]{2})?)\s*\]$")
# A display name, plain or quoted (a quoted one may hold any character but an unescaped quote).
DISPLAY_NAME = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|[^<>"]*)\s*<([^<>]+)>\s*')
_validate = EmailValidator()


@dataclass
class InviteeList:
    emails: list = field(default_factory=list)  # valid, deduplicated, lower-cased, in order
    malformed: list = field(default_factory=list)  # (position from 1, the text as given)
    languages: dict = field(default_factory=dict)  # address -> language code, for tagged entries


def _languages() -> set[str]:
    from django.conf import settings

    return {code for code, _name in settings.LANGUAGES}


def _entries(text: str) -> list[str]:
    """Split on commas and semicolons outside double quotes (`"Doe, Jane" <j@x.org>`), and on new lines.

    A new line always ends an entry; a line whose quotes do not pair up is split on every separator,
    so that one stray quote cannot swallow the addresses after it.
    """
    entries = []
    for line in LINES.split(text or ""):
        parts = _split_outside_quotes(line)
        entries.extend(SEPARATORS.split(line) if parts is None else parts)
    return entries


def _split_outside_quotes(line: str) -> list[str] | None:
    """The line split on commas and semicolons outside double quotes; None when its quotes do not pair up."""
    parts, current, quoted, escaped = [], [], False, False
    for char in line:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in ",;" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return None if quoted else parts


def invitee_list_parse(text: str) -> InviteeList:
    """Split on commas, semicolons and new lines; validate each address; drop repeats (any case).

    A quoted display name may hold a comma or a semicolon: `"Doe, Jane" <jane@example.org>` is one entry.

    Positions count the non-empty entries as the person typed them, so "3" is their third address.
    An entry may end with a language tag, `[en]` or `[fr]`, for that person's emails; an unknown
    language makes the entry malformed.
    """
    result = InviteeList()
    seen = set()
    position = 0
    languages = _languages()
    for raw in _entries(text):
        candidate = raw.strip()
        if not candidate:
            continue
        position += 1
        language = ""
        tagged = LANGUAGE_TAG.match(candidate)
        if tagged:
            language = tagged.group(2).lower()
            if language not in languages:
                result.malformed.append((position, candidate[:300]))
                continue
        # "Name <address>" and '"Last, First" <address>' are accepted: the address is what is kept.
        entry = tagged.group(1) if tagged else candidate
        match = DISPLAY_NAME.fullmatch(entry)
        address = (match.group(1) if match else entry).strip()
        try:
            if len(address) > 254:
                raise ValidationError("too long")
            _validate(address)
        except ValidationError:
            result.malformed.append((position, candidate[:300]))
            continue
        key = address.lower()
        if key not in seen:
            seen.add(key)
            result.emails.append(key)
            if language:
                result.languages[key] = language
    return result
