"""Text as line-based formats may carry it."""

import re

# vCard and iCalendar values may hold no ASCII control character but the tab (RFC 2426 2.4.2,
# RFC 5545 3.1): line breaks are escaped by the writers, anything else would be read as a line end or
# refused by strict readers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(value: str) -> str:
    """`value` with CR and CRLF made line breaks and every other control character but the tab dropped."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
