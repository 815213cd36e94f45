"""A member's signature from their card: the organisation's template, Django's autoescaping, a plain-text twin.

Every value a member typed reaches the HTML escaped, without the control characters that reorder text
(a right-to-left override would make "moc.evil" read as "live.com"); the result is checked again by the
same rules as the template, so a value can never add markup, a script or a foreign link.
"""

import base64
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

import segno
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.template import Context
from django.urls import reverse
from django.utils.translation import gettext as _

from .validation import MAX_CHARS, Checker, html_errors, template_compile

# Bidirectional embeddings, overrides and isolates, and the zero-width characters that hide text.
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
QR_SALT = "tessera.signatures.qr"


@dataclass(frozen=True)
class Signature:
    html: str
    text: str


class SignatureRefused(ValidationError):
    """The member's values make a signature that breaks a rule (too long, most often)."""


def clean(value):
    """A member's value with hidden and direction-changing characters removed, lists and dicts included."""
    if isinstance(value, str):
        return _HIDDEN.sub("", value).strip()
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    return value


@lru_cache(maxsize=256)
def _compiled(source: str):
    return template_compile(source)


_ZERO = uuid.UUID(int=0)


@lru_cache(maxsize=8)
def _path(name: str, *args) -> str:
    """A public image's path with stand-ins for its arguments: resolved once, not for every signature."""
    return reverse(name, args=args)


def qr_url(card_url: str) -> str:
    """A stable address of the card's QR code: signed, so Tessera draws QR codes only of its own cards."""
    token = signing.Signer(salt=QR_SALT).sign_object(card_url)
    return settings.TESSERA_BASE_URL + _path("signatures_public:qr", "TOKEN").replace("TOKEN", token)


def qr_png(token: str) -> bytes:
    """The PNG of a signed card address; signing.BadSignature for anything else."""
    url = signing.Signer(salt=QR_SALT).unsign_object(token)
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=3, border=2)
    return out.getvalue()


def logo_version(template) -> str:
    """Part of the logo's address, from the logo itself: a new logo gets a new URL (the old one, still in
    sent emails, shows the current logo), and saving the HTML changes nothing."""
    return hashlib.sha256(bytes(template.logo)).hexdigest()[:12] if template.logo else "0"


def logo_src(template, *, inline: bool | None = None) -> str:
    """The logo's address, or the logo itself as data when the organisation embeds it."""
    if not template.logo:
        return ""
    if template.inline_logo if inline is None else inline:
        return "data:image/png;base64," + base64.b64encode(bytes(template.logo)).decode()
    path = _path("signatures_public:logo", _ZERO, "VERSION")
    return settings.TESSERA_BASE_URL + path.replace(str(_ZERO), str(template.public_id)).replace(
        "VERSION", logo_version(template)
    )


def _tel(number: str) -> str:
    """A number as a tel: link wants it: digits and a leading plus."""
    return re.sub(r"[^0-9+]", "", number)


def context_of(profile: dict, *, template, organisation_name: str, inline: bool | None = None) -> dict:
    """The placeholders of a signature, from a member's profile (as hooks.member_profiles answers it)."""
    profile = clean(profile)
    phones = profile.get("phones", [])
    work = [p["number"] for p in phones if p.get("kind") == "work"]
    phone = (work or [p["number"] for p in phones] or [""])[0]
    mobile = ([p["number"] for p in phones if p.get("kind") == "mobile"] or [""])[0]
    card_url = profile.get("card_url", "")
    return {
        "name": profile.get("full_name", ""),
        "first_name": profile.get("first_name", ""),
        "last_name": profile.get("last_name", ""),
        "title": profile.get("job_title", ""),
        "department": profile.get("department", ""),
        "company": profile.get("company", "") or organisation_name,
        "office": profile.get("office", ""),
        "address": profile.get("address", ""),
        "email": profile.get("email", ""),
        "phone": phone,
        "phone_tel": _tel(phone),
        "mobile": mobile,
        "mobile_tel": _tel(mobile),
        "phones": [{**p, "tel": _tel(p["number"])} for p in phones],
        "website": profile.get("website", ""),
        "links": profile.get("links", []),
        "photo_url": profile.get("photo_url", ""),
        "logo_url": logo_src(template, inline=inline),
        "card_url": card_url,
        "qr_url": qr_url(card_url) if card_url else "",
        "organisation": organisation_name,
    }


def signature_render(
    *, template, profile: dict, organisation_name: str, inline: bool | None = None
) -> Signature:
    """The member's signature; SignatureRefused (with the reason) when their values break a rule."""
    context = context_of(profile, template=template, organisation_name=organisation_name, inline=inline)
    html = _compiled(template.html).render(Context(context, autoescape=True)).strip()
    reader = _Text()
    errors = html_errors(html, reader)  # one pass checks the result again and reads its text
    if errors:
        raise SignatureRefused(
            [
                _("This member's signature cannot be made from their card: %(reason)s") % {"reason": e}
                for e in errors
            ]
        )
    return Signature(html=html, text=reader.text())


_BLOCKS = {"p", "div", "td", "th", "tr", "table", "h1", "h2", "h3", "h4", "li", "hr", "center", "ul", "ol"}


class _Text(Checker):
    """The plain-text version: one line per block, links spelled out when their text does not show them."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag in _BLOCKS or tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.parts[start:]).strip()
            target = href.removeprefix("mailto:").removeprefix("tel:")
            if not target or not href.startswith(("http", "mailto:", "tel:")):
                return
            if href.startswith("tel:") and re.sub(r"\D", "", target) in re.sub(r"\D", "", shown):
                return
            if target not in shown:
                self.parts.append(f" <{target}>" if shown else target)

    def handle_data(self, data):
        self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [re.sub(r" {2,}", " ", line).strip() for line in "".join(self.parts).split("\n")]
        text = "\n".join(line for line in lines if line)
        return text if len(text) <= MAX_CHARS else text[:MAX_CHARS]


def text_of(html: str) -> str:
    """The plain-text version of an HTML signature."""
    reader = _Text()
    reader.feed(html)
    reader.close()
    return reader.text()


def sample_profile(*, organisation_name: str) -> dict:
    """A made-up member for the editor's preview before the organisation has any."""
    return {
        "first_name": "Camille",
        "last_name": "Martin",
        "full_name": "Camille Martin",
        "job_title": _("Head of Sales"),
        "department": _("Sales"),
        "company": organisation_name,
        "office": _("Building B, 3rd floor"),
        "address": _("12 rue de la Paix, 75002 Paris, France"),
        "website": "https://example.com",
        "phones": [
            {"kind": "work", "number": "+33 1 23 45 67 89"},
            {"kind": "mobile", "number": "+33 6 12 34 56 78"},
        ],
        "email": "camille.martin@example.com",
        "emails": ["camille.martin@example.com"],
        "links": [{"label": "LinkedIn", "url": "https://www.linkedin.com/in/example"}],
        "card_url": settings.TESSERA_BASE_URL + "/c/example",
        "photo_url": "",
        "template": None,
        "groups": [],
    }
