"""Read a vCard back with two independent readers: vobject, and the strict RFC 2426 validator `vcard`.

`vcard` (PyPI, by Victor Engmark) parses and validates each content line: its name, its parameters and
their allowed values per property, the number of components of N and ADR, the photo's encoding, the
mandatory properties. Two details of how it is called here follow the RFC rather than that library:
- RFC 2426 defines its grammar on octets (NON-ASCII = %x80-FF), so the UTF-8 bytes are given to it one
  octet per character (latin-1), and each value is decoded back from UTF-8 afterwards;
- RFC 2426 section 4 allows a group on each content line (`item1.URL`, which Apple and Google use to
  label a URL), whereas the library only accepts one group for the whole vCard: the group is read off
  each line here, and the rest of the line goes through the library's parser and validators.
"""

import re
import warnings
from dataclasses import dataclass

import vobject
from vcard.vcard_validator import get_vcard_properties, unfold_vcard_lines

GROUP = re.compile(r"^([A-Za-z0-9-]+)\.")
ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\N": "\n", "\\,": ",", "\\;": ";"}


@dataclass
class Property:
    group: str | None
    name: str
    params: dict[str, set[str]]
    values: list[list[str]]  # components (separated by ;), each a list of parts (separated by ,)

    @property
    def text(self) -> str:
        """The value of a single-text property, unescaped."""
        assert len(self.values) == 1 and len(self.values[0]) == 1, self.values
        return self.values[0][0]


def _unescape(value: str) -> str:
    return re.sub(r"\\[\\nN,;]", lambda m: ESCAPES[m.group(0)], value)


def _utf8(value: str) -> str:
    return value.encode("latin-1").decode("utf-8")


def strict_parse(data: bytes) -> dict[str, list[Property]]:
    """Every property of one vCard 3.0 by upper-case name, validated by `vcard`; fails on any error."""
    octets = data.decode("latin-1")
    assert octets.endswith("\r\n") and "\n" not in octets.replace("\r\n", ""), "lines end with CRLF"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Only CRLF ends a line: splitlines() would also split on octets such as 0x85 (in "ą", C4 85).
        lines = unfold_vcard_lines([line + "\r\n" for line in octets.split("\r\n")[:-1]])
        groups, bare = [], []
        for line in lines:
            match = GROUP.match(line)
            groups.append(match.group(1) if match else None)
            bare.append(line[match.end() :] if match else line)
        parsed = get_vcard_properties(bare)
    too_long = [str(w.message)[:80] for w in caught if "Long line" in str(w.message)]
    assert not too_long, too_long  # folded to 75 octets
    result: dict[str, list[Property]] = {}
    for group, item in zip(groups, parsed, strict=True):
        values = [[_unescape(_utf8(part)) for part in component] for component in item.values]
        params = {name.upper(): {_utf8(v) for v in vs} for name, vs in (item.parameters or {}).items()}
        result.setdefault(item.name.upper(), []).append(Property(group, item.name.upper(), params, values))
    assert result["BEGIN"][0].text == "VCARD" and result["END"][0].text == "VCARD"
    assert result["VERSION"][0].text == "3.0"
    return result


def labelled_urls(properties: dict[str, list[Property]]) -> dict[str, str]:
    """label -> URL of the item groups pairing a URL with its X-ABLabel."""
    labels = {p.group: p.text for p in properties.get("X-ABLABEL", [])}
    return {labels[p.group]: p.text for p in properties.get("URL", []) if p.group in labels}


def both_parse(data: bytes):
    """(vobject's reading, the strict reading) of the same bytes."""
    return vobject.readOne(data.decode("utf-8")), strict_parse(data)


def vobject_labelled_urls(card) -> dict[str, str]:
    by_group: dict[str, dict] = {}
    for line in card.getChildren():
        if line.group:
            by_group.setdefault(line.group, {})[line.name] = line.value
    return {g["X-ABLABEL"]: g["URL"] for g in by_group.values() if {"X-ABLABEL", "URL"} <= set(g)}
