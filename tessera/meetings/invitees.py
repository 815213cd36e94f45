"""Parsing of a pasted list of addresses."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

SEPARATORS = re.compile(r"[,;\r\n]+")
_validate = EmailValidator()


@dataclass
class InviteeList:
    emails: list = field(default_factory=list)  # valid, deduplicated, lower-cased, in order
    malformed: list = field(default_factory=list)  # (position from 1, the text as given)


def invitee_list_parse(text: str) -> InviteeList:
    """Split on commas, semicolons and new lines; validate each address; drop repeats (any case).

    Positions count the non-empty entries as the person typed them, so "3" is their third address.
    """
    result = InviteeList()
    seen = set()
    position = 0
    for raw in SEPARATORS.split(text or ""):
        candidate = raw.strip()
        if not candidate:
            continue
        position += 1
        # "Name <address>" is accepted: the address is what is kept.
        match = re.fullmatch(r"[^<>]*<([^<>]+)>", candidate)
        address = (match.group(1) if match else candidate).strip()
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
    return result
