"""Display helpers for card templates."""

import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone_display(number: str) -> str:
    """An E.164 number as people read it: "+33612345678" becomes "+33 6 12 34 56 78"."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
