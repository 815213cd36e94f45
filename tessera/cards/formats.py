"""The card in portable formats: vCard 3.0, QR codes (segno) and an NDEF URI record (ndeflib)."""

import base64
import io
import unicodedata
import uuid
from urllib.parse import quote

import ndef
import segno
import vobject
from django.conf import settings

from tessera.core.text import printable

from .fields import PROFILE_ADDRESS
from .selectors import card_profile

PHONE_TYPES = {"work": ["WORK", "VOICE"], "mobile": ["CELL", "VOICE"], "personal": ["HOME", "VOICE"]}
SOURCES = ("qr", "nfc", "link")


def card_url(card, source: str = "") -> str:
    url = f"{settings.TESSERA_BASE_URL}/c/{card.slug}"
    return f"{url}?s={source}" if source else url


def card_uid(card) -> str:
    """The vCard UID (RFC 6352 5.1): from the card's primary key and this service, so edits and slug changes keep it."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{settings.TESSERA_BASE_URL}/cards/{card.pk}')}"


def card_vcard(card) -> bytes:
    """A vCard 3.0 in UTF-8 with the photo embedded; iOS and Android contacts import it.

    Text goes through `printable`: CR becomes a line break and other control characters are dropped.
    """
    profile = _printable(card_profile(card))
    vcard = vobject.vCard()
    vcard.add("uid").value = card_uid(card)
    vcard.add("n").value = vobject.vcard.Name(family=profile["last_name"], given=profile["first_name"])
    vcard.add("fn").value = profile["full_name"] or printable(card.title)
    if profile["company"] or profile["department"]:
        vcard.add("org").value = [v for v in (profile["company"], profile["department"]) if v]
    if profile["job_title"]:
        vcard.add("title").value = profile["job_title"]
    for phone in profile["phones"]:
        line = vcard.add("tel")
        line.value = phone["number"]
        line.type_param = PHONE_TYPES.get(phone.get("kind"), ["VOICE"])
    for address in profile["emails"]:
        line = vcard.add("email")
        line.value = address["address"]
        line.type_param = ["INTERNET", "WORK" if address.get("kind") == "work" else "HOME"]
    if any(profile[k] for k in PROFILE_ADDRESS):
        line = vcard.add("adr")
        line.value = vobject.vcard.Address(
            extended=profile["office"],
            street=profile["street"],
            city=profile["city"],
            code=profile["postal_code"],
            country=profile["country"],
        )
        line.type_param = "work"  # lower case: some readers compare ADR types case-sensitively
    if profile["website"]:
        vcard.add("url").value = profile["website"]
    # A link's free-text label is a value, never a parameter: an item group pairs the URL with its
    # X-ABLabel, as Apple's and Google's contacts write and read them (others import the URL alone).
    for number, link in enumerate(profile["links"], start=1):
        line = vcard.add("url")
        line.value = link["url"]
        line.group = f"item{number}"
        label = vcard.add("x-ablabel")
        label.value = link.get("label", "")
        label.group = f"item{number}"
    notes = [profile["bio"]] if profile["bio"] else []
    notes += [f"{f['label']}: {f['value']}" for f in profile["custom_fields"]]
    if notes:
        vcard.add("note").value = "\n".join(notes)
    if card.photo_small:
        photo = vcard.add("photo")
        photo.value = bytes(card.photo_small)
        photo.encoding_param = "b"
        photo.type_param = "JPEG"
    # SOURCE names where this vCard itself can be fetched again (RFC 2426 2.1.4).
    source = vcard.add("source")
    source.value = f"{card_url(card)}/vcard"
    source.value_param = "uri"
    return _folded(vcard.serialize()).encode("utf-8")


def _printable(value):
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    return value


def _folded(text: str, limit: int = 75) -> str:
    """Fold every line to 75 octets (RFC 2426 2.6); vobject leaves the base64 photo on one long line."""
    out = []
    for line in text.split("\r\n"):
        encoded = line.encode("utf-8")
        while len(encoded) > limit:
            cut = limit
            while cut > 0 and (encoded[cut] & 0xC0) == 0x80:  # never inside a UTF-8 sequence
                cut -= 1
            out.append(encoded[:cut].decode() + "\r\n")
            encoded = b" " + encoded[cut:]
        out.append(encoded.decode() + "\r\n")
    return "".join(out)[: -len("\r\n")]


def vcard_filename(card) -> str:
    """The person's name as a file name, letters of any script kept (`Zoë-Ñúñez.vcf`)."""
    name = " ".join(p for p in (card.first_name, card.last_name) if p) or card.title
    safe = "-".join("".join(c if c.isalnum() or c == "_" else " " for c in name).split())
    return f"{safe[:100] or 'card'}.vcf"


def ascii_filename(filename: str) -> str:
    """An ASCII fallback for clients that ignore `filename*`: accents dropped, anything else replaced."""
    decomposed = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    stem, dot, extension = decomposed.rpartition(".")
    stem = "-".join("".join(c if c.isascii() and (c.isalnum() or c == "_") else " " for c in stem).split())
    return f"{stem or 'card'}{dot}{extension}" if dot else stem or "card"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII `filename` and the exact UTF-8 name in `filename*` (RFC 6266, RFC 5987)."""
    fallback = ascii_filename(filename)
    if fallback == filename:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def card_qr(card, kind: str) -> bytes:
    qr = segno.make(card_url(card, "qr"), error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        qr.save(out, kind="svg", scale=8, border=4, xmldecl=False, dark="#000", light="#fff", title="QR")
    else:
        qr.save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def card_ndef(card) -> bytes:
    """An NDEF message holding one URI record, ready to be written to an NFC tag."""
    return b"".join(ndef.message_encoder([ndef.UriRecord(card_url(card, "nfc"))]))


def photo_data_uri(card) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(bytes(card.photo_small)).decode()
