"""Validation shared by every cards write: phone numbers, web addresses, text lengths and the card profile."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..fields import TEXT_LIMITS
from ..models import VISIBILITY_FIELDS, Visibility

PHONE_KINDS = ("work", "mobile", "personal")
EMAIL_KINDS = ("work", "personal")
MAX_ITEMS = 10
_url = URLValidator(schemes=["http", "https"])


def phone_normalise(value: str) -> str:
    """E.164 or a ValidationError with a message people understand."""
    message = _(
        "“%(value)s” is not a valid phone number. Use the international format, e.g. +33 6 12 34 56 78."
    )
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValidationError(message % {"value": value}, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(message % {"value": value}, code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def url_normalise(value: str) -> str:
    value = value.strip()
    try:
        _url(value)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid web address. It must start with https:// or http://.")
            % {"value": value},
            code="url",
        ) from None
    return value


def at_most_characters(limit: int) -> str:
    return ngettext("At most %(limit)s character.", "At most %(limit)s characters.", limit) % {"limit": limit}


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("This field must be text."), code="type")
    value = value.strip()
    if "\x00" in value:
        raise ValidationError(_("This field contains a forbidden character."), code="nul")
    if len(value) > TEXT_LIMITS.get(name, 200):
        raise ValidationError(at_most_characters(TEXT_LIMITS.get(name, 200)), code="length")
    return value


def _items(value, name: str, clean) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise ValidationError(_("This field must be a list."), code="type")
    if len(value) > MAX_ITEMS:
        raise ValidationError(
            ngettext("At most %(n)s entry.", "At most %(n)s entries.", MAX_ITEMS) % {"n": MAX_ITEMS},
            code="too_many",
        )
    return [clean(item) for item in value]


def _phone_item(item: dict) -> dict:
    kind = item.get("kind", "work")
    if kind not in PHONE_KINDS:
        raise ValidationError(_("Unknown phone type “%(kind)s”.") % {"kind": kind}, code="kind")
    return {
        "kind": kind,
        "number": phone_normalise(str(item.get("number", ""))),
        "public": bool(item.get("public", True)),
    }


def _email_item(item: dict) -> dict:
    kind = item.get("kind", "work")
    if kind not in EMAIL_KINDS:
        raise ValidationError(_("Unknown email type “%(kind)s”.") % {"kind": kind}, code="kind")
    address = str(item.get("address", "")).strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": address}, code="email"
        ) from None
    return {"kind": kind, "address": address.lower(), "public": bool(item.get("public", True))}


def _link_item(item: dict) -> dict:
    label = _text(str(item.get("label", "")), "label")
    if not label:
        raise ValidationError(_("Each link needs a label."), code="label")
    return {
        "label": label,
        "url": url_normalise(str(item.get("url", ""))),
        "public": bool(item.get("public", True)),
    }


def _custom_item(item: dict) -> dict:
    label = _text(str(item.get("label", "")), "label")
    value = _text(str(item.get("value", "")), "value")
    if not label or not value:
        raise ValidationError(_("Each custom field needs a label and a value."), code="custom")
    return {"label": label, "value": value, "public": bool(item.get("public", True))}


def profile_clean(changes: dict) -> dict:
    """Validate profile changes from any interface; raises one ValidationError naming every bad field."""
    cleaned, errors = {}, {}
    for name, value in changes.items():
        try:
            if name in TEXT_LIMITS:
                cleaned[name] = _text(value, name)
                if name == "website" and cleaned[name]:
                    cleaned[name] = url_normalise(cleaned[name])
            elif name == "phones":
                cleaned[name] = _items(value, name, _phone_item)
            elif name == "emails":
                cleaned[name] = _items(value, name, _email_item)
            elif name == "links":
                cleaned[name] = _items(value, name, _link_item)
            elif name == "custom_fields":
                cleaned[name] = _items(value, name, _custom_item)
            elif name == "visibility":
                if not isinstance(value, dict) or not all(
                    k in VISIBILITY_FIELDS and v in Visibility.values for k, v in value.items()
                ):
                    raise ValidationError(_("Unknown field or visibility."), code="visibility")
                cleaned[name] = dict(value)
            else:
                raise ValidationError(_("Unknown field."), code="unknown")
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned
