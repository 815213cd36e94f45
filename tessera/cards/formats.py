"""The card in portable formats: vCard 3.0, QR codes (segno) and an NDEF URI record (ndeflib)."""

import base64
import io

import ndef
import segno
import vobject
from django.conf import settings

from .selectors import card_profile

PHONE_TYPES = {"work": ["WORK", "VOICE"], "mobile": ["CELL", "VOICE"], "personal": ["HOME", "VOICE"]}
SOURCES = ("qr", "nfc", "link")


def card_url(card, source: str = "") -> str:
    url = f"{settings.TESSERA_BASE_URL}/c/{card.slug}"
    return f"{url}?s={source}" if source else url


def card_vcard(card) -> bytes:
    """A vCard 3.0 in UTF-8 with the photo embedded; iOS and Android contacts import it."""
    profile = card_profile(card)
    vcard = vobject.vCard()
    vcard.add("n").value = vobject.vcard.Name(family=profile["last_name"], given=profile["first_name"])
    vcard.add("fn").value = profile["full_name"] or card.slug
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
    if any(profile[k] for k in ("street", "postal_code", "city", "country")):
        line = vcard.add("adr")
        line.value = vobject.vcard.Address(
            street=profile["street"],
            city=profile["city"],
            code=profile["postal_code"],
            country=profile["country"],
        )
        line.type_param = "WORK"
    if profile["website"]:
        vcard.add("url").value = profile["website"]
    for link in profile["links"]:
        line = vcard.add("x-socialprofile")
        line.value = link["url"]
        line.type_param = link.get("label", "").lower() or "other"
    notes = [profile["bio"]] if profile["bio"] else []
    notes += [f"{f['label']}: {f['value']}" for f in profile["custom_fields"]]
    if notes:
        vcard.add("note").value = "\n".join(notes)
    if card.photo_small:
        photo = vcard.add("photo")
        photo.value = bytes(card.photo_small)
        photo.encoding_param = "b"
        photo.type_param = "JPEG"
    vcard.add("source").value = card_url(card)
    return vcard.serialize().encode("utf-8")


def vcard_filename(card) -> str:
    name = "-".join(p for p in (card.first_name, card.last_name) if p) or card.slug
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    return f"{safe or 'card'}.vcf"


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
