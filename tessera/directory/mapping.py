"""Which Entra ID attributes feed which card fields, and an Entra user turned into a hub `Person`.

The administrator picks, per card field, the attribute that feeds it (Connection.attribute_map); the fields
fed are locked in the member's editor. Only ATTRIBUTES are ever read ($select), so directory data beyond
what the card shows never reaches the product. Write-back maps the other way, for the fields an
administrator may change here (WRITABLE_ATTRIBUTES).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .services.people import Person, PersonRejected

# The attributes an administrator may choose from, with the label the integration page shows.
ATTRIBUTES = {
    "displayName": gettext_lazy("Display name"),
    "givenName": gettext_lazy("Given name"),
    "surname": gettext_lazy("Surname"),
    "jobTitle": gettext_lazy("Job title"),
    "department": gettext_lazy("Department"),
    "companyName": gettext_lazy("Company"),
    "businessPhones": gettext_lazy("Office phone"),
    "mobilePhone": gettext_lazy("Mobile phone"),
    "mail": gettext_lazy("Email"),
    "officeLocation": gettext_lazy("Office location"),
    "streetAddress": gettext_lazy("Street"),
    "city": gettext_lazy("City"),
    "postalCode": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country"),
}
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "company",
    "department",
    "office",
    "street",
    "postal_code",
    "city",
    "country",
)
# Card fields an attribute can feed: the text fields, one office and one mobile number, one address.
CARD_FIELDS = (*TEXT_FIELDS, "work_phone", "mobile_phone", "email")
PHONE_ATTRIBUTES = ("businessPhones", "mobilePhone")
DEFAULT_MAP = {
    "first_name": "givenName",
    "last_name": "surname",
    "job_title": "jobTitle",
    "company": "companyName",
    "department": "department",
    "office": "officeLocation",
    "street": "streetAddress",
    "postal_code": "postalCode",
    "city": "city",
    "country": "country",
    "work_phone": "businessPhones",
    "mobile_phone": "mobilePhone",
}
# Always read: who the person is, and whether the directory still lets them in.
IDENTITY = ("id", "userPrincipalName", "mail", "displayName", "accountEnabled")
# The attributes an administrator may change from here (PATCH /users/{id}); the Graph client enforces it too.
WRITABLE_ATTRIBUTES = ("jobTitle", "businessPhones", "mobilePhone", "department", "officeLocation")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A directory value longer than this is refused (the card's own limits apply after).
VALUE_LIMIT = 1000


def attribute_map_clean(attribute_map: dict) -> dict:
    """A valid {card field: attribute} map (empty values dropped); ValidationError naming the bad field."""
    if not isinstance(attribute_map, dict):
        raise ValidationError({"attribute_map": [_("Choose an attribute per card field.")]})
    cleaned, errors = {}, {}
    for name, attribute in attribute_map.items():
        if not attribute:
            continue
        if name not in CARD_FIELDS:
            errors[str(name)[:64]] = [_("Unknown card field.")]
        elif attribute not in ATTRIBUTES:
            errors[name] = [_("Unknown directory attribute.")]
        elif (name in ("work_phone", "mobile_phone")) != (attribute in PHONE_ATTRIBUTES):
            errors[name] = [_("Phone numbers feed phone fields only.")]
        else:
            cleaned[name] = attribute
    if errors:
        raise ValidationError(errors)
    return cleaned


def attribute_map_of(connection) -> dict:
    """The connection's map, or the default one when the administrator chose none."""
    return dict(connection.attribute_map or DEFAULT_MAP)


def locked_fields(attribute_map: dict) -> tuple[str, ...]:
    """The card fields the directory feeds, in the card's own names (phones and emails are lists)."""
    names = set()
    for name in attribute_map:
        names.add({"work_phone": "phones", "mobile_phone": "phones", "email": "emails"}.get(name, name))
    return tuple(sorted(names))


def user_select(attribute_map: dict) -> str:
    """The $select of /users/delta: identity plus the chosen attributes, nothing more."""
    return ",".join(dict.fromkeys([*IDENTITY, *attribute_map.values()]))


def _text(attribute: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    if not isinstance(value, str):
        raise PersonRejected({attribute: [_("The directory gave a value that is not text.")]})
    if len(value) > VALUE_LIMIT:
        raise PersonRejected(
            {
                attribute: [
                    _("The directory value is longer than %(limit)s characters.") % {"limit": VALUE_LIMIT}
                ]
            }
        )
    if _CONTROL.search(value):
        raise PersonRejected({attribute: [_("The directory value contains control characters.")]})
    return value.strip()


def person_from_entra(user: dict, attribute_map: dict) -> Person:
    """The hub's Person for one Entra user of /users/delta (PersonRejected for a hostile value)."""
    values: dict = {}
    phones = []
    for name, attribute in attribute_map.items():
        if attribute not in user:
            continue  # a delta may carry only what changed: the rest stays as it is
        value = _text(attribute, user.get(attribute))
        if name in TEXT_FIELDS:
            values[name] = value
        elif name in ("work_phone", "mobile_phone") and value:
            phones.append({"kind": "work" if name == "work_phone" else "mobile", "number": value})
        elif name == "email":
            values["emails"] = [{"kind": "work", "address": value}] if value else []
    if any(attribute_map.get(name) in user for name in ("work_phone", "mobile_phone")):
        values["phones"] = phones
    user_name = _text("userPrincipalName", user.get("userPrincipalName"))
    email = _text("mail", user.get("mail")) or user_name
    return Person(
        external_id=str(user.get("id", "")),
        user_name=user_name,
        email=email,
        values=values,
        active=user.get("accountEnabled") is not False,
        display_name=_text("displayName", user.get("displayName")),
    )


def entra_changes(changes: dict, attribute_map: dict) -> dict:
    """Card field changes an administrator made, as the body of a PATCH /users/{id}.

    Only fields the directory feeds go back, through the attribute that feeds them; one fed by an attribute
    Tessera may not write (a name, an address, the company) raises ValidationError.
    """
    body, errors = {}, {}
    for name, value in changes.items():
        if name == "phones":
            items = [p for p in value or [] if isinstance(p, dict)]
            for field_name, kind in (("work_phone", "work"), ("mobile_phone", "mobile")):
                attribute = attribute_map.get(field_name)
                numbers = [str(p.get("number", "")) for p in items if p.get("kind") == kind]
                if attribute == "businessPhones":
                    body[attribute] = numbers[:1]
                elif attribute == "mobilePhone":
                    body[attribute] = numbers[0] if numbers else None
            continue
        attribute = attribute_map.get(name)
        if not attribute:
            continue  # not fed by the directory: the card's own business
        if attribute not in WRITABLE_ATTRIBUTES or attribute in PHONE_ATTRIBUTES:
            errors[name] = [_("This field comes from the directory and cannot be changed here.")]
        else:
            body[attribute] = (value.strip() or None) if isinstance(value, str) else None
    if errors:
        raise ValidationError(errors)
    return body
